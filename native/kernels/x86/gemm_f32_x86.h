// Shared by the x86 dense f32 GEMM kernels (gemm_f32__avx2.cc, gemm_f32__avx512.cc): register-tiled
// micro-kernels and the loops around them, written once over a vector traits class V that each
// tier's file defines (ymm: two vectors per 16-wide panel; zmm: one).
// Contract: sparq/gemm_f32.h (F32GemmFn). A is read in place (row-major, lda, no alignment
// assumed); B in its panels; columns past `cols` of the last panel are neither read nor written
// (masked loads and stores), and nothing of C outside the m×cols block is touched.
//
// Numerics: every element of C is one chain of FMAs in p order starting from +0, exactly like
// the scalar kernel. A tile keeps MR×NP·16 such chains in registers; k is cut into blocks of
// kDepth, and between blocks the partial sums wait in C (storing and reloading an f32 is exact),
// so the blocking never changes a bit.
//
// Two loop nests, by the number of rows m:
// - GEMM (m > kGemvRows): for each k-block, for each tile of up to V::kRows rows (rows spread
//   evenly, so m = 13 is 7 + 6, not 12 + 1), for each group of V::kPanels panels: a tile call.
//   The tile's rows of A (kRows × kDepth floats) stay in L1 across the panel groups; the B
//   block (kDepth × the task's columns) stays in L2 across the row tiles. A is broadcast straight
//   from its rows rather than packed: its 12 rows are 12 sequential streams that stay in L1, and
//   the tile already runs at 90–105 GFLOP/s of Zen 4's ~106 per core (1 thread, 512³ to 1024³),
//   so a packing pass over A would only add work.
// - GEMV (m ≤ kGemvRows): memory-bound on B, which is streamed once: each tile call has all m
//   rows and as many panels side by side as the registers hold (gemvPanels), so enough independent
//   chains hide the FMA latency, and prefetches run kAhead rows ahead in every panel. Packed panels
//   are contiguous, so a tile runs over the whole depth; B read in place (ldb = n) is swept
//   kSweepDepth rows at a time across all the panels instead (partial sums wait in C), so a few
//   rows of B are read across all the columns together rather than every row, 64 bytes of it
//   per panel, down the whole depth (measured 1×4096×4096 in place: 5.9 → 6.6 GFLOP/s).
//
// Everything here has internal linkage on purpose: each tier's translation unit compiles its own
// copy with its own -m flags, so the linker can never hand the AVX2 tier a copy built for AVX-512.
// No std:: container or algorithm is instantiated here for the same reason.
#pragma once
// GCC 12 reports its own "undefined" vector temporaries inside the AVX-512 intrinsics as maybe
// uninitialized (GCC PR 105593); keep it quiet in the intrinsic headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstddef>
#include <utility>

#include "sparq/gemm_f32.h"

namespace sparq {
namespace {
namespace gf32 {

constexpr int kGemvRows = 4;
constexpr size_t kDepth = 256;   // k-block of the GEMM nest
constexpr size_t kAhead = 24;    // GEMV prefetch distance, in rows of a panel (64 bytes each when packed)
constexpr int kGemvMaxPanels = 8;
constexpr size_t kSweepDepth = 16;  // GEMV over B read in place: rows of B per sweep across the panels

using TileFn = void (*)(const float* a, size_t lda, size_t depth, const float* b, size_t panelStride, size_t ldb,
                        float* c, size_t ldc, bool accumulate, int cols);

// C tile [MR × NP·16] (= or +=) A[MR × depth] · B[depth × NP panels]. kEdge: the tile's last panel
// has fewer than 16 real columns (cols < NP·16), so B and C go through lane masks. kStream:
// prefetch B ahead (GEMV nest).
template <class V, int MR, int NP, bool kEdge, bool kStream>
void tile(const float* a, size_t lda, size_t depth, const float* b, size_t panelStride, size_t ldb, float* c,
          size_t ldc, bool accumulate, int cols) {
  using Reg = typename V::Reg;
  constexpr int kVecs = NP * V::kPerPanel;
  constexpr int kLanes = V::kLanes;
  // Only the last panel can be partial: its vectors (from kMasked on) go through masks.
  constexpr int kMasked = kEdge ? (NP - 1) * V::kPerPanel : kVecs;
  typename V::Mask mask[V::kPerPanel];
#pragma GCC unroll 4
  for (int h = 0; h < V::kPerPanel; h++) mask[h] = V::mask(cols - (kMasked + h) * kLanes);
  Reg acc[MR][kVecs];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 16
    for (int v = 0; v < kVecs; v++) {
      float* at = c + size_t(i) * ldc + size_t(v * kLanes);
      if (!accumulate) acc[i][v] = V::zero();
      else if (v >= kMasked) acc[i][v] = V::maskLoad(at, mask[v - kMasked]);
      else acc[i][v] = V::load(at);
    }
  const float* panel[NP];
#pragma GCC unroll 16
  for (int t = 0; t < NP; t++) panel[t] = b + size_t(t) * panelStride;
  const float* row[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) row[i] = a + size_t(i) * lda;
  for (size_t p = 0; p < depth; p++) {
    Reg bv[kVecs];
#pragma GCC unroll 16
    for (int t = 0; t < NP; t++) {
#pragma GCC unroll 4
      for (int h = 0; h < V::kPerPanel; h++) {
        const int v = t * V::kPerPanel + h;
        const float* at = panel[t] + p * ldb + size_t(h * kLanes);
        if (v >= kMasked) bv[v] = V::maskLoad(at, mask[v - kMasked]);
        else bv[v] = V::load(at);
      }
      if constexpr (kStream)
        _mm_prefetch(reinterpret_cast<const char*>(panel[t]) + (p + kAhead) * ldb * sizeof(float), _MM_HINT_T0);
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const Reg ai = V::broadcast(row[i] + p);
#pragma GCC unroll 16
      for (int v = 0; v < kVecs; v++) acc[i][v] = V::fma(ai, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 16
    for (int v = 0; v < kVecs; v++) {
      float* at = c + size_t(i) * ldc + size_t(v * kLanes);
      if (v >= kMasked) V::maskStore(at, mask[v - kMasked], acc[i][v]);
      else V::store(at, acc[i][v]);
    }
}

// Panels side by side in a GEMV tile of m rows: as many as kMaxAccumulators registers hold.
template <class V>
constexpr int gemvPanels(int m) {
  const int fit = V::kMaxAccumulators / (m * V::kPerPanel);
  return fit < 1 ? 1 : fit > kGemvMaxPanels ? kGemvMaxPanels : fit;
}

template <class V, int MR, int NP, bool kEdge, bool kStream>
constexpr TileFn tileOrNull() {
  if constexpr (MR * NP * V::kPerPanel <= V::kMaxAccumulators) return &tile<V, MR, NP, kEdge, kStream>;
  else return nullptr;
}

// Tiles indexed [(rows − 1)·NPMAX·2 + (panels − 1)·2 + edge].
template <class V, int NPMAX, bool kStream, size_t... I>
constexpr auto makeTiles(std::index_sequence<I...>) {
  struct Table {
    TileFn fn[sizeof...(I)];
  };
  return Table{{tileOrNull<V, int(I / (NPMAX * 2)) + 1, int(I / 2 % NPMAX) + 1, bool(I % 2), kStream>()...}};
}

template <class V>
struct Tiles {
  static constexpr auto gemm = makeTiles<V, V::kPanels, false>(std::make_index_sequence<V::kRows * V::kPanels * 2>());
  static constexpr auto gemv =
      makeTiles<V, kGemvMaxPanels, true>(std::make_index_sequence<kGemvRows * kGemvMaxPanels * 2>());
  static TileFn gemmTile(int rows, int panels, bool edge) { return gemm.fn[((rows - 1) * V::kPanels + panels - 1) * 2 + edge]; }
  static TileFn gemvTile(int rows, int panels, bool edge) {
    return gemv.fn[((rows - 1) * kGemvMaxPanels + panels - 1) * 2 + edge];
  }
};

// Real columns in panels [first, first + count) of b.
inline int colsOf(const F32Panels& b, int first, int count) {
  const int left = b.cols - first * kF32Panel;
  return left < count * kF32Panel ? left : count * kF32Panel;
}

template <class V>
void gemm(const float* a, size_t lda, int m, size_t k, const F32Panels& b, float* c, size_t ldc) {
  // Panels that hold real columns (a caller may pass more panels than cols fills).
  const int panels = b.panels < (b.cols + kF32Panel - 1) / kF32Panel ? b.panels : (b.cols + kF32Panel - 1) / kF32Panel;
  if (m <= 0 || panels <= 0) return;
  if (k == 0) {
    for (int i = 0; i < m; i++)
      for (int j = 0; j < b.cols; j++) c[size_t(i) * ldc + size_t(j)] = 0.0f;
    return;
  }
  if (m <= kGemvRows) {
    const int group = gemvPanels<V>(m);
    const size_t sweep = b.ldb == kF32Panel ? k : kSweepDepth;
    for (size_t p0 = 0; p0 < k; p0 += sweep) {
      const size_t depth = k - p0 < sweep ? k - p0 : sweep;
      for (int q = 0; q < panels; q += group) {
        const int count = panels - q < group ? panels - q : group;
        const int cols = colsOf(b, q, count);
        Tiles<V>::gemvTile(m, count, cols < count * kF32Panel)(a + p0, lda, depth,
                                                               b.data + size_t(q) * b.panelStride + p0 * b.ldb,
                                                               b.panelStride, b.ldb, c + size_t(q) * kF32Panel, ldc,
                                                               p0 > 0, cols);
      }
    }
    return;
  }
  const int rowTiles = (m + V::kRows - 1) / V::kRows;
  for (size_t p0 = 0; p0 < k; p0 += kDepth) {
    const size_t depth = k - p0 < kDepth ? k - p0 : kDepth;
    for (int t = 0, i0 = 0; t < rowTiles; t++) {
      const int rows = m / rowTiles + (t < m % rowTiles ? 1 : 0);
      for (int q = 0; q < panels; q += V::kPanels) {
        const int count = panels - q < V::kPanels ? panels - q : V::kPanels;
        const int cols = colsOf(b, q, count);
        Tiles<V>::gemmTile(rows, count, cols < count * kF32Panel)(
            a + size_t(i0) * lda + p0, lda, depth, b.data + size_t(q) * b.panelStride + p0 * b.ldb, b.panelStride,
            b.ldb, c + size_t(i0) * ldc + size_t(q) * kF32Panel, ldc, p0 > 0, cols);
      }
      i0 += rows;
    }
  }
}

}  // namespace gf32
}  // namespace
}  // namespace sparq
