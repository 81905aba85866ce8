// K-quant matmul with the ARMv8.2 dot product: one SDOT per 16 elements (kquant_neon.h). Also
// the i8mm tier's.
#include "kquant_neon.h"

namespace sparq {
namespace {

struct SdotDot {
  static int32x4_t dot16(int8x16_t w, int8x16_t x) { return vdotq_s32(vdupq_n_s32(0), w, x); }
};

}  // namespace

const KQuantKernels kquant__neondot = kquant_neon::kernels<SdotDot>("neondot");

}  // namespace sparq
