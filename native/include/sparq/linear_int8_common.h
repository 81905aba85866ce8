// The scalar pieces every tier's linear_int8 kernel shares (sparq/linear_int8.h): a row's scale and
// zero point from its range, one activation code, one epilogue output. The SIMD kernels use them for
// the per-row values and their tails, so a tail is the scalar kernel's formula by construction.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace sparq::linear {
// Each kernel file compiles these with its own ISA flags. The unnamed namespace gives every file
// its own copy, so the linker never swaps one ISA's code into another's file.
namespace {

inline float clampf(float x, float lo, float hi) { return std::min(std::max(x, lo), hi); }

// Widens [lo, hi] over x[from, to); false when one of them is not finite (lo and hi are then unspecified).
inline bool extendRange(const float* x, int from, int to, float* lo, float* hi) {
  bool finite = true;
  for (int p = from; p < to; p++) {
    finite &= std::isfinite(x[p]);
    *lo = std::min(*lo, x[p]);
    *hi = std::max(*hi, x[p]);
  }
  return finite;
}

// s = (hi − lo)/255 (1 when that is 0); zp = roundHalfEven(clamp(0 − lo/s, 0, 255)).
inline void rowScale(float lo, float hi, float* scale, float* zeroPoint) {
  float s = (hi - lo) / 255.0f;
  if (s == 0.0f) s = 1.0f;
  *scale = s;
  *zeroPoint = std::nearbyint(clampf(0.0f - lo / s, 0.0f, 255.0f));
}

// clamp(roundHalfEven(x/s) + zp, 0, 255).
inline uint8_t code(float x, float scale, float zeroPoint) {
  return uint8_t(clampf(std::nearbyint(x / scale) + zeroPoint, 0.0f, 255.0f));
}

// f32(acc − zp·rowSum)·f32(sa·sw) (+ bias), the subtraction wrapping in 32 bits.
inline float epilogue(int32_t acc, int32_t rowSum, uint32_t zeroPoint, float rowScale, float weightScale, const float* bias) {
  const int32_t centred = int32_t(uint32_t(acc) - zeroPoint * uint32_t(rowSum));
  float v = float(centred) * (rowScale * weightScale);
  if (bias) v = v + *bias;
  return v;
}

}  // namespace
}  // namespace sparq::linear
