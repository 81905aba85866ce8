// Kernel contract of the quantized linear layer's float steps around the int8 GEMM (the GEMM itself
// is gemm_int8.h). Both are order-fixed float maths, so every tier equals the scalar kernel, and the
// TS reference (lib/reference/gemm.ts), bit for bit:
//
//   quantizeRows   per row of X: lo = min(0, min x), hi = max(0, max x), s = (hi − lo)/255 (1 when
//                  that is 0), zp = roundHalfEven(clamp(0 − lo/s, 0, 255)),
//                  q = clamp(roundHalfEven(x/s) + zp, 0, 255). IEEE division is exact in SIMD too, and
//                  min/max do not depend on the order they are taken in (the sign of a zero lo cannot
//                  change s or zp). Returns false when some x is not finite (q is then unspecified).
//   codeRows       the same codes with a given s and zp (a layer's static activation range): one pass,
//                  no range search. Returns false when some x is not finite.
//   epilogueRow    y[j] = f32(acc[j] − zp·rowSum[j])·f32(sa·sw[j]) (+ bias[j]), the subtraction in
//                  wrapping 32-bit arithmetic, each float operation rounded to f32, no FMA.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sparq {

struct LinearInt8Kernels {
  const char* name;  // e.g. "linear_int8__avx512"
  bool (*quantizeRows)(const float* x, int m, int k, uint8_t* q, float* scale, int32_t* zeroPoint);
  bool (*codeRows)(const float* x, int m, int k, float scale, float zeroPoint, uint8_t* q);
  void (*epilogueRow)(const int32_t* acc, const int32_t* rowSums, uint32_t zeroPoint, float rowScale,
                      const float* weightScales, const float* bias, int n, float* y);
};

// One per tier that has its own; avx512vnni uses avx512's, neondot and i8mm use neon's.
extern const LinearInt8Kernels linear_int8__scalar;
extern const LinearInt8Kernels linear_int8__avx2;
extern const LinearInt8Kernels linear_int8__avx512;
extern const LinearInt8Kernels linear_int8__neon;

}  // namespace sparq
