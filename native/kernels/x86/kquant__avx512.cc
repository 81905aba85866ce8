// K-quants, avx512: the zmm matmul kernels and the row dequantizers of kquant_x86.h.
#include "kquant_x86.h"

namespace sparq {

const KQuantKernels kquant__avx512 = kqx::kernels<kqx::Zmm<false>>("avx512");

namespace kq_avx512 {
void dequantizeQ4K(const uint8_t* in, size_t k, int bs, float* out) { kqx::dequantize<QFormat::q4_K>(in, k, bs, out); }
void dequantizeQ5K(const uint8_t* in, size_t k, int bs, float* out) { kqx::dequantize<QFormat::q5_K>(in, k, bs, out); }
void dequantizeQ6K(const uint8_t* in, size_t k, int bs, float* out) { kqx::dequantize<QFormat::q6_K>(in, k, bs, out); }
}  // namespace kq_avx512

}  // namespace sparq
