// C[m×n] (s32) = A[m×k] (u8) · B[n×k]ᵀ (s8) + colOffset[n]: the semantics every SIMD kernel matches.
// B stays in its given row layout. Products are summed in uint32 (wrapping, like the hardware),
// which is exact whenever the true sum fits in int32 (k ≤ 65536).
#include <cstring>

#include "sparq/gemm_int8.h"

namespace sparq {
namespace {

size_t packedBytes(int n, int k) { return size_t(n) * size_t(k); }

void pack(const int8_t* b, int n, int k, uint8_t* packed) { std::memcpy(packed, b, packedBytes(n, k)); }

void run(const uint8_t* a, size_t lda, const uint8_t* packed, int /*n*/, int k, int m, int n0, int n1,
         const int32_t* colOffset, int32_t* c, size_t ldc) {
  const int8_t* b = reinterpret_cast<const int8_t*>(packed);
  for (int i = 0; i < m; i++) {
    const uint8_t* row = a + size_t(i) * lda;
    for (int j = n0; j < n1; j++) {
      const int8_t* col = b + size_t(j) * size_t(k);
      uint32_t acc = colOffset ? uint32_t(colOffset[j]) : 0u;
      for (int p = 0; p < k; p++) acc += uint32_t(int32_t(row[p]) * int32_t(col[p]));
      c[size_t(i) * ldc + size_t(j)] = int32_t(acc);
    }
  }
}

}  // namespace

const Int8GemmKernel gemm_int8__scalar = {
    "gemm_u8s8s32__scalar", ASign::u8, kLayoutRows, 1, packedBytes, pack, run,
};

}  // namespace sparq
