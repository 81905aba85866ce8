// C[m×n] (s32) = A[m×k] (u8, row-major, stride lda) · B[n×k]ᵀ (s8) + colOffset[n], wrapping int32.
// AVX2. Packing (kLayoutX86S16, byte-identical to the AVX-512 kernel's): B widened to s16 in
// panels of 16 rows (one row of B = one column of C). Panel p is ⌈k/2⌉·64 bytes; its pair q holds
// B[16p+c][2q], B[16p+c][2q+1] (s16) at byte 64·q + 4·c, so a panel step is two ymm of 8 columns.
// k is padded to even and n to a multiple of 16 with zeros.
// A is widened to u16 rows (k padded to even with a zero) in thread-local scratch, one chunk of
// rows at a time, so a pair of A elements is one 32-bit broadcast. Register tile: 6 rows × 16
// columns (12 ymm accumulators).
// VPMADDWD multiplies s16 pairs exactly and adds them into s32 (|a·b + a'·b'| ≤ 2·255·128). The
// saturating VPMADDUBSW is never used: 255·127 + 255·127 > 32767. The s32 sums are exact for
// k ≤ 65536: |Σ a·b| ≤ 255·128·65536 < 2³¹. No alignment assumed. Tails: an odd k meets zeros on
// both sides; A is read only inside its m rows of k bytes; the n tail stores through a lane mask,
// so only [0,m)×[n0,n1) of C is written.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "sparq/gemm_int8.h"
#include "sparq/scratch.h"

namespace sparq {
namespace {

constexpr int kPanelCols = 16;       // two ymm of 8 s32 lanes
constexpr int kPairBytes = 64;       // 16 columns × 2 k-values × 2 bytes
constexpr int kTileRows = 6;         // rows of A per register tile: 6 × 2 ymm = 12 accumulators
constexpr int kTilePanels = 1;
constexpr int kGemvPanels = 4;       // a single row: 4 panels = 8 accumulators
// Tiles of several rows re-read their B panels from L2 for every row tile; a software prefetch
// this far ahead hides that latency (a single row streams B and leaves it to the hardware).
constexpr int kPrefetchBytes = 2048;
constexpr size_t kScratchBytes = 192 * 1024;  // widened A per chunk: stays in L2 with the B panels

int kPairs(int k) { return (k + 1) / 2; }
size_t panelBytes(int k) { return size_t(kPairs(k)) * kPairBytes; }

size_t packedBytes(int n, int k) { return size_t((n + kPanelCols - 1) / kPanelCols) * panelBytes(k); }

// Must stay byte-identical to the AVX-512 kernel's pack (same layout id); the test compares them.
void pack(const int8_t* b, int n, int k, uint8_t* packed) {
  const int panels = (n + kPanelCols - 1) / kPanelCols;
  // Zero first: the padding past n is what makes the column tail exact.
  std::memset(packed, 0, packedBytes(n, k));
  for (int p = 0; p < panels; p++) {
    uint8_t* panel = packed + size_t(p) * panelBytes(k);
    const int cols = std::min(kPanelCols, n - p * kPanelCols);
    const int8_t* rows = b + size_t(p) * kPanelCols * size_t(k);
    for (int q = 0; q < kPairs(k); q++)  // the destination in order; 16 source rows side by side
      for (int c = 0; c < cols; c++) {
        const int8_t* row = rows + size_t(c) * size_t(k);
        const int16_t pair[2] = {row[2 * q], int16_t(2 * q + 1 < k ? row[2 * q + 1] : 0)};
        std::memcpy(panel + size_t(q) * kPairBytes + 4 * c, pair, 4);
      }
  }
}

// Rows [0, rows) of A widened to u16, each padded to `width` (even) elements with zeros.
void widenRows(const uint8_t* a, size_t lda, int rows, int k, int width, uint16_t* out) {
  for (int i = 0; i < rows; i++) {
    const uint8_t* src = a + size_t(i) * lda;
    uint16_t* dst = out + size_t(i) * size_t(width);
    int e = 0;
    for (; e + 16 <= k; e += 16)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + e),
                          _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + e))));
    for (; e < k; e++) dst[e] = src[e];
    for (; e < width; e++) dst[e] = 0;
  }
}

// The pair A[i][2q], A[i][2q+1] (u16 each) of one widened row, in every s32 lane.
inline __m256i broadcastPair(const uint16_t* p) {
  int32_t pair;
  std::memcpy(&pair, p, 4);
  return _mm256_set1_epi32(pair);
}

// Lanes [0, valid) of an 8-lane vector as a maskstore mask (top bit set), valid clamped to [0, 8].
inline __m256i firstLanes(int valid) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(std::max(0, std::min(8, valid))), lane);
}

// One register tile: kRows widened rows of A against kPanels adjacent panels of B (2 ymm each),
// all of k. acc[i][h] lane c accumulates C[i][8h + c]; each step multiplies a pair of row i
// (broadcast) with the pairs of 8 columns and adds the two products into the lane.
// A kPartial tile has only `cols` < 16·kPanels valid columns. (Accumulators start from colOffset
// and leave through plain stores: that keeps GCC from spilling them in the k loop.)
template <int kRows, int kPanels, bool kPartial>
void tile(const uint16_t* a, size_t lda, const uint8_t* panel0, size_t panelStride, int pairs, const int32_t* colOffset,
          int32_t* c, size_t ldc, int cols) {
  constexpr int kHalves = 2 * kPanels;
  __m256i acc[kRows][kHalves];
#pragma GCC unroll 8
  for (int h = 0; h < kHalves; h++) {
    __m256i start = _mm256_setzero_si256();
    if (colOffset) {
      if (kPartial)
        start = _mm256_maskload_epi32(colOffset + 8 * h, firstLanes(cols - 8 * h));
      else
        start = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(colOffset + 8 * h));
    }
#pragma GCC unroll 8
    for (int i = 0; i < kRows; i++) acc[i][h] = start;
  }
  const uint8_t* b = panel0;
  for (int q = 0; q < pairs; q++, b += kPairBytes) {
    __m256i cols_s16[kHalves];
#pragma GCC unroll 8
    for (int j = 0; j < kPanels; j++)
      if (kRows > 1) _mm_prefetch(reinterpret_cast<const char*>(b + j * panelStride + kPrefetchBytes), _MM_HINT_T0);
#pragma GCC unroll 8
    for (int h = 0; h < kHalves; h++)
      cols_s16[h] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + (h / 2) * panelStride + 32 * (h % 2)));
#pragma GCC unroll 8
    for (int i = 0; i < kRows; i++) {
      const __m256i row_u16 = broadcastPair(a + i * lda + 2 * size_t(q));
#pragma GCC unroll 8
      for (int h = 0; h < kHalves; h++)
        acc[i][h] = _mm256_add_epi32(acc[i][h], _mm256_madd_epi16(row_u16, cols_s16[h]));
    }
  }
  if (!kPartial) {
#pragma GCC unroll 8
    for (int i = 0; i < kRows; i++)
#pragma GCC unroll 8
      for (int h = 0; h < kHalves; h++) _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + i * ldc + 8 * h), acc[i][h]);
  } else {
    alignas(32) int32_t sums[kRows][8 * kHalves];
#pragma GCC unroll 8
    for (int i = 0; i < kRows; i++)
#pragma GCC unroll 8
      for (int h = 0; h < kHalves; h++) _mm256_store_si256(reinterpret_cast<__m256i*>(&sums[i][8 * h]), acc[i][h]);
    for (int i = 0; i < kRows; i++)
      for (int h = 0; h < kHalves; h++)
        _mm256_maskstore_epi32(c + i * ldc + 8 * h, firstLanes(cols - 8 * h),
                               _mm256_load_si256(reinterpret_cast<const __m256i*>(&sums[i][8 * h])));
  }
}

using TileFn = void (*)(const uint16_t*, size_t, const uint8_t*, size_t, int, const int32_t*, int32_t*, size_t, int);

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
  const int pairs = kPairs(k), width = 2 * pairs;
  const size_t rowBytes = 2 * size_t(std::max(width, 2));
  const int chunkRows = std::max(kTileRows, int(kScratchBytes / rowBytes) / kTileRows * kTileRows);
  thread_local Scratch widenedRows;  // counted in nativeMemory().scratch
  // Spread rows and panels evenly over the fewest tiles (64 rows in 6-row tiles: 6·9 + 5·2, not
  // 6·10 + 4): small tiles are the slow ones.
  const int maxPanels = m == 1 ? kGemvPanels : kTilePanels;
  const int allPanels = (n1 - n0 + kPanelCols - 1) / kPanelCols;
  const int tilesAcross = (allPanels + maxPanels - 1) / maxPanels;
  for (int r0 = 0; r0 < m; r0 += chunkRows) {
    const int rowsInChunk = std::min(chunkRows, m - r0);
    auto* widened = static_cast<uint16_t*>(widenedRows.get(size_t(rowsInChunk) * size_t(width) * sizeof(uint16_t)));
    widenRows(a + size_t(r0) * lda, lda, rowsInChunk, k, width, widened);
    const int tilesDown = (rowsInChunk + kTileRows - 1) / kTileRows;
    for (int across = 0, col0 = n0; col0 < n1; across++) {
      const int panels = allPanels * (across + 1) / tilesAcross - allPanels * across / tilesAcross;
      const int cols = std::min(n1 - col0, panels * kPanelCols);
      const bool partial = cols != panels * kPanelCols;
      const uint8_t* panel0 = packed + size_t(col0 / kPanelCols) * stride;
      const int32_t* offset = colOffset ? colOffset + col0 : nullptr;
      for (int down = 0; down < tilesDown; down++) {
        const int i0 = rowsInChunk * down / tilesDown, rows = rowsInChunk * (down + 1) / tilesDown - i0;
        kTiles.fn[partial][rows - 1][panels - 1](widened + size_t(i0) * size_t(width), size_t(width), panel0,
                                                 stride, pairs, offset, c + size_t(r0 + i0) * ldc + col0, ldc, cols);
      }
      col0 += cols;
    }
  }
}

}  // namespace

const Int8GemmKernel gemm_u8s8s32__avx2 = {
    "gemm_u8s8s32__avx2", ASign::u8, kLayoutX86S16, kPanelCols, packedBytes, pack, run,
};

}  // namespace sparq
