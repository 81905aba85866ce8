// The quantized linear layer's float steps, one element at a time: the semantics every tier's
// kernel matches bit for bit (sparq/linear_int8.h).
#include <algorithm>
#include <cmath>

#include "sparq/linear_int8.h"

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

bool quantizeRows(const float* x, int m, int k, uint8_t* q, float* scale, int32_t* zeroPoint) {
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

void epilogueRow(const int32_t* acc, const int32_t* rowSums, uint32_t zeroPoint, float rowScale,
                 const float* weightScales, const float* bias, int n, float* y) {
  for (int j = 0; j < n; j++) {
    const int32_t centred = int32_t(uint32_t(acc[j]) - zeroPoint * uint32_t(rowSums[j]));
    const float s = rowScale * weightScales[j];
    float v = float(centred) * s;
    if (bias) v = v + bias[j];
    y[j] = v;
  }
}

}  // namespace

const LinearInt8Kernels linear_int8__scalar = {"linear_int8__scalar", quantizeRows, epilogueRow};

}  // namespace sparq
