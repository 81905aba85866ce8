// C[m×n] (s32) = A[m×k] (s8, row-major) · B[n×k]ᵀ (s8) + colOffset[n], with the ARMv8.2 dot product.
//
// Layout kLayoutArmDot: B in panels of 16 columns (16 rows of W); inside a panel, depth in
// groups of 4: group g holds 64 bytes, column c's B[c][4g..4g+3] at g·64 + c·4, so one 16-byte
// load is 4 columns × 4 depths. Depth is padded with zeros to a multiple of 16 and the last
// panel with zero columns.
// Maths: SDOT by element multiplies those 4×4 bytes by the 4 bytes A[r][4g..4g+3] broadcast from
// one lane and adds each column's 4 products to its s32 lane. Each product is exact in s32 and
// |Σ a·b| ≤ 128·128·65536 = 2³⁰ < 2³¹, so every sum is exact for k ≤ kMaxK; no narrower
// intermediate exists.
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
constexpr int kGroupDepth = 4;  // depths one SDOT lane adds
constexpr int kGroupBytes = kPanelCols * kGroupDepth;
constexpr int kDepthStep = 16;  // depth consumed per step of the inner loop: one A vector
constexpr int kTileRows = 4;    // rows of C per tile

size_t paddedDepth(int k) { return (size_t(k) + kDepthStep - 1) / kDepthStep * kDepthStep; }
size_t panelBytes(int k) { return kPanelCols * paddedDepth(k); }

size_t packedBytes(int n, int k) { return size_t((n + kPanelCols - 1) / kPanelCols) * panelBytes(k); }

void pack(const int8_t* b, int n, int k, uint8_t* packed) {
  std::memset(packed, 0, packedBytes(n, k));
  for (int j = 0; j < n; j++) {
    int8_t* panel = reinterpret_cast<int8_t*>(packed) + size_t(j / kPanelCols) * panelBytes(k);
    int8_t* column = panel + (j % kPanelCols) * kGroupDepth;
    const int8_t* row = b + size_t(j) * size_t(k);
    for (int p = 0; p < k; p++) column[size_t(p / kGroupDepth) * kGroupBytes + p % kGroupDepth] = row[p];
  }
}

// acc[r][q] += Σ_t B[4q..4q+3][4·Lane + t] · A[r][4·Lane + t] over the 4 depths of group Lane.
template <int Rows, int Lane>
[[gnu::always_inline]] inline void multiplyGroup(int32x4_t (&acc)[Rows][4], const int8x16_t (&aRows)[Rows], const int8_t* stepBytes) {
  const int8_t* group = stepBytes + Lane * kGroupBytes;
  int8x16_t columns[4];
  for (int q = 0; q < 4; q++) columns[q] = vld1q_s8(group + 16 * q);
  for (int r = 0; r < Rows; r++)
    for (int q = 0; q < 4; q++) acc[r][q] = vdotq_laneq_s32(acc[r][q], columns[q], aRows[r], Lane);
}

// One step of 16 depths: aRows[r] holds A[r][p..p+15]; `stepBytes` the 4 groups of B for them.
template <int Rows, int... Lanes>
[[gnu::always_inline]] inline void multiplyStep(int32x4_t (&acc)[Rows][4], const int8x16_t (&aRows)[Rows], const int8_t* stepBytes,
                         std::integer_sequence<int, Lanes...>) {
  (multiplyGroup<Rows, Lanes>(acc, aRows, stepBytes), ...);
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
  constexpr auto lanes = std::make_integer_sequence<int, kDepthStep / kGroupDepth>();
  int32x4_t acc[Rows][4];
  for (int r = 0; r < Rows; r++)
    for (int q = 0; q < 4; q++) acc[r][q] = vdupq_n_s32(0);
  int8x16_t aRows[Rows];
  int p = 0;
  for (; p + kDepthStep <= k; p += kDepthStep) {
    for (int r = 0; r < Rows; r++) aRows[r] = vld1q_s8(reinterpret_cast<const int8_t*>(a + r * lda + p));
    multiplyStep(acc, aRows, panel + size_t(p) * kPanelCols, lanes);
  }
  if (p < k) {  // depth tail: A's remaining bytes, zero padded (B is zero padded too)
    for (int r = 0; r < Rows; r++) {
      int8_t tail[kDepthStep] = {};
      std::memcpy(tail, a + r * lda + p, size_t(k - p));
      aRows[r] = vld1q_s8(tail);
    }
    multiplyStep(acc, aRows, panel + size_t(p) * kPanelCols, lanes);
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

const Int8GemmKernel gemm_s8s8s32__neondot = {
    "gemm_s8s8s32__neondot", ASign::s8, kLayoutArmDot, kPanelCols, packedBytes, pack, run,
};

}  // namespace sparq
