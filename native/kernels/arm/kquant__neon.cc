// K-quant matmul, plain NEON: 16-element dots by SMULL/SMLAL2 (s16 pair sums, at most
// 2·63·127) and SADDLP (kquant_neon.h).
#include "kquant_neon.h"

namespace sparq {
namespace {

struct MullDot {
  static int32x4_t dot16(int8x16_t w, int8x16_t x) {
    return vpaddlq_s16(vmlal_high_s8(vmull_s8(vget_low_s8(w), vget_low_s8(x)), w, x));
  }
};

}  // namespace

const KQuantKernels kquant__neon = kquant_neon::kernels<MullDot>("neon");

}  // namespace sparq
