// C[m×n] (s32) = A[m×k] (u8, row-major, stride lda) · B[n×k]ᵀ (s8) + colOffset[n], wrapping int32.
// Packing: B in panels of 16 rows (one row of B = one column of C = one s32 lane). Panel p is
// ⌈k/4⌉·64 bytes; its group g holds B[16p+c][4g..4g+3] at byte 64·g + 4·c. k is padded to a
// multiple of 4 and n to a multiple of 16 with zeros, so tails read zeros, never garbage.
// VPDPBUSD (the non-saturating form) multiplies u8 by s8 exactly and adds the 4 products to an
// s32 lane: exact for k ≤ 65536, |Σ a·b| ≤ 255·128·65536 < 2³¹. No alignment assumed; A is read
// only inside its m rows of k bytes (the k tail through a byte copy); C is written only in
// [0,m)×[n0,n1) (the n tail through a 16-lane mask).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "sparq/gemm_int8.h"

namespace sparq {
namespace {

constexpr int kPanelCols = 16;      // s32 lanes per zmm
constexpr int kGroupBytes = 64;     // 16 columns × 4 k-bytes
constexpr int kTileRows = 8;        // rows of A per register tile
constexpr int kTilePanels = 3;      // panels of B per register tile: 8×3 = 24 accumulators
constexpr int kGemvPanels = 8;      // a single row has registers to spare: more panels in flight

int kGroups(int k) { return (k + 3) / 4; }
size_t panelBytes(int k) { return size_t(kGroups(k)) * kGroupBytes; }

size_t packedBytes(int n, int k) { return size_t((n + kPanelCols - 1) / kPanelCols) * panelBytes(k); }

void pack(const int8_t* b, int n, int k, uint8_t* packed) {
  const int panels = (n + kPanelCols - 1) / kPanelCols, groups = kGroups(k);
  std::memset(packed, 0, packedBytes(n, k));
  for (int p = 0; p < panels; p++) {
    uint8_t* panel = packed + size_t(p) * panelBytes(k);
    const int cols = std::min(kPanelCols, n - p * kPanelCols);
    for (int c = 0; c < cols; c++) {
      const int8_t* row = b + size_t(p * kPanelCols + c) * size_t(k);
      for (int g = 0; g < groups; g++)
        std::memcpy(panel + size_t(g) * kGroupBytes + 4 * c, row + 4 * g, size_t(std::min(4, k - 4 * g)));
    }
  }
}

// The 4 bytes A[i][p..p+3] of one row, in every lane.
inline __m512i broadcastFour(const uint8_t* p) {
  int32_t four;
  std::memcpy(&four, p, 4);
  return _mm512_set1_epi32(four);
}

// One register tile: kRows rows of A against kPanels adjacent panels of B, over the whole of k.
// acc[i][j] lane c accumulates C[i][16j + c]: each step broadcasts 4 k-bytes of row i to all 16
// lanes and multiplies them with the 4 k-bytes of 16 columns of panel j. The last group of a row
// may reach up to 3 bytes past k: those bytes meet the zero padding of packed B, and the caller
// makes sure they exist (see `run`). kPartial tiles have fewer than 16·kPanels valid columns.
template <int kRows, int kPanels, bool kPartial>
void tile(const uint8_t* const* rows, const uint8_t* panel0, size_t panelStride, int groups, const int32_t* colOffset,
          int32_t* c, size_t ldc, int cols) {
  __m512i acc[kRows][kPanels];
#pragma GCC unroll 8
  for (int i = 0; i < kRows; i++)
#pragma GCC unroll 8
    for (int j = 0; j < kPanels; j++) acc[i][j] = _mm512_setzero_si512();
  const uint8_t* row[kRows];
#pragma GCC unroll 8
  for (int i = 0; i < kRows; i++) row[i] = rows[i];
  const uint8_t* b = panel0;
  for (int g = 0; g < groups; g++, b += kGroupBytes) {
    __m512i cols_s8[kPanels];
#pragma GCC unroll 8
    for (int j = 0; j < kPanels; j++) cols_s8[j] = _mm512_loadu_si512(b + j * panelStride);
#pragma GCC unroll 8
    for (int i = 0; i < kRows; i++) {
      const __m512i row_u8 = broadcastFour(row[i] + 4 * size_t(g));
#pragma GCC unroll 8
      for (int j = 0; j < kPanels; j++) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], row_u8, cols_s8[j]);
    }
  }
  if (!kPartial) {
#pragma GCC unroll 8
    for (int j = 0; j < kPanels; j++) {
      const __m512i offset = colOffset ? _mm512_loadu_si512(colOffset + 16 * j) : _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int i = 0; i < kRows; i++) _mm512_storeu_si512(c + i * ldc + 16 * j, _mm512_add_epi32(acc[i][j], offset));
    }
  } else {
    // cols (1…16·kPanels) valid columns: whole panels, then a masked one.
#pragma GCC unroll 8
    for (int j = 0; j < kPanels; j++) {
      const int valid = std::min(16, cols - 16 * j);
      if (valid <= 0) break;
      const __mmask16 mask = __mmask16((1u << valid) - 1u);
      const __m512i offset = colOffset ? _mm512_maskz_loadu_epi32(mask, colOffset + 16 * j) : _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int i = 0; i < kRows; i++)
        _mm512_mask_storeu_epi32(c + i * ldc + 16 * j, mask, _mm512_add_epi32(acc[i][j], offset));
    }
  }
}

using TileFn = void (*)(const uint8_t* const*, const uint8_t*, size_t, int, const int32_t*, int32_t*, size_t, int);

// kTiles.fn[partial][rows − 1][panels − 1]; a single row gets up to kGemvPanels panels.
struct TileTable {
  TileFn fn[2][kTileRows][kGemvPanels] = {};
  template <int kRows, int... kPanelsMinus1>
  constexpr void fill(std::integer_sequence<int, kPanelsMinus1...>) {
    ((fn[0][kRows - 1][kPanelsMinus1] = &tile<kRows, kPanelsMinus1 + 1, false>), ...);
    ((fn[1][kRows - 1][kPanelsMinus1] = &tile<kRows, kPanelsMinus1 + 1, true>), ...);
  }
  template <int... kRowsMinus1>
  constexpr void fillRows(std::integer_sequence<int, kRowsMinus1...>) {
    (fill<kRowsMinus1 + 2>(std::make_integer_sequence<int, kTilePanels>{}), ...);
  }
  constexpr TileTable() {
    fill<1>(std::make_integer_sequence<int, kGemvPanels>{});
    fillRows(std::make_integer_sequence<int, kTileRows - 1>{});
  }
};
constexpr TileTable kTiles;

void run(const uint8_t* a, size_t lda, const uint8_t* packed, int /*n*/, int k, int m, int n0, int n1,
         const int32_t* colOffset, int32_t* c, size_t ldc) {
  const size_t stride = panelBytes(k);
  const int groups = kGroups(k);
  // A tile reads whole 4-byte groups, so a row whose k is not a multiple of 4 is over-read by up
  // to 3 bytes. For rows 0…m−2 those bytes lie inside A (lda ≥ k) and meet B's zero padding; the
  // last row gets a zero-padded copy so nothing past A is touched.
  thread_local std::vector<uint8_t> lastRowCopy;
  const uint8_t* lastRow = a + size_t(m - 1) * lda;
  if (k % 4 != 0) {
    lastRowCopy.assign(size_t(groups) * 4, 0);
    std::memcpy(lastRowCopy.data(), lastRow, size_t(k));
    lastRow = lastRowCopy.data();
  }
  const int maxPanels = m == 1 ? kGemvPanels : kTilePanels;
  for (int col0 = n0; col0 < n1;) {
    const int cols = std::min(n1 - col0, maxPanels * kPanelCols);
    const int panels = (cols + kPanelCols - 1) / kPanelCols;
    const bool partial = cols != panels * kPanelCols;
    const uint8_t* panel0 = packed + size_t(col0 / kPanelCols) * stride;
    const int32_t* offset = colOffset ? colOffset + col0 : nullptr;
    for (int i0 = 0; i0 < m; i0 += kTileRows) {
      const int rows = std::min(kTileRows, m - i0);
      const uint8_t* rowPtrs[kTileRows];
      for (int i = 0; i < rows; i++) rowPtrs[i] = i0 + i == m - 1 ? lastRow : a + size_t(i0 + i) * lda;
      kTiles.fn[partial][rows - 1][panels - 1](rowPtrs, panel0, stride, groups, offset, c + size_t(i0) * ldc + col0, ldc,
                                               cols);
    }
    col0 += cols;
  }
}

}  // namespace

const Int8GemmKernel gemm_u8s8s32__avx512vnni = {
    "gemm_u8s8s32__avx512vnni", ASign::u8, kLayoutX86Vnni, kPanelCols, packedBytes, pack, run,
};

}  // namespace sparq
