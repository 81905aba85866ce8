// C[m×cols] (f32) = A[m×k] (f32, row-major, row stride lda) · B, B in 16-wide panels (gemm_f32.h),
// on ARMv8 NEON; the neon, neondot and i8mm tiers all use this kernel.
//
// Every output is one chain of fused multiply-adds in p order from +0, exactly the scalar
// kernel's std::fma chain: vector FMLA rounds once per step like scalar FMADD (AArch64 vector
// arithmetic honours FPCR like scalar arithmetic, no forced flush-to-zero), so the bits are the
// same for every result that is not a NaN, and a NaN result is a NaN.
// Tiles of 5 rows × 16 columns: 20 accumulators, one 16-float row of the panel (4 vectors) per
// depth, each A value loaded once and multiplied into its row's 4 accumulators by element; with
// the 5 A values that is 29 of the 32 vector registers, so nothing spills (6 rows would).
// Depth runs in blocks of kDepthBlock, so a panel's block (16 KiB) stays in L1 while every row
// tile streams past it; between blocks the partial sums wait in C (an f32 store and reload is
// exact, and the chain goes on in the same order).
// Edges: the last rows by a narrower tile (4…1 rows). A panel with fewer than 16 real columns
// (only the last can have them) is copied a depth block at a time into a zero-padded 16-wide
// buffer, so no column ≥ cols of B is read, and each tile's C goes through a 16-wide buffer of
// which only the cols real columns are read from C and written back.
// k = 0 writes +0. No alignment assumed; nothing outside the m×cols elements of C is touched.
#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "sparq/gemm_f32.h"

namespace sparq {
namespace {

constexpr int kTileRows = 5;
constexpr size_t kDepthBlock = 256;
constexpr int kVectors = kF32Panel / 4;  // 4 vectors of 4 floats per panel row

// Rows [0, Rows) of A, depths [0, depth) of this block, against 16 columns of B (row stride ldb):
// C[r][0, 16) continues each chain (or starts it from +0 on the first block).
template <int Rows>
void tile(const float* a, size_t lda, size_t depth, const float* b, size_t ldb, bool first, float* c, size_t ldc) {
  float32x4_t acc[Rows][kVectors];
  for (int r = 0; r < Rows; r++)
    for (int v = 0; v < kVectors; v++) acc[r][v] = first ? vdupq_n_f32(0.0f) : vld1q_f32(c + r * ldc + 4 * v);
  for (size_t p = 0; p < depth; p++) {
    const float* bRow = b + p * ldb;
    float32x4_t bv[kVectors];
    for (int v = 0; v < kVectors; v++) bv[v] = vld1q_f32(bRow + 4 * v);
    for (int r = 0; r < Rows; r++) {
      const float av = a[r * lda + p];
      for (int v = 0; v < kVectors; v++) acc[r][v] = vfmaq_n_f32(acc[r][v], bv[v], av);
    }
  }
  for (int r = 0; r < Rows; r++)
    for (int v = 0; v < kVectors; v++) vst1q_f32(c + r * ldc + 4 * v, acc[r][v]);
}

// A tile of a panel with cols < 16 real columns: C through a 16-wide buffer.
template <int Rows>
void narrowTile(const float* a, size_t lda, size_t depth, const float* b, bool first, float* c, size_t ldc,
                int cols) {
  float staged[Rows * kF32Panel];
  const size_t bytes = size_t(cols) * sizeof(float);
  if (!first)
    for (int r = 0; r < Rows; r++) std::memcpy(staged + r * kF32Panel, c + r * ldc, bytes);
  tile<Rows>(a, lda, depth, b, kF32Panel, first, staged, kF32Panel);
  for (int r = 0; r < Rows; r++) std::memcpy(c + r * ldc, staged + r * kF32Panel, bytes);
}

template <int Rows>
void anyTile(const float* a, size_t lda, size_t depth, const float* b, size_t ldb, bool first, float* c, size_t ldc,
             int cols) {
  if (cols == kF32Panel) tile<Rows>(a, lda, depth, b, ldb, first, c, ldc);
  else narrowTile<Rows>(a, lda, depth, b, first, c, ldc, cols);
}

// Every row of A against one depth block of one panel (b has 16 readable columns).
void panelBlock(const float* a, size_t lda, int m, size_t depth, const float* b, size_t ldb, bool first, float* c,
                size_t ldc, int cols) {
  int i = 0;
  for (; i + kTileRows <= m; i += kTileRows)
    anyTile<kTileRows>(a + i * lda, lda, depth, b, ldb, first, c + i * ldc, ldc, cols);
  const float* aRest = a + i * lda;
  float* cRest = c + i * ldc;
  switch (m - i) {
    case 4: anyTile<4>(aRest, lda, depth, b, ldb, first, cRest, ldc, cols); break;
    case 3: anyTile<3>(aRest, lda, depth, b, ldb, first, cRest, ldc, cols); break;
    case 2: anyTile<2>(aRest, lda, depth, b, ldb, first, cRest, ldc, cols); break;
    case 1: anyTile<1>(aRest, lda, depth, b, ldb, first, cRest, ldc, cols); break;
    default: break;
  }
}

void gemm(const float* a, size_t lda, int m, size_t k, const F32Panels& b, float* c, size_t ldc) {
  float narrowPanel[kDepthBlock * kF32Panel];  // the last panel's real columns, zero padded
  for (int q = 0; q < b.panels; q++) {
    const int cols = std::min(kF32Panel, b.cols - q * kF32Panel);
    if (cols <= 0) break;
    const float* panel = b.data + size_t(q) * b.panelStride;
    float* cPanel = c + size_t(q) * kF32Panel;
    // One pass when k = 0 too: it writes the +0 results.
    for (size_t p0 = 0;; p0 += kDepthBlock) {
      const size_t depth = std::min(kDepthBlock, k - p0);
      const float* block = panel + p0 * b.ldb;
      size_t ldb = b.ldb;
      if (cols < kF32Panel) {
        std::memset(narrowPanel, 0, depth * kF32Panel * sizeof(float));
        for (size_t p = 0; p < depth; p++)
          std::memcpy(narrowPanel + p * kF32Panel, block + p * b.ldb, size_t(cols) * sizeof(float));
        block = narrowPanel;
        ldb = kF32Panel;
      }
      panelBlock(a + p0, lda, m, depth, block, ldb, p0 == 0, cPanel, ldc, cols);
      if (p0 + depth >= k) break;
    }
  }
}

}  // namespace

const F32GemmKernels gemmF32__neon = {"neon", gemm};

}  // namespace sparq
