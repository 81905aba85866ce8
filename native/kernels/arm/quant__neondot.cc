// Blockwise quantization kernels for ARMv8.2 dotprod CPUs (and i8mm ones): the conversion
// kernels of quant_neon.h compiled for this tier — dotprod adds nothing to conversion — next to
// the SDOT matmuls of quant_matmul__neondot.cc.
#include "quant_neon.h"

namespace sparq {

using namespace quant_neon;

const QuantKernels quant__neondot = {
    "neondot",
    {quantizeQ8_0, quantizeQ4_0, quantizeQ4_1, quantizeNf4, quantizeInt8},
    {dequantize<QFormat::q8_0>, dequantize<QFormat::q4_0>, dequantize<QFormat::q4_1>, dequantize<QFormat::nf4>,
     dequantize<QFormat::int8>},
    quantizeAct,
    f32ToF16Bulk,
    f16ToF32Bulk,
    &quantMatmul__neondot,
};

}  // namespace sparq
