// Quantized matmul with the ARMv8.2 dot product: Y[m × [n0,n1)] = X · Wᵀ for q8_0, q4_0, q4_1
// and int8 in the int8 precision, and for all five formats in the f32 precision (tiles in
// quant_neon.h). Also the i8mm tier's kernels.
//
// Integer dot of one 32-element block: two SDOTs, each adding 4 exact s8·s8 products to every
// s32 lane; a lane holds at most 8 products, |Σ| ≤ 8·128·128, so the lanes add up to Σ qw·qx
// exactly with no narrower intermediate.
#include "quant_neon.h"

namespace sparq {
namespace {

struct SdotDot {
  static int32x4_t dot(int8x16_t w0, int8x16_t w1, int8x16_t x0, int8x16_t x1) {
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), w0, x0), w1, x1);
  }
};

}  // namespace

using namespace quant_neon;

const QuantMatmulKernels quantMatmul__neondot = {
    {matmulInt8<QFormat::q8_0, SdotDot>, matmulInt8<QFormat::q4_0, SdotDot>, matmulInt8<QFormat::q4_1, SdotDot>,
     nullptr, matmulInt8<QFormat::int8, SdotDot>},
    {matmulF32<QFormat::q8_0>, matmulF32<QFormat::q4_0>, matmulF32<QFormat::q4_1>, matmulF32<QFormat::nf4>,
     matmulF32<QFormat::int8>},
};

}  // namespace sparq
