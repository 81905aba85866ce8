// C[m×n] (s32) = A[m×k] (s8, row-major) · B[n×k]ᵀ (s8) + colOffset[n], with the ARMv8.6 int8 matrix multiply.
//
// Layout kLayoutArmI8mm: B in panels of 16 columns (16 rows of W) = 8 column pairs; inside a
// panel, depth in groups of 8: group g holds 128 bytes, column pair q's 16 bytes
// B[2q][8g..8g+7], B[2q+1][8g..8g+7] at g·128 + q·16. Depth is padded with zeros to a multiple
// of 16 and the last panel with zero columns.
// Maths: SMMLA takes a 2×8 block of A (two rows, 8 depths) and the 2×8 block of a column pair
// and adds the 2×2 block of their products, X·Yᵀ, to s32 lanes [r0c0, r0c1, r1c0, r1c1]. Each
// product is exact in s32 and |Σ a·b| ≤ 128·128·65536 = 2³⁰ < 2³¹, so every sum is exact for
// k ≤ kMaxK; no narrower intermediate exists. A stays s8 (SMMLA), so aSign is s8.
// Tiles of 4 rows (2 row pairs) × 16 columns (16 s32x4 accumulators). Tails: an odd last row
// is paired with a zero row whose results are dropped; depth by copying A's last k mod 16
// bytes into a zeroed buffer; columns by a masked store. No alignment assumed; nothing read
// outside A or the packed buffer, nothing written outside C's [0,m)×[n0,n1). colOffset is
// added with wrapping s32 arithmetic.
#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "sparq/gemm_int8.h"

namespace sparq {
namespace {

constexpr int kPanelCols = 16;                 // columns of C per panel
constexpr int kColumnPairs = kPanelCols / 2;   // SMMLA's 2 columns at a time
constexpr int kGroupDepth = 8;                 // depths one SMMLA adds
constexpr int kGroupBytes = kPanelCols * kGroupDepth;
constexpr int kDepthStep = 16;                 // depth consumed per step of the inner loop: one A vector
constexpr int kTileRows = 4;                   // rows of C per tile

size_t paddedDepth(int k) { return (size_t(k) + kDepthStep - 1) / kDepthStep * kDepthStep; }
size_t panelBytes(int k) { return kPanelCols * paddedDepth(k); }

size_t packedBytes(int n, int k) { return size_t((n + kPanelCols - 1) / kPanelCols) * panelBytes(k); }

void pack(const int8_t* b, int n, int k, uint8_t* packed) {
  std::memset(packed, 0, packedBytes(n, k));
  for (int j = 0; j < n; j++) {
    int8_t* panel = reinterpret_cast<int8_t*>(packed) + size_t(j / kPanelCols) * panelBytes(k);
    const int c = j % kPanelCols;
    int8_t* column = panel + (c / 2) * 16 + (c % 2) * kGroupDepth;
    const int8_t* row = b + size_t(j) * size_t(k);
    for (int p = 0; p < k; p++) column[size_t(p / kGroupDepth) * kGroupBytes + p % kGroupDepth] = row[p];
  }
}

int8x16_t lowHalves(int8x16_t top, int8x16_t bottom) {
  return vreinterpretq_s8_s64(vtrn1q_s64(vreinterpretq_s64_s8(top), vreinterpretq_s64_s8(bottom)));
}
int8x16_t highHalves(int8x16_t top, int8x16_t bottom) {
  return vreinterpretq_s8_s64(vtrn2q_s64(vreinterpretq_s64_s8(top), vreinterpretq_s64_s8(bottom)));
}

// One step of 16 depths: aRows[r] holds A[r][p..p+15]; `stepBytes` the 2 groups of B for them.
// acc[pair][q] is the 2×2 block of rows 2·pair, 2·pair+1 and columns 2q, 2q+1.
template <int Rows>
[[gnu::always_inline]] inline void multiplyStep(int32x4_t (&acc)[(Rows + 1) / 2][kColumnPairs], const int8x16_t (&aRows)[Rows],
                         const int8_t* stepBytes) {
  constexpr int Pairs = (Rows + 1) / 2;
  // Row pair blocks: [top row's 8 depths, bottom row's 8 depths] for depth groups 0 and 1.
  int8x16_t blocks[Pairs][2];
  for (int pair = 0; pair < Pairs; pair++) {
    const int8x16_t top = aRows[2 * pair];
    const int8x16_t bottom = 2 * pair + 1 < Rows ? aRows[2 * pair + 1] : vdupq_n_s8(0);
    blocks[pair][0] = lowHalves(top, bottom);
    blocks[pair][1] = highHalves(top, bottom);
  }
  for (int group = 0; group < 2; group++) {
    const int8_t* groupBytes = stepBytes + group * kGroupBytes;
    for (int q = 0; q < kColumnPairs; q++) {
      const int8x16_t columnPair = vld1q_s8(groupBytes + 16 * q);
      for (int pair = 0; pair < Pairs; pair++) acc[pair][q] = vmmlaq_s32(acc[pair][q], blocks[pair][group], columnPair);
    }
  }
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
  constexpr int Pairs = (Rows + 1) / 2;
  int32x4_t acc[Pairs][kColumnPairs];
  for (int pair = 0; pair < Pairs; pair++)
    for (int q = 0; q < kColumnPairs; q++) acc[pair][q] = vdupq_n_s32(0);
  int8x16_t aRows[Rows];
  int p = 0;
  for (; p + kDepthStep <= k; p += kDepthStep) {
    for (int r = 0; r < Rows; r++) aRows[r] = vld1q_s8(reinterpret_cast<const int8_t*>(a + r * lda + p));
    multiplyStep<Rows>(acc, aRows, panel + size_t(p) * kPanelCols);
  }
  if (p < k) {  // depth tail: A's remaining bytes, zero padded (B is zero padded too)
    for (int r = 0; r < Rows; r++) {
      int8_t tail[kDepthStep] = {};
      std::memcpy(tail, a + r * lda + p, size_t(k - p));
      aRows[r] = vld1q_s8(tail);
    }
    multiplyStep<Rows>(acc, aRows, panel + size_t(p) * kPanelCols);
  }
  // Un-interleave the 2×2 blocks: blocks q, q+1 hold [r0c0 r0c1 r1c0 r1c1] for columns 2q..2q+3,
  // so their low 64-bit halves are the top row's 4 columns and the high halves the bottom row's.
  for (int pair = 0; pair < Pairs; pair++) {
    int32x4_t top[4], bottom[4];
    for (int quad = 0; quad < 4; quad++) {
      const int64x2_t left = vreinterpretq_s64_s32(acc[pair][2 * quad]);
      const int64x2_t right = vreinterpretq_s64_s32(acc[pair][2 * quad + 1]);
      top[quad] = vreinterpretq_s32_s64(vtrn1q_s64(left, right));
      bottom[quad] = vreinterpretq_s32_s64(vtrn2q_s64(left, right));
    }
    storeRow(top, colOffset, col, cols, c + (2 * pair) * ldc);
    if (2 * pair + 1 < Rows) storeRow(bottom, colOffset, col, cols, c + (2 * pair + 1) * ldc);
  }
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

const Int8GemmKernel gemm_s8s8s32__i8mm = {
    "gemm_s8s8s32__i8mm", ASign::s8, kLayoutArmI8mm, kPanelCols, packedBytes, pack, run,
};

}  // namespace sparq
