// Quantized matmul kernels, avx512 (F, BW): the zmm kernels of quant_matmul_x86.h, VPMADDUBSW/VPMADDWD.
#include "quant_matmul_x86.h"

namespace sparq {

const QuantMatmulKernels quantMatmul__avx512 = qmm::zmm::kernels<false>();

}  // namespace sparq
