// K-quant matmul, avx512: the zmm kernels of kquant_x86.h.
#include "kquant_x86.h"

namespace sparq {

const KQuantKernels kquant__avx512 = kqx::kernels<kqx::Zmm<false>>("avx512");

}  // namespace sparq
