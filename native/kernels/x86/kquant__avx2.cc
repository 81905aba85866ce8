// K-quant matmul, avx2: the ymm kernels of kquant_x86.h.
#include "kquant_x86.h"

namespace sparq {

const KQuantKernels kquant__avx2 = kqx::kernels<kqx::Ymm>("avx2");

}  // namespace sparq
