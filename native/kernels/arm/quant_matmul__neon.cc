// Quantized matmul on plain ARMv8 NEON: Y[m × [n0,n1)] = X · Wᵀ for q8_0, q4_0, q4_1 and int8 in
// the int8 precision, and for all five formats in the f32 precision (tiles in quant_neon.h).
//
// Integer dot of one 32-element block without SDOT: SMULL/SMLAL2 form s16 sums of two products
// and SADALP folds adjacent s16 lanes into s32. Activation codes are roundHalfAway(x·id) with
// |x·id| ≤ 127 (quantizeAct), weight codes s8, so each s16 sum is at most 2·128·127 = 32512 in
// magnitude: no s16 lane overflows and the s32 lanes add up to Σ qw·qx exactly.
#include "quant_neon.h"

namespace sparq {
namespace {

struct SmullDot {
  static int32x4_t dot(int8x16_t w0, int8x16_t w1, int8x16_t x0, int8x16_t x1) {
    int16x8_t low = vmull_s8(vget_low_s8(w0), vget_low_s8(x0));
    low = vmlal_high_s8(low, w0, x0);
    int16x8_t high = vmull_s8(vget_low_s8(w1), vget_low_s8(x1));
    high = vmlal_high_s8(high, w1, x1);
    return vpadalq_s16(vpaddlq_s16(low), high);
  }
};

}  // namespace

using namespace quant_neon;

const QuantMatmulKernels quantMatmul__neon = {
    {matmulInt8<QFormat::q8_0, SmullDot>, matmulInt8<QFormat::q4_0, SmullDot>, matmulInt8<QFormat::q4_1, SmullDot>,
     nullptr, matmulInt8<QFormat::int8, SmullDot>},
    {matmulF32<QFormat::q8_0>, matmulF32<QFormat::q4_0>, matmulF32<QFormat::q4_1>, matmulF32<QFormat::nf4>,
     matmulF32<QFormat::int8>},
};

}  // namespace sparq
