// CSR SpMV and SpMM for the x86 tiers, written once over vector traits (an `Isa` struct of static
// functions) that each kernel file defines and compiles with its own flags (sparse__avx2.cc,
// sparse__avx512.cc).
//
// Everything here has internal linkage on purpose: this header is compiled once with the AVX2
// flags and once with the AVX-512 ones, and external-linkage inline functions would let the linker
// keep one copy for both. Each translation unit gets its own copy instead.
//
// spmv, y[i] = Σ_j v_j·x[c_j]: a row's entries L at a time (L lanes): gather x at the columns, FMA
// with the values into 4 accumulators, then L at a time into the first, then one masked step for
// the 1…L−1 left (masked-off lanes read nothing from x and add +0), then a fixed horizontal sum. A
// reordered float reduction within docs/sparse.md's bound that depends only on the row. On Zen 4
// the gathers bound it at ~1.3 cycles per entry whatever the storage, hot or cold (a matrix from
// DRAM still streams at ≥ 20 GB/s); software prefetch of the two streams measured no gain.
//
// spmm, C[i][t] = Σ_j v_j·B[c_j][t]: vectorised over t (B's rows are contiguous). Every C[i][t] is
// one FMA chain over row i's entries in storage order from +0, whatever the chunk of t, the vector
// width or the lane (the n tail is masked, never computed another way), so C[i][t] does not depend
// on n or on the row split. t is walked in chunks of up to 4 vectors per row; with 1 or 2 vectors
// per row, G consecutive rows walk their common entries in lockstep (G·V independent chains hide
// the FMA and L2 latency of the B rows), then each row finishes alone. Rows are taken 32 at a
// time, so their entries stay in L1 while the chunks of a wide n are walked. int8 codes are
// widened to f32 16 at a time into a small staging buffer; the final sum is multiplied once by
// the row's scale (an empty row keeps +0 whatever its scale).
// Measured on Zen 4 (4096², 90% sparse, n = 8): 8 rows in lockstep beat 4 by ~20%; cutting the
// columns into L1-sized blocks of B (partial sums parked in C) made it slower, as the row
// segments then come as 32 interleaved streams the prefetchers do not follow.
// Reads: indices and values up to 64 bytes past a row's end (inside the matrix's zeroed slack), x
// only at stored columns, B only at stored rows and columns [0, n). Writes: y[r0, r1) or C's rows
// [r0, r1) × columns [0, n). No alignment assumed.
//
// What a tier supplies (Vec holds kLanes floats, Mask selects the first lanes):
//   kLanes, kRowsPerVector, Vec, Mask, Narrow (the traits for a chunk of ≤ Narrow::kLanes columns)
//   zero(), add, mul, fma(a, b, c) = a·b + c, broadcast(const float*), broadcast1(float)
//   tailMask(count), load(p), loadTail(p, mask), store(p, v), storeTail(p, v, mask), sum(v)
//   widen16(const int8_t*, float* out16)     16 codes → 16 floats
//   columns<Index>(indices, j), values<Value>(values, j), gather(x, columns),
//   gatherPartial(x, columns, count)         x at lanes [0, count), +0 elsewhere, nothing else read
#pragma once
// GCC 12 reports the deliberately undefined pass-through operand inside many AVX-512 intrinsics
// as (maybe-)uninitialized (GCC PR 105593); silence that for the header's own code only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "sparq/sparse.h"

namespace sparq {
namespace {
namespace sparse_x86 {

template <typename Value>
constexpr bool kCodes = sizeof(Value) == 1;

// The factor of a row's sum: its scale for int8 codes (1 when the row is empty, keeping +0).
template <typename Value>
float rowScale(const CsrView& a, int i) {
  if constexpr (kCodes<Value>) return a.indptr[i + 1] > a.indptr[i] ? a.scales[i] : 1.0f;
  return 1.0f;
}

// ---- spmv ----

template <class Isa, typename Value, typename Index>
void spmvRows(const CsrView& a, int r0, int r1, const float* x, float* y) {
  using Vec = typename Isa::Vec;
  constexpr size_t L = Isa::kLanes;
  // The products of entries j … j + L − 1, added to acc.
  auto product = [&](size_t j, Vec acc) {
    return Isa::fma(Isa::template values<Value>(a.values, j), Isa::gather(x, Isa::template columns<Index>(a.indices, j)),
                    acc);
  };
  for (int i = r0; i < r1; i++) {
    size_t j = size_t(a.indptr[i]);
    const size_t end = size_t(a.indptr[i + 1]);
    Vec acc0 = Isa::zero(), acc1 = Isa::zero(), acc2 = Isa::zero(), acc3 = Isa::zero();
    for (; j + 4 * L <= end; j += 4 * L) {
      acc0 = product(j, acc0);
      acc1 = product(j + L, acc1);
      acc2 = product(j + 2 * L, acc2);
      acc3 = product(j + 3 * L, acc3);
    }
    for (; j + L <= end; j += L) acc0 = product(j, acc0);
    if (j < end) {
      // Lanes past the row's end gather +0 and multiply it by a finite value (the next row's or
      // the zeroed slack): they add ±0.
      const Vec xs = Isa::gatherPartial(x, Isa::template columns<Index>(a.indices, j), int(end - j));
      acc1 = Isa::fma(Isa::template values<Value>(a.values, j), xs, acc1);
    }
    float sum = Isa::sum(Isa::add(Isa::add(acc0, acc1), Isa::add(acc2, acc3)));
    if constexpr (kCodes<Value>) sum *= rowScale<Value>(a, i);
    y[i] = sum;
  }
}

// ---- spmm ----

constexpr int kRowBlock = 32;  // rows whose entries stay in L1 while n is walked chunk by chunk

// Rows [row, row + G) × the V-vector chunk of C at column t0 (the last vector masked unless Full).
template <class Isa, typename Value, typename Index, int G, int V, bool Full>
void spmmGroup(const CsrView& a, int row, const float* b, size_t ldb, size_t t0, typename Isa::Mask tail, float* c,
               size_t ldc) {
  using Vec = typename Isa::Vec;
  constexpr size_t L = Isa::kLanes;
  constexpr size_t kStage = 16;
  const Index* columns = static_cast<const Index*>(a.indices);
  Vec acc[G][V];
  size_t begin[G], count[G];
  size_t common = ~size_t(0);
#pragma GCC unroll 8
  for (int g = 0; g < G; g++) {
#pragma GCC unroll 4
    for (int k = 0; k < V; k++) acc[g][k] = Isa::zero();
    begin[g] = size_t(a.indptr[row + g]);
    count[g] = size_t(a.indptr[row + g + 1]) - begin[g];
    common = std::min(common, count[g]);
  }
  alignas(64) float staged[G][kStage];
  // Values of entries [j, j + 16) as f32: f32 values in place, int8 codes widened into `to`.
  auto stage = [&](size_t j, float* to) -> const float* {
    if constexpr (kCodes<Value>) {
      Isa::widen16(static_cast<const int8_t*>(a.values) + j, to);
      return to;
    } else {
      return static_cast<const float*>(a.values) + j;
    }
  };
  // One entry of row g: acc[g] += value·B[column][chunk].
  auto step = [&](int g, size_t j, const float* value) {
    const float* bRow = b + size_t(columns[j]) * ldb + t0;
    const Vec v = Isa::broadcast(value);
#pragma GCC unroll 4
    for (int k = 0; k < V; k++) {
      const Vec bv = k == V - 1 && !Full ? Isa::loadTail(bRow + k * L, tail) : Isa::load(bRow + k * L);
      acc[g][k] = Isa::fma(v, bv, acc[g][k]);
    }
  };
  // The entries the G rows have in common, in lockstep; then each row's rest alone.
  for (size_t e = 0; e < common; e += kStage) {
    const size_t block = std::min(kStage, common - e);
    const float* values[G];
#pragma GCC unroll 8
    for (int g = 0; g < G; g++) values[g] = stage(begin[g] + e, staged[g]);
    for (size_t q = 0; q < block; q++) {
#pragma GCC unroll 8
      for (int g = 0; g < G; g++) step(g, begin[g] + e + q, values[g] + q);
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < G; g++) {
    for (size_t e = common; e < count[g]; e += kStage) {
      const size_t block = std::min(kStage, count[g] - e);
      const float* values = stage(begin[g] + e, staged[g]);
      for (size_t q = 0; q < block; q++) step(g, begin[g] + e + q, values + q);
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < G; g++) {
    float* out = c + size_t(row + g) * ldc + t0;
    const Vec scale = Isa::broadcast1(rowScale<Value>(a, row + g));
#pragma GCC unroll 4
    for (int k = 0; k < V; k++) {
      const Vec result = kCodes<Value> ? Isa::mul(acc[g][k], scale) : acc[g][k];
      if (k == V - 1 && !Full)
        Isa::storeTail(out + k * L, result, tail);
      else
        Isa::store(out + k * L, result);
    }
  }
}

// Rows [r0, r1) × one chunk of `width` columns of C at t0, G rows at a time (G·V ≈ 4 chains).
template <class Isa, typename Value, typename Index, int V, bool Full>
void spmmChunk(const CsrView& a, int r0, int r1, const float* b, size_t ldb, size_t t0, int width, float* c,
               size_t ldc) {
  constexpr int G = V == 1 ? Isa::kRowsPerVector : V == 2 ? 2 : 1;
  const typename Isa::Mask tail = Isa::tailMask(width - (V - 1) * Isa::kLanes);
  int row = r0;
  for (; row + G <= r1; row += G) spmmGroup<Isa, Value, Index, G, V, Full>(a, row, b, ldb, t0, tail, c, ldc);
  for (; row < r1; row++) spmmGroup<Isa, Value, Index, 1, V, Full>(a, row, b, ldb, t0, tail, c, ldc);
}

// Chunks of up to 4 vectors; a chunk of at most Narrow::kLanes columns uses the narrow traits
// (on AVX-512, 256-bit vectors: half the work of a half-empty 512-bit one on double-pumped cores).
template <class Isa, typename Value, typename Index>
void spmmRows(const CsrView& a, int r0, int r1, const float* b, size_t ldb, int n, float* c, size_t ldc) {
  using Narrow = typename Isa::Narrow;
  constexpr int L = Isa::kLanes, N = Narrow::kLanes;
  for (int rb = r0; rb < r1; rb += kRowBlock) {
    const int re = std::min(r1, rb + kRowBlock);
    for (int t0 = 0; t0 < n; t0 += 4 * L) {
      const int width = std::min(4 * L, n - t0);
      const size_t at = size_t(t0);
      if (width <= N) {
        if (width == N)
          spmmChunk<Narrow, Value, Index, 1, true>(a, rb, re, b, ldb, at, width, c, ldc);
        else
          spmmChunk<Narrow, Value, Index, 1, false>(a, rb, re, b, ldb, at, width, c, ldc);
        continue;
      }
      switch (((width + L - 1) / L) * 2 + (width % L == 0 ? 1 : 0)) {
        case 2: spmmChunk<Isa, Value, Index, 1, false>(a, rb, re, b, ldb, at, width, c, ldc); break;
        case 3: spmmChunk<Isa, Value, Index, 1, true>(a, rb, re, b, ldb, at, width, c, ldc); break;
        case 4: spmmChunk<Isa, Value, Index, 2, false>(a, rb, re, b, ldb, at, width, c, ldc); break;
        case 5: spmmChunk<Isa, Value, Index, 2, true>(a, rb, re, b, ldb, at, width, c, ldc); break;
        case 6: spmmChunk<Isa, Value, Index, 3, false>(a, rb, re, b, ldb, at, width, c, ldc); break;
        case 7: spmmChunk<Isa, Value, Index, 3, true>(a, rb, re, b, ldb, at, width, c, ldc); break;
        case 8: spmmChunk<Isa, Value, Index, 4, false>(a, rb, re, b, ldb, at, width, c, ldc); break;
        default: spmmChunk<Isa, Value, Index, 4, true>(a, rb, re, b, ldb, at, width, c, ldc); break;
      }
    }
  }
}

// One tier's table. constexpr, so the table is constant-initialized: a dynamic initializer in
// an ISA-flagged file would run that ISA's instructions at load time, before any dispatch, and
// kill the process on a CPU without it (.ci/run checks the addon has none).
template <class Isa>
constexpr SparseKernels kernelTable(const char* tier) {
  return {tier,
          {{spmvRows<Isa, float, uint32_t>, spmvRows<Isa, float, uint16_t>},
           {spmvRows<Isa, int8_t, uint32_t>, spmvRows<Isa, int8_t, uint16_t>}},
          {{spmmRows<Isa, float, uint32_t>, spmmRows<Isa, float, uint16_t>},
           {spmmRows<Isa, int8_t, uint32_t>, spmmRows<Isa, int8_t, uint16_t>}}};
}

}  // namespace sparse_x86
}  // namespace
}  // namespace sparq

#pragma GCC diagnostic pop
