// Blockwise quantization kernels, avx512vnni. Conversion has nothing VNNI-specific, so the table
// points at the AVX-512 kernels (quant__avx512.cc, compiled for a subset of this tier's ISA);
// the matmuls are this tier's own.
#include "quant_convert_avx512.h"

namespace sparq {

const QuantKernels quant__avx512vnni = quant_avx512::kernels("avx512vnni", &quantMatmul__avx512vnni);

}  // namespace sparq
