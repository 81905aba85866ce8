// C[m×n] (s32) = A[m×k] (u8, row-major, stride lda) · B[n×k]ᵀ (s8) + colOffset[n], wrapping int32.
// AVX-512F/BW without VNNI. Packing (kLayoutX86S16, byte-identical to the AVX2 kernel's): B widened
// to s16 in panels of 16 rows (one row of B = one column of C = one s32 lane). Panel p is
// ⌈k/2⌉·64 bytes; its pair q holds B[16p+c][2q], B[16p+c][2q+1] (s16) at byte 64·q + 4·c. k is
// padded to even and n to a multiple of 16 with zeros.
// A is widened to u16 rows (k padded to even with a zero) in thread-local scratch, one chunk of
// rows at a time, so a pair of A elements is one 32-bit broadcast. Register tile: 8 rows × 3
// panels (24 zmm accumulators).
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

constexpr int kPanelCols = 16;       // s32 lanes per zmm
constexpr int kPairBytes = 64;       // 16 columns × 2 k-values × 2 bytes
constexpr int kTileRows = 8;         // rows of A per register tile
constexpr int kTilePanels = 3;       // panels of B per register tile: 8×3 = 24 accumulators
constexpr int kGemvPanels = 4;       // a single row: 4 panels side by side keep DRAM busiest (measured)
// Tiles of several rows re-read their B panels from L2 for every row tile; a software prefetch
// this far ahead hides that latency (a single row streams B and leaves it to the hardware).
constexpr int kPrefetchBytes = 2048;
constexpr size_t kScratchBytes = 192 * 1024;  // widened A per chunk: stays in L2 with the B panels

int kPairs(int k) { return (k + 1) / 2; }
size_t panelBytes(int k) { return size_t(kPairs(k)) * kPairBytes; }

size_t packedBytes(int n, int k) { return size_t((n + kPanelCols - 1) / kPanelCols) * panelBytes(k); }

// Must stay byte-identical to the AVX2 kernel's pack (same layout id); the test compares them.
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
    for (; e + 32 <= k; e += 32)
      _mm512_storeu_si512(dst + e, _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + e))));
    for (; e < k; e++) dst[e] = src[e];
    for (; e < width; e++) dst[e] = 0;
  }
}

// The pair A[i][2q], A[i][2q+1] (u16 each) of one widened row, in every s32 lane.
inline __m512i broadcastPair(const uint16_t* p) {
  int32_t pair;
  std::memcpy(&pair, p, 4);
  return _mm512_set1_epi32(pair);
}

// Lanes [0, valid) of a 16-lane vector, valid clamped to [0, 16].
inline __mmask16 firstLanes(int valid) { return __mmask16((1u << std::max(0, std::min(16, valid))) - 1u); }

// One register tile: kRows widened rows of A against kPanels adjacent panels of B, all of k.
// acc[i][j] lane c accumulates C[i][16j + c]; each step multiplies a pair of row i (broadcast)
// with the pairs of 16 columns of panel j and adds the two products into the lane.
// A kPartial tile has only `cols` < 16·kPanels valid columns. (Accumulators start from colOffset
// and leave through plain stores: that keeps GCC from spilling them in the k loop.)
template <int kRows, int kPanels, bool kPartial>
void tile(const uint16_t* a, size_t lda, const uint8_t* panel0, size_t panelStride, int pairs, const int32_t* colOffset,
          int32_t* c, size_t ldc, int cols) {
  __m512i acc[kRows][kPanels];
#pragma GCC unroll 8
  for (int j = 0; j < kPanels; j++) {
    const __mmask16 valid = kPartial ? firstLanes(cols - 16 * j) : __mmask16(0xffff);
    const __m512i start = colOffset ? _mm512_maskz_loadu_epi32(valid, colOffset + 16 * j) : _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int i = 0; i < kRows; i++) acc[i][j] = start;
  }
  const uint8_t* b = panel0;
  for (int q = 0; q < pairs; q++, b += kPairBytes) {
    __m512i cols_s16[kPanels];
#pragma GCC unroll 8
    for (int j = 0; j < kPanels; j++) {
      if (kRows > 1) _mm_prefetch(reinterpret_cast<const char*>(b + j * panelStride + kPrefetchBytes), _MM_HINT_T0);
      cols_s16[j] = _mm512_loadu_si512(b + j * panelStride);
    }
#pragma GCC unroll 8
    for (int i = 0; i < kRows; i++) {
      const __m512i row_u16 = broadcastPair(a + i * lda + 2 * size_t(q));
#pragma GCC unroll 8
      for (int j = 0; j < kPanels; j++)
        acc[i][j] = _mm512_add_epi32(acc[i][j], _mm512_madd_epi16(row_u16, cols_s16[j]));
    }
  }
  if (!kPartial) {
#pragma GCC unroll 8
    for (int i = 0; i < kRows; i++)
#pragma GCC unroll 8
      for (int j = 0; j < kPanels; j++) _mm512_storeu_si512(c + i * ldc + 16 * j, acc[i][j]);
  } else {
    alignas(64) int32_t sums[kRows][16 * kPanels];
#pragma GCC unroll 8
    for (int i = 0; i < kRows; i++)
#pragma GCC unroll 8
      for (int j = 0; j < kPanels; j++) _mm512_store_si512(&sums[i][16 * j], acc[i][j]);
    for (int i = 0; i < kRows; i++)
      for (int j = 0; j < kPanels; j++)
        _mm512_mask_storeu_epi32(c + i * ldc + 16 * j, firstLanes(cols - 16 * j), _mm512_load_si512(&sums[i][16 * j]));
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
  // Spread rows and panels evenly over the fewest tiles (9 rows: 5+4, not 8+1; 16 panels:
  // 3+3+3+3+2+2, not 3+3+3+3+3+1): small tiles are the slow ones.
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

const Int8GemmKernel gemm_u8s8s32__avx512 = {
    "gemm_u8s8s32__avx512", ASign::u8, kLayoutX86S16, kPanelCols, packedBytes, pack, run,
};

}  // namespace sparq
