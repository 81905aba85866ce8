// The quantized linear layer around the int8 GEMM: weight and activation quantizers and the
// f32 epilogue. Every float step has a fixed order and is rounded to f32 (built with
// -ffp-contract=off), so results equal the TS reference bit for bit.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>

#include "sparq/gemm.h"

namespace sparq {

namespace {

// Round half to even. Adding and subtracting 1.5·2²³ keeps only the integer part, rounded to
// nearest-even by the default FP environment: exact for |x| < 2²², which covers every value
// rounded here (bounded by about 255); anything larger takes nearbyint. (On baseline x86-64
// nearbyintf is a libm call, which cost more than the division next to it.) The sign of a zero
// result may differ from nearbyint's; every caller turns the result into an integer.
inline float roundHalfEven(float x) {
  constexpr float kShift = 12582912.0f;  // 1.5·2²³
  if (!(std::fabs(x) < 4194304.0f)) return std::nearbyint(x);
  return (x + kShift) - kShift;
}

inline float clampf(float x, float lo, float hi) { return std::min(std::max(x, lo), hi); }

// fn(i0, i1) over chunks of rows, on the pool when the work (m·rowCost) is worth waking it for.
// Rows are independent, so the result does not depend on the split.
template <typename Fn>
void forRowChunks(int m, size_t rowCost, Fn fn) {
  const int chunks = size_t(m) * rowCost < (size_t(1) << 16) ? 1 : std::min(m, threads() * 4);
  if (chunks <= 1) {
    fn(0, m);
    return;
  }
  parallelFor(chunks, [&](int t) { fn(int(int64_t(m) * t / chunks), int(int64_t(m) * (t + 1) / chunks)); });
}

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
  std::atomic<bool> finite{true};
  forRowChunks(m, size_t(k), [&](int i0, int i1) {
    const size_t at = size_t(i0) * size_t(k);
    if (!quantizeRowsU8(x + at, i1 - i0, k, qa.data() + at, sa.data() + i0, za.data() + i0)) finite = false;
  });
  if (!finite) return false;
  std::unique_ptr<int32_t[]> acc(new int32_t[size_t(m) * size_t(n)]);
  gemmU8S8(qa.data(), m, w, 0, acc.get());
  const int32_t* rowSums = w.rowSums();
  const float* sw = layer.scale.data();
  const float* bias = layer.bias.empty() ? nullptr : layer.bias.data();
  forRowChunks(m, size_t(n), [&](int i0, int i1) {
    for (int i = i0; i < i1; i++) {
      const int32_t* a = acc.get() + size_t(i) * size_t(n);
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
  });
  return true;
}

}  // namespace sparq
