// C[m×n] (s32) = A[m×k] (u8, row-major, stride lda) · B[n×k]ᵀ (s8) + colOffset[n], wrapping int32.
// Packing (kLayoutX86Vnni): B in panels of 16 rows (one row of B = one column of C = one s32
// lane). Panel p is ⌈k/4⌉·64 bytes; its group g holds B[16p+c][4g..4g+3] at byte 64·g + 4·c.
// k is padded to a multiple of 4 and n to a multiple of 16 with zeros.
// Register tile: 8 rows × 3 panels (24 zmm accumulators); 4 k-bytes of a row are broadcast and
// multiplied with 4 k-bytes of 16 columns. VPDPBUSD (the non-saturating form) multiplies u8 by s8
// exactly and adds the 4 products to an s32 lane: exact for k ≤ 65536, as
// |Σ a·b| ≤ 255·128·65536 < 2³¹. No alignment assumed. Tails: the k tail reads the padded group
// (the few bytes past a row meet zero B; the last rows come from a padded copy, so nothing outside
// A is read); the n tail stores through a lane mask, so only [0,m)×[n0,n1) of C is written.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "sparq/gemm_int8.h"
#include "sparq/scratch.h"

namespace sparq {
namespace {

constexpr int kPanelCols = 16;      // s32 lanes per zmm
constexpr int kGroupBytes = 64;     // 16 columns × 4 k-bytes
constexpr int kTileRows = 8;        // rows of A per register tile
constexpr int kTilePanels = 3;      // panels of B per register tile: 8×3 = 24 accumulators
constexpr int kGemvPanels = 4;      // a single row: 4 panels side by side keep DRAM busiest (measured)
constexpr int kMaxPanels = kGemvPanels > kTilePanels ? kGemvPanels : kTilePanels;
// Tiles of several rows re-read their B panels from L2 for every row tile; a software prefetch
// this far ahead hides that latency. A single row streams B from DRAM, where the hardware
// prefetchers alone do better.
constexpr int kPrefetchBytes = 2048;

int kGroups(int k) { return (k + 3) / 4; }
size_t panelBytes(int k) { return size_t(kGroups(k)) * kGroupBytes; }

size_t packedBytes(int n, int k) { return size_t((n + kPanelCols - 1) / kPanelCols) * panelBytes(k); }

void pack(const int8_t* b, int n, int k, uint8_t* packed) {
  const int panels = (n + kPanelCols - 1) / kPanelCols, groups = kGroups(k);
  // Zero first: the padding past k and past n is what makes the tails exact.
  std::memset(packed, 0, packedBytes(n, k));
  for (int p = 0; p < panels; p++) {
    uint8_t* panel = packed + size_t(p) * panelBytes(k);
    const int cols = std::min(kPanelCols, n - p * kPanelCols);
    const int8_t* rows = b + size_t(p) * kPanelCols * size_t(k);
    for (int g = 0; g < groups; g++) {  // the destination in order; 16 source rows side by side
      const int bytes = std::min(4, k - 4 * g);
      for (int c = 0; c < cols; c++) {
        const int8_t* from = rows + size_t(c) * size_t(k) + 4 * size_t(g);
        uint8_t* to = panel + size_t(g) * kGroupBytes + 4 * c;
        if (bytes == 4)
          std::memcpy(to, from, 4);
        else
          std::memcpy(to, from, size_t(bytes));
      }
    }
  }
}

// The 4 bytes A[i][p..p+3] of one row, in every lane.
inline __m512i broadcastFour(const uint8_t* p) {
  int32_t four;
  std::memcpy(&four, p, 4);
  return _mm512_set1_epi32(four);
}

// Lanes [0, valid) of a 16-lane vector, valid clamped to [0, 16].
inline __mmask16 firstLanes(int valid) { return __mmask16((1u << std::max(0, std::min(16, valid))) - 1u); }

// One register tile: kRows rows of A against kPanels adjacent panels of B, over the whole of k.
// acc[i][j] lane c accumulates C[i][16j + c]: each step broadcasts 4 k-bytes of row i to all 16
// lanes and multiplies them with the 4 k-bytes of 16 columns of panel j. The last group of a row
// may reach up to 3 bytes past k: those bytes meet the zero padding of packed B, and the caller
// makes sure they exist (see `run`). A kPartial tile has only `cols` < 16·kPanels valid columns.
// (The accumulators start from colOffset and leave through plain stores: GCC keeps all 24 of them
// in registers only when the k loop is followed by nothing more tangled than that.)
template <int kRows, int kPanels, bool kPartial>
void tile(const uint8_t* const* rows, const uint8_t* panel0, size_t panelStride, int groups, const int32_t* colOffset,
          int32_t* c, size_t ldc, int cols) {
  __m512i acc[kRows][kPanels];
#pragma GCC unroll 8
  for (int j = 0; j < kPanels; j++) {
    const __mmask16 valid = kPartial ? firstLanes(cols - 16 * j) : __mmask16(0xffff);
    const __m512i start = colOffset ? _mm512_maskz_loadu_epi32(valid, colOffset + 16 * j) : _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int i = 0; i < kRows; i++) acc[i][j] = start;
  }
  const uint8_t* row[kRows];
#pragma GCC unroll 8
  for (int i = 0; i < kRows; i++) row[i] = rows[i];
  const uint8_t* b = panel0;
  for (int g = 0; g < groups; g++, b += kGroupBytes) {
    __m512i cols_s8[kPanels];
#pragma GCC unroll 8
    for (int j = 0; j < kPanels; j++) {
      if (kRows > 1) _mm_prefetch(reinterpret_cast<const char*>(b + j * panelStride + kPrefetchBytes), _MM_HINT_T0);
      cols_s8[j] = _mm512_loadu_si512(b + j * panelStride);
    }
#pragma GCC unroll 8
    for (int i = 0; i < kRows; i++) {
      const __m512i row_u8 = broadcastFour(row[i] + 4 * size_t(g));
#pragma GCC unroll 8
      for (int j = 0; j < kPanels; j++) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], row_u8, cols_s8[j]);
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

using TileFn = void (*)(const uint8_t* const*, const uint8_t*, size_t, int, const int32_t*, int32_t*, size_t, int);

// kTiles.fn[partial][rows − 1][panels − 1]; a single row gets up to kGemvPanels panels.
struct TileTable {
  TileFn fn[2][kTileRows][kMaxPanels] = {};
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
  // to 3 bytes. Those bytes meet B's zero padding, so their values never matter; they only have to
  // exist. For a row followed by at least 3 more bytes of A (the next rows) they do; the last few
  // rows (one, or up to three when lda < 3) are read from zero-padded copies instead.
  const int overRead = 4 * groups - k;
  thread_local Scratch paddedScratch;  // counted in nativeMemory().scratch
  uint8_t* paddedRows = nullptr;
  int firstCopied = m;
  while (firstCopied > 0 && size_t(m - firstCopied) * lda < size_t(overRead)) firstCopied--;
  if (firstCopied < m) {
    const size_t paddedBytes = size_t(m - firstCopied) * size_t(4 * groups);
    paddedRows = static_cast<uint8_t*>(paddedScratch.get(paddedBytes));
    std::memset(paddedRows, 0, paddedBytes);
    for (int i = firstCopied; i < m; i++)
      std::memcpy(paddedRows + size_t(i - firstCopied) * size_t(4 * groups), a + size_t(i) * lda, size_t(k));
  }
  auto rowStart = [&](int i) {
    return i < firstCopied ? a + size_t(i) * lda : paddedRows + size_t(i - firstCopied) * size_t(4 * groups);
  };
  // Spread rows and panels evenly over the fewest tiles (16 panels: 3+3+3+3+2+2, not
  // 3+3+3+3+3+1; 9 rows: 5+4, not 8+1): small tiles are the slow ones.
  const int maxPanels = m == 1 ? kGemvPanels : kTilePanels;
  const int allPanels = (n1 - n0 + kPanelCols - 1) / kPanelCols;
  const int tilesAcross = (allPanels + maxPanels - 1) / maxPanels;
  const int tilesDown = (m + kTileRows - 1) / kTileRows;
  for (int across = 0, col0 = n0; col0 < n1; across++) {
    const int panels = allPanels * (across + 1) / tilesAcross - allPanels * across / tilesAcross;
    const int cols = std::min(n1 - col0, panels * kPanelCols);
    const bool partial = cols != panels * kPanelCols;
    const uint8_t* panel0 = packed + size_t(col0 / kPanelCols) * stride;
    const int32_t* offset = colOffset ? colOffset + col0 : nullptr;
    for (int down = 0; down < tilesDown; down++) {
      const int i0 = m * down / tilesDown, rows = m * (down + 1) / tilesDown - i0;
      const uint8_t* rowPtrs[kTileRows];
      for (int i = 0; i < rows; i++) rowPtrs[i] = rowStart(i0 + i);
      int32_t* out = c + size_t(i0) * ldc + col0;
      kTiles.fn[partial][rows - 1][panels - 1](rowPtrs, panel0, stride, groups, offset, out, ldc, cols);
    }
    col0 += cols;
  }
}

}  // namespace

const Int8GemmKernel gemm_u8s8s32__avx512vnni = {
    "gemm_u8s8s32__avx512vnni", ASign::u8, kLayoutX86Vnni, kPanelCols, packedBytes, pack, run,
};

}  // namespace sparq
