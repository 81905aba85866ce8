// The transformer ops, 4 lanes (sparq/ops.h, native/kernels/ops_impl.h): each lane runs the scalar
// kernel's IEEE operations in its order, so results equal it bit for bit. Four registers hold the
// 16 lanes of a row reduction.
#include <arm_neon.h>

#include "../ops_impl.h"

namespace sparq {

namespace {

struct Neon {
  using T = float32x4_t;
  using M = uint32x4_t;
  static constexpr int W = 4;
  static T load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, T v) { vst1q_f32(p, v); }
  static T set(float v) { return vdupq_n_f32(v); }
  static T add(T a, T b) { return vaddq_f32(a, b); }
  static T sub(T a, T b) { return vsubq_f32(a, b); }
  static T mul(T a, T b) { return vmulq_f32(a, b); }
  static T div(T a, T b) { return vdivq_f32(a, b); }
  // As the scalar kernel (x86's order): the second operand unless the first is greater (less).
  static T max(T a, T b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
  static T min(T a, T b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
  static T roundEven(T a) { return vrndnq_f32(a); }
  static T pow2(T n) {
    const int32x4_t e = vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127));
    return vreinterpretq_f32_s32(vshlq_n_s32(e, 23));
  }
  static M lt(T a, T b) { return vcltq_f32(a, b); }
  static M gt(T a, T b) { return vcgtq_f32(a, b); }
  static M isNaN(T a) { return vmvnq_u32(vceqq_f32(a, a)); }
  static T select(M m, T a, T b) { return vbslq_f32(m, a, b); }
  static T abs(T a) { return vabsq_f32(a); }
  static T copySign(T magnitude, T sign) { return vbslq_f32(vdupq_n_u32(0x80000000u), sign, magnitude); }
};

}  // namespace

const OpsKernels ops__neon = makeOpsKernels<Neon>("ops__neon");

}  // namespace sparq
