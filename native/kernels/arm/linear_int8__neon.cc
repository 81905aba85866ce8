// The quantized linear layer's float steps, 4 lanes (sparq/linear_int8.h): bit-exact with the
// scalar kernel. vdivq_f32 is IEEE division, vrndnq_f32 rounds half to even, vcvtq_f32_s32 rounds
// to nearest as a C conversion does; min/max are order-free. Also the neondot and i8mm tiers'.
#include <arm_neon.h>

#include <algorithm>
#include <cmath>

#include "sparq/linear_int8.h"
#include "sparq/linear_int8_common.h"

namespace sparq {

namespace {

using linear::code;
using linear::extendRange;
using linear::epilogue;
using linear::rowScale;

// clamp(roundHalfEven(x/s) + zp, 0, 255) for 4 values, as whole numbers in u32 lanes.
inline uint32x4_t codes4(const float* x, float32x4_t s, float32x4_t zp) {
  float32x4_t v = vaddq_f32(vrndnq_f32(vdivq_f32(vld1q_f32(x), s)), zp);
  v = vminq_f32(vmaxq_f32(v, vdupq_n_f32(0.0f)), vdupq_n_f32(255.0f));
  return vcvtq_u32_f32(v);
}

bool quantizeRows(const float* x, int m, int k, uint8_t* q, float* scale, int32_t* zeroPoint) {
  for (int i = 0; i < m; i++) {
    const float* row = x + size_t(i) * size_t(k);
    float32x4_t lo4 = vdupq_n_f32(0.0f), hi4 = vdupq_n_f32(0.0f);
    uint32x4_t finite4 = vdupq_n_u32(~0u);
    int p = 0;
    for (; p + 4 <= k; p += 4) {
      const float32x4_t v = vld1q_f32(row + p);
      lo4 = vminq_f32(lo4, v);
      hi4 = vmaxq_f32(hi4, v);
      finite4 = vandq_u32(finite4, vceqq_f32(vsubq_f32(v, v), vdupq_n_f32(0.0f)));  // false for ±Inf, NaN
    }
    bool finite = vminvq_u32(finite4) != 0;
    float lo = vminvq_f32(lo4), hi = vmaxvq_f32(hi4);
    if (!extendRange(row, p, k, &lo, &hi) || !finite) return false;
    float s, zp;
    rowScale(lo, hi, &s, &zp);
    scale[i] = s;
    zeroPoint[i] = int32_t(zp);
    uint8_t* out = q + size_t(i) * size_t(k);
    const float32x4_t s4 = vdupq_n_f32(s), zp4 = vdupq_n_f32(zp);
    for (p = 0; p + 8 <= k; p += 8) {
      const uint16x8_t u16 = vcombine_u16(vmovn_u32(codes4(row + p, s4, zp4)), vmovn_u32(codes4(row + p + 4, s4, zp4)));
      vst1_u8(out + p, vmovn_u16(u16));
    }
    for (; p < k; p++) out[p] = code(row[p], s, zp);
  }
  return true;
}

bool codeRows(const float* x, int m, int k, float scale, float zeroPoint, uint8_t* q) {
  const size_t count = size_t(m) * size_t(k);
  const float32x4_t s4 = vdupq_n_f32(scale), zp4 = vdupq_n_f32(zeroPoint);
  uint32x4_t finite4 = vdupq_n_u32(~0u);
  size_t p = 0;
  for (; p + 8 <= count; p += 8) {
    const float32x4_t a = vld1q_f32(x + p), b = vld1q_f32(x + p + 4);
    finite4 = vandq_u32(finite4, vceqq_f32(vsubq_f32(a, a), vdupq_n_f32(0.0f)));  // false for ±Inf, NaN
    finite4 = vandq_u32(finite4, vceqq_f32(vsubq_f32(b, b), vdupq_n_f32(0.0f)));
    const uint16x8_t u16 = vcombine_u16(vmovn_u32(codes4(x + p, s4, zp4)), vmovn_u32(codes4(x + p + 4, s4, zp4)));
    vst1_u8(q + p, vmovn_u16(u16));
  }
  if (vminvq_u32(finite4) == 0) return false;
  for (; p < count; p++) {
    if (!std::isfinite(x[p])) return false;
    q[p] = code(x[p], scale, zeroPoint);
  }
  return true;
}

void epilogueRow(const int32_t* acc, const int32_t* rowSums, uint32_t zeroPoint, float rowScale,
                 const float* weightScales, const float* bias, int n, float* y) {
  const uint32x4_t zp4 = vdupq_n_u32(zeroPoint);
  const float32x4_t sa4 = vdupq_n_f32(rowScale);
  int j = 0;
  for (; j + 4 <= n; j += 4) {
    // acc − zp·rowSum in wrapping 32-bit arithmetic, as the scalar kernel's uint32 maths.
    const uint32x4_t centred = vmlsq_u32(vreinterpretq_u32_s32(vld1q_s32(acc + j)), zp4, vreinterpretq_u32_s32(vld1q_s32(rowSums + j)));
    float32x4_t v = vmulq_f32(vcvtq_f32_s32(vreinterpretq_s32_u32(centred)), vmulq_f32(sa4, vld1q_f32(weightScales + j)));
    if (bias) v = vaddq_f32(v, vld1q_f32(bias + j));
    vst1q_f32(y + j, v);
  }
  for (; j < n; j++) y[j] = epilogue(acc[j], rowSums[j], zeroPoint, rowScale, weightScales[j], bias ? bias + j : nullptr);
}

}  // namespace

const LinearInt8Kernels linear_int8__neon = {"linear_int8__neon", quantizeRows, codeRows, epilogueRow};

}  // namespace sparq
