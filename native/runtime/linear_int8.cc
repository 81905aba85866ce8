// The quantized linear layer around the int8 GEMM: weight and activation quantizers and the
// f32 epilogue. Every float step has a fixed order and is rounded to f32 (built with
// -ffp-contract=off), so results equal the TS reference bit for bit.
#include <algorithm>
#include <cmath>

#include "sparq/gemm.h"

namespace sparq {

namespace {

// Round half to even, as the default FP environment does; exact for |x| < 2²³.
inline float roundHalfEven(float x) { return std::nearbyint(x); }

inline float clampf(float x, float lo, float hi) { return std::min(std::max(x, lo), hi); }

}  // namespace

bool quantizeRowsU8(const float* x, int m, int k, uint8_t* q, float* scale, int32_t* zeroPoint) {
  bool finite = true;
  for (int i = 0; i < m; i++) {
    const float* row = x + size_t(i) * size_t(k);
    float lo = 0.0f, hi = 0.0f;
    for (int p = 0; p < k; p++) {
      const float v = row[p];
      finite &= std::isfinite(v);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    if (!finite) return false;
    float s = (hi - lo) / 255.0f;
    if (s == 0.0f) s = 1.0f;
    const float zp = roundHalfEven(clampf(0.0f - lo / s, 0.0f, 255.0f));
    scale[i] = s;
    zeroPoint[i] = int32_t(zp);
    uint8_t* out = q + size_t(i) * size_t(k);
    for (int p = 0; p < k; p++) out[p] = uint8_t(clampf(roundHalfEven(row[p] / s) + zp, 0.0f, 255.0f));
  }
  return true;
}

bool quantizeWeightsS8(const float* w, int n, int k, int8_t* q, float* scale) {
  for (int j = 0; j < n; j++) {
    const float* row = w + size_t(j) * size_t(k);
    float amax = 0.0f;
    for (int p = 0; p < k; p++) {
      if (!std::isfinite(row[p])) return false;
      amax = std::max(amax, std::fabs(row[p]));
    }
    float s = amax / 127.0f;
    if (s == 0.0f) s = 1.0f;
    scale[j] = s;
    int8_t* out = q + size_t(j) * size_t(k);
    for (int p = 0; p < k; p++) out[p] = int8_t(clampf(roundHalfEven(row[p] / s), -127.0f, 127.0f));
  }
  return true;
}

bool linearInt8(const float* x, int m, LinearInt8& layer, float* y) {
  PackedInt8& w = *layer.weight;
  const int n = w.n(), k = w.k();
  std::vector<uint8_t> qa(size_t(m) * size_t(k));
  std::vector<float> sa(m);
  std::vector<int32_t> za(m);
  if (!quantizeRowsU8(x, m, k, qa.data(), sa.data(), za.data())) return false;
  std::vector<int32_t> acc(size_t(m) * size_t(n));
  gemmU8S8(qa.data(), m, w, 0, acc.data());
  const int32_t* rowSums = w.rowSums();
  const float* sw = layer.scale.data();
  const float* bias = layer.bias.empty() ? nullptr : layer.bias.data();
  for (int i = 0; i < m; i++) {
    const int32_t* a = acc.data() + size_t(i) * size_t(n);
    float* out = y + size_t(i) * size_t(n);
    const uint32_t zp = uint32_t(za[i]);
    for (int j = 0; j < n; j++) {
      const int32_t centred = int32_t(uint32_t(a[j]) - zp * uint32_t(rowSums[j]));
      const float s = sa[i] * sw[j];
      float v = float(centred) * s;
      if (bias) v = v + bias[j];
      out[j] = v;
    }
  }
  return true;
}

}  // namespace sparq
