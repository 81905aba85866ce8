// Quantized matmul kernels, avx512vnni: the zmm kernels of quant_matmul_x86.h with VPDPBUSD.
#include "quant_matmul_x86.h"

namespace sparq {

const QuantMatmulKernels quantMatmul__avx512vnni = qmm::zmm::kernels<true>();

}  // namespace sparq
