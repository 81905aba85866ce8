// Blockwise quantization kernels on plain ARMv8 NEON: quantize and dequantize for all five
// formats, the activation quantizer of the int8 precision and the f16 bulk conversions, bit for
// bit equal to quant__scalar. The kernels themselves live in quant_neon.h (shared with neondot).
#include "quant_neon.h"

namespace sparq {

using namespace quant_neon;

const QuantKernels quant__neon = {
    "neon",
    {quantizeQ8_0, quantizeQ4_0, quantizeQ4_1, quantizeNf4, quantizeInt8},
    {dequantize<QFormat::q8_0>, dequantize<QFormat::q4_0>, dequantize<QFormat::q4_1>, dequantize<QFormat::nf4>,
     dequantize<QFormat::int8>},
    quantizeAct,
    f32ToF16Bulk,
    f16ToF32Bulk,
    &quantMatmul__neon,
};

}  // namespace sparq
