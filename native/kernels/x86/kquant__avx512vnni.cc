// K-quant matmul, avx512vnni: the zmm kernels of kquant_x86.h.
#include "kquant_x86.h"

namespace sparq {

const KQuantKernels kquant__avx512vnni = kqx::kernels<kqx::Zmm<true>>("avx512vnni");

}  // namespace sparq
