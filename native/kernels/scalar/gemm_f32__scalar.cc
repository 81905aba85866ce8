// C[m×cols] (f32) = A[m×k] (f32, row-major, lda) · B (16-wide panels, sparq/gemm_f32.h): the
// semantics every SIMD tier matches bit for bit. Each element is one chain of std::fma in p order
// starting from +0, so the result is exactly what any blocking of the same chain produces.
// No alignment assumed; columns past `cols` of the last panel are never read or written.
#include <cmath>

#include "sparq/gemm_f32.h"

namespace sparq {
namespace {

void gemm(const float* a, size_t lda, int m, size_t k, const F32Panels& b, float* c, size_t ldc) {
  for (int i = 0; i < m; i++) {
    const float* row = a + size_t(i) * lda;
    for (int q = 0; q < b.panels; q++) {
      const int width = b.cols - q * kF32Panel < kF32Panel ? b.cols - q * kF32Panel : kF32Panel;
      const float* panel = b.data + size_t(q) * b.panelStride;
      float acc[kF32Panel] = {};
      for (size_t p = 0; p < k; p++)
        for (int j = 0; j < width; j++) acc[j] = std::fma(row[p], panel[p * b.ldb + size_t(j)], acc[j]);
      for (int j = 0; j < width; j++) c[size_t(i) * ldc + size_t(q * kF32Panel + j)] = acc[j];
    }
  }
}

}  // namespace

const F32GemmKernels gemmF32__scalar = {"scalar", gemm};

}  // namespace sparq
