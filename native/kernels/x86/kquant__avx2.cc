// K-quants, avx2: the ymm matmul kernels and the row dequantizers of kquant_x86.h.
#include "kquant_x86.h"

namespace sparq {

const KQuantKernels kquant__avx2 = kqx::kernels<kqx::Ymm>("avx2");

namespace kq_avx2 {
void dequantizeQ4K(const uint8_t* in, size_t k, int bs, float* out) { kqx::dequantize<QFormat::q4_K>(in, k, bs, out); }
void dequantizeQ5K(const uint8_t* in, size_t k, int bs, float* out) { kqx::dequantize<QFormat::q5_K>(in, k, bs, out); }
void dequantizeQ6K(const uint8_t* in, size_t k, int bs, float* out) { kqx::dequantize<QFormat::q6_K>(in, k, bs, out); }
}  // namespace kq_avx2

}  // namespace sparq
