// C[m×n] (s32) = A[m×k] (s8, row-major) · B[n×k]ᵀ (s8) + colOffset[n], on plain ARMv8 NEON.
//
// Layout kLayoutArmS16: B in panels of 16 columns (16 rows of W); inside a panel, k-major:
// byte (p, c) at p·16 + c, so one 16-byte load is the 16 columns at one depth p. Depth is
// padded with zeros to a multiple of 16 and the last panel with zero columns. B stays s8 in
// memory and is widened to s16 in registers (the "S16" of the layout name).
// Maths: with A and B widened to s16, SMLAL/SMLAL2 by element multiply a column quad of B by
// one broadcast A value and add the s16·s16 products into s32 lanes: no s16 sum is ever formed,
// and |Σ a·b| ≤ 128·128·65536 = 2³⁰ < 2³¹, so every s32 sum is exact for k ≤ kMaxK.
// Tiles of 4 rows × 16 columns (16 s32x4 accumulators). Tails: rows by a narrower tile, depth
// by copying A's last k mod 16 bytes into a zeroed buffer, columns by a masked store. No
// alignment assumed; nothing read outside A or the packed buffer, nothing written outside
// C's [0,m)×[n0,n1). colOffset is added with wrapping s32 arithmetic.
#include <arm_neon.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "sparq/gemm_int8.h"

namespace sparq {
namespace {

constexpr int kPanelCols = 16;  // columns of C per panel
constexpr int kDepthStep = 16;  // depth consumed per step of the inner loop
constexpr int kTileRows = 4;    // rows of C per tile

size_t paddedDepth(int k) { return (size_t(k) + kDepthStep - 1) / kDepthStep * kDepthStep; }
size_t panelBytes(int k) { return kPanelCols * paddedDepth(k); }

size_t packedBytes(int n, int k) { return size_t((n + kPanelCols - 1) / kPanelCols) * panelBytes(k); }

void pack(const int8_t* b, int n, int k, uint8_t* packed) {
  std::memset(packed, 0, packedBytes(n, k));
  for (int j = 0; j < n; j++) {
    int8_t* panel = reinterpret_cast<int8_t*>(packed) + size_t(j / kPanelCols) * panelBytes(k);
    const int8_t* row = b + size_t(j) * size_t(k);
    for (int p = 0; p < k; p++) panel[size_t(p) * kPanelCols + j % kPanelCols] = row[p];
  }
}

// acc[r][q] += B[p][4q..4q+3] · a[r][p] for the depth p = Lane of this 8-deep half step.
// `depthRows` points at the 16 columns of B at depth 0 of the half step.
template <int Rows, int Lane>
[[gnu::always_inline]] inline void multiplyAtDepth(int32x4_t (&acc)[Rows][4], const int16x8_t (&a)[Rows], const int8_t* depthRows) {
  const int8x16_t columns = vld1q_s8(depthRows + Lane * kPanelCols);
  const int16x8_t columns0to7 = vmovl_s8(vget_low_s8(columns));
  const int16x8_t columns8to15 = vmovl_high_s8(columns);
  for (int r = 0; r < Rows; r++) {
    acc[r][0] = vmlal_laneq_s16(acc[r][0], vget_low_s16(columns0to7), a[r], Lane);
    acc[r][1] = vmlal_high_laneq_s16(acc[r][1], columns0to7, a[r], Lane);
    acc[r][2] = vmlal_laneq_s16(acc[r][2], vget_low_s16(columns8to15), a[r], Lane);
    acc[r][3] = vmlal_high_laneq_s16(acc[r][3], columns8to15, a[r], Lane);
  }
}

// Eight consecutive depths: a[r] holds A[r][p..p+7] widened to s16.
template <int Rows, int... Lanes>
[[gnu::always_inline]] inline void multiplyHalfStep(int32x4_t (&acc)[Rows][4], const int16x8_t (&a)[Rows], const int8_t* depthRows,
                             std::integer_sequence<int, Lanes...>) {
  (multiplyAtDepth<Rows, Lanes>(acc, a, depthRows), ...);
}

// One step of 16 depths: aRows[r] holds A[r][p..p+15]; `depthRows` the 16×16 bytes of B for them.
template <int Rows>
[[gnu::always_inline]] inline void multiplyStep(int32x4_t (&acc)[Rows][4], const int8x16_t (&aRows)[Rows], const int8_t* depthRows) {
  int16x8_t low[Rows], high[Rows];
  for (int r = 0; r < Rows; r++) {
    low[r] = vmovl_s8(vget_low_s8(aRows[r]));
    high[r] = vmovl_high_s8(aRows[r]);
  }
  multiplyHalfStep(acc, low, depthRows, std::make_integer_sequence<int, 8>());
  multiplyHalfStep(acc, high, depthRows + 8 * kPanelCols, std::make_integer_sequence<int, 8>());
}

// x + y modulo 2³² (added as u32: a signed vector overflow would be undefined behaviour in C++).
[[gnu::always_inline]] inline int32x4_t wrappingAdd(int32x4_t x, int32x4_t y) {
  return vreinterpretq_s32_u32(vaddq_u32(vreinterpretq_u32_s32(x), vreinterpretq_u32_s32(y)));
}

// C row ← 16 accumulated columns + colOffset; only the first `cols` columns lie inside C.
[[gnu::always_inline]] inline void storeRow(const int32x4_t (&row)[4], const int32_t* colOffset, int col, int cols, int32_t* cRow) {
  if (cols == kPanelCols) {
    for (int q = 0; q < 4; q++) {
      int32x4_t v = row[q];
      if (colOffset) v = wrappingAdd(v, vld1q_s32(colOffset + col + 4 * q));
      vst1q_s32(cRow + col + 4 * q, v);
    }
    return;
  }
  int32_t sums[kPanelCols];
  for (int q = 0; q < 4; q++) vst1q_s32(sums + 4 * q, row[q]);
  for (int j = 0; j < cols; j++)
    cRow[col + j] = int32_t(uint32_t(sums[j]) + (colOffset ? uint32_t(colOffset[col + j]) : 0u));
}

// Rows [0, Rows) of A against one panel: C[r][col..col+cols).
template <int Rows>
void tile(const uint8_t* a, size_t lda, const int8_t* panel, int k, const int32_t* colOffset, int col, int cols,
          int32_t* c, size_t ldc) {
  int32x4_t acc[Rows][4];
  for (int r = 0; r < Rows; r++)
    for (int q = 0; q < 4; q++) acc[r][q] = vdupq_n_s32(0);
  int8x16_t aRows[Rows];
  int p = 0;
  for (; p + kDepthStep <= k; p += kDepthStep) {
    for (int r = 0; r < Rows; r++) aRows[r] = vld1q_s8(reinterpret_cast<const int8_t*>(a + r * lda + p));
    multiplyStep(acc, aRows, panel + size_t(p) * kPanelCols);
  }
  if (p < k) {  // depth tail: A's remaining bytes, zero padded (B is zero padded too)
    for (int r = 0; r < Rows; r++) {
      int8_t tail[kDepthStep] = {};
      std::memcpy(tail, a + r * lda + p, size_t(k - p));
      aRows[r] = vld1q_s8(tail);
    }
    multiplyStep(acc, aRows, panel + size_t(p) * kPanelCols);
  }
  for (int r = 0; r < Rows; r++) storeRow(acc[r], colOffset, col, cols, c + r * ldc);
}

void run(const uint8_t* a, size_t lda, const uint8_t* packed, int /*n*/, int k, int m, int n0, int n1,
         const int32_t* colOffset, int32_t* c, size_t ldc) {
  for (int col = n0; col < n1; col += kPanelCols) {
    const int8_t* panel = reinterpret_cast<const int8_t*>(packed) + size_t(col / kPanelCols) * panelBytes(k);
    const int cols = std::min(kPanelCols, n1 - col);
    int i = 0;
    for (; i + kTileRows <= m; i += kTileRows)
      tile<kTileRows>(a + i * lda, lda, panel, k, colOffset, col, cols, c + i * ldc, ldc);
    switch (m - i) {
      case 3: tile<3>(a + i * lda, lda, panel, k, colOffset, col, cols, c + i * ldc, ldc); break;
      case 2: tile<2>(a + i * lda, lda, panel, k, colOffset, col, cols, c + i * ldc, ldc); break;
      case 1: tile<1>(a + i * lda, lda, panel, k, colOffset, col, cols, c + i * ldc, ldc); break;
      default: break;
    }
  }
}

}  // namespace

const Int8GemmKernel gemm_s8s8s32__neon = {
    "gemm_s8s8s32__neon", ASign::s8, kLayoutArmS16, kPanelCols, packedBytes, pack, run,
};

}  // namespace sparq
