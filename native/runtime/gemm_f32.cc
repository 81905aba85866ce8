// Dispatch for the dense f32 GEMM: packing into 16-wide panels, the per-tier kernel table, and the
// split of C into tasks for the pool.
//
// C is cut into row blocks of about kRowBlock rows × slices of whole panels, and each task is
// one kernel call (which does its own cache blocking). The grid depends only on (m, n, k), never
// on the thread count; the kernels sum each element in one fixed FMA chain, so neither the grid
// nor the thread count can change a bit. Bias is added by the task that wrote the tile, while
// it is still in cache.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "sparq/gemm_f32.h"
#include "sparq/scratch.h"
#include "sparq/runtime.h"

namespace sparq {

namespace {

std::atomic<const char*> gLastKernel{nullptr};

// At most this many rows per task (12 AVX-512 or 24 AVX2 register tiles); row blocks are spread
// evenly, so m = 160 runs as two blocks of 80, not 144 + 16.
constexpr int kRowBlock = 144;
// Slices are cut so that C has at least kTasks tiles when there is enough work for that many
// (a fixed count: the pool hands tasks out dynamically, so 2–4 threads balance well on 16),
// but no slice is wider than kMaxSlicePanels (its B block then stays in L2) and none does
// fewer than kMinTaskWork multiply-adds.
constexpr int kTasks = 16;
constexpr int kMaxSlicePanels = 32;
constexpr size_t kMinTaskWork = size_t(1) << 18;
// Below this many multiply-adds waking the pool costs more than it saves.
constexpr size_t kSerialWork = size_t(1) << 20;
// gemmF32 with B [k×n] reads B in place for fewer rows than this, and packs it for more.
// Measured on Zen 4 (AVX-512, 1 thread, n = k = 1024): in place 51 / 88 / 74 GFLOP/s at m = 4 /
// 64 / 128, packed 22 / 66 / 71; at m ≥ 300 packing wins by about 10%.
constexpr int kPackRows = 128;
// A task that packs its own panels of B keeps them under this size, so they stay in L2.
constexpr size_t kTaskPackBytes = size_t(512) * 1024;
// linearF32Packed makes the whole W up front (once, for every row block) up to this size.
constexpr size_t kWholePackBytes = size_t(16) << 20;

size_t panelsOf(int n) { return (size_t(n) + kF32Panel - 1) / kF32Panel; }

const char* nameOf(const F32GemmKernels& k) {
#ifdef SPARQ_BUILT_AVX2
  if (&k == &gemmF32__avx2) return "gemm_f32__avx2";
#endif
#ifdef SPARQ_BUILT_AVX512
  if (&k == &gemmF32__avx512) return "gemm_f32__avx512";
#endif
#ifdef SPARQ_BUILT_NEON
  if (&k == &gemmF32__neon) return "gemm_f32__neon";
#endif
  return "gemm_f32__scalar";
}

// Calls fn(begin, end) over [0, count) in chunks, on the pool when `work` is large enough.
template <typename Fn>
void forChunks(size_t count, size_t work, Fn fn) {
  if (work < kSerialWork || count < 2) {
    fn(size_t(0), count);
    return;
  }
  const size_t tasks = std::min(count, size_t(kTasks));
  const size_t step = (count + tasks - 1) / tasks;
  parallelFor(int((count + step - 1) / step), [&](int t) {
    const size_t begin = size_t(t) * step;
    fn(begin, std::min(count, begin + step));
  });
}

// Packing walks k in blocks of kPackDepth rows, so the part of a panel being written (64 bytes a
// row) stays in L1 while its 16 sources are read.
constexpr size_t kPackDepth = 64;

// Columns j0…j0+3 of a panel, rows [p0, p1), from four rows of W.
void transpose4(const float* const rows[4], size_t p0, size_t p1, float* panel, int j0) {
  size_t p = p0;
#if defined(__SSE2__)
  // 4×4 blocks through registers: one 16-byte store per panel row instead of four scalar ones.
  for (; p + 4 <= p1; p += 4) {
    __m128 r0 = _mm_loadu_ps(rows[0] + p), r1 = _mm_loadu_ps(rows[1] + p);
    __m128 r2 = _mm_loadu_ps(rows[2] + p), r3 = _mm_loadu_ps(rows[3] + p);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(panel + p * kF32Panel + size_t(j0), r0);
    _mm_storeu_ps(panel + (p + 1) * kF32Panel + size_t(j0), r1);
    _mm_storeu_ps(panel + (p + 2) * kF32Panel + size_t(j0), r2);
    _mm_storeu_ps(panel + (p + 3) * kF32Panel + size_t(j0), r3);
  }
#endif
  for (; p < p1; p++)
    for (int t = 0; t < 4; t++) panel[p * kF32Panel + size_t(j0 + t)] = rows[t][p];
}

// Panels [q0, q1) of W [n×k] (rows of k) into `out` (where panel q0 goes), zero past n.
void packRows(const float* w, int n, size_t k, size_t q0, size_t q1, float* out) {
  for (size_t q = q0; q < q1; q++) {
    float* panel = out + (q - q0) * kF32Panel * k;
    for (size_t p0 = 0; p0 < k; p0 += kPackDepth) {
      const size_t p1 = std::min(k, p0 + kPackDepth);
      for (int j0 = 0; j0 < kF32Panel; j0 += 4) {
        const size_t col = q * kF32Panel + size_t(j0);
        if (col + 4 <= size_t(n)) {
          const float* rows[4] = {w + col * k, w + (col + 1) * k, w + (col + 2) * k, w + (col + 3) * k};
          transpose4(rows, p0, p1, panel, j0);
          continue;
        }
        for (int j = j0; j < j0 + 4; j++) {
          const size_t at = q * kF32Panel + size_t(j);
          for (size_t p = p0; p < p1; p++) panel[p * kF32Panel + size_t(j)] = at < size_t(n) ? w[at * k + p] : 0.0f;
        }
      }
    }
  }
}

// Panels [q0, q1) of B [k×n] (rows of n) into `out` (where panel q0 goes), zero past n.
void packCols(const float* b, int n, size_t k, size_t q0, size_t q1, float* out) {
  for (size_t p0 = 0; p0 < k; p0 += kPackDepth) {
    const size_t p1 = std::min(k, p0 + kPackDepth);
    for (size_t q = q0; q < q1; q++) {
      float* panel = out + (q - q0) * kF32Panel * k;
      const size_t col = q * kF32Panel, width = std::min<size_t>(kF32Panel, size_t(n) - col);
      for (size_t p = p0; p < p1; p++) {
        float* to = panel + p * kF32Panel;
        const float* from = b + p * size_t(n) + col;
        if (width == kF32Panel) {
          std::memcpy(to, from, kF32Panel * sizeof(float));
        } else {
          std::memcpy(to, from, width * sizeof(float));
          std::fill(to + width, to + kF32Panel, 0.0f);
        }
      }
    }
  }
}

float* alignedFloats(size_t count) {
  // aligned_alloc wants a multiple of the alignment (and at least one line).
  const size_t bytes = std::max<size_t>(64, (count * sizeof(float) + 63) / 64 * 64);
  float* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!p) throw std::bad_alloc();
  return p;
}

// The calling thread's scratch (sparq/scratch.h): it keeps its largest size, and is counted.
enum class Use { wholeB, taskB, transA };
float* scratch(Use use, size_t count) {
  thread_local Scratch buffers[3];
  return static_cast<float*>(buffers[int(use)].get(count * sizeof(float)));
}

// Where B comes from: packed panels, or a plain matrix each task packs its own panels of into
// its thread's scratch just before its kernel call (while they are still in L2).
struct Source {
  F32Panels panels;                       // when `plain` and `packer` are null
  const float* plain = nullptr;           // B [n×k] (transposed) or B [k×n]
  bool transposed = false;
  const F32PanelPacker* packer = nullptr;  // makes a task's panels (a decoder: clustered weights)
};

// C[m×n] = A[m×k]·B (+ bias), split into tasks over the pool.
void run(const float* a, int m, int n, size_t k, const Source& b, const float* bias, float* c) {
  const F32GemmKernels& kernel = f32GemmKernels();
  gLastKernel.store(nameOf(kernel), std::memory_order_relaxed);
  const int panels = int(panelsOf(n));
  const int rowBlocks = (m + kRowBlock - 1) / kRowBlock;
  const int maxRows = (m + rowBlocks - 1) / rowBlocks;
  const int wantSlices = (kTasks + rowBlocks - 1) / rowBlocks;
  const size_t depth = std::max<size_t>(k, 1);
  int slicePanels = std::min((panels + wantSlices - 1) / wantSlices, kMaxSlicePanels);
  const size_t panelWork = size_t(maxRows) * kF32Panel * depth;
  slicePanels = std::max(slicePanels, int(std::min<size_t>(size_t(panels), (kMinTaskWork + panelWork - 1) / panelWork)));
  if (b.plain || b.packer) slicePanels = std::min(slicePanels, int(std::max<size_t>(1, kTaskPackBytes / (kF32Panel * sizeof(float) * depth))));
  slicePanels = std::max(slicePanels, 1);
  const int slices = (panels + slicePanels - 1) / slicePanels;
  auto task = [&](int t) {
    const int slice = t / rowBlocks, block = t % rowBlocks;
    const int i0 = int(size_t(m) * size_t(block) / size_t(rowBlocks));
    const int i1 = int(size_t(m) * size_t(block + 1) / size_t(rowBlocks));
    const int q0 = slice * slicePanels, count = std::min(slicePanels, panels - q0);
    const size_t j0 = size_t(q0) * kF32Panel;
    const int cols = int(std::min(size_t(n) - j0, size_t(count) * kF32Panel));
    F32Panels part;
    if (b.packer) {
      float* packed = scratch(Use::taskB, size_t(count) * kF32Panel * k);
      (*b.packer)(size_t(q0), size_t(q0 + count), packed);
      part = F32Panels{packed, kF32Panel * k, kF32Panel, count, cols};
    } else if (b.plain) {
      float* packed = scratch(Use::taskB, size_t(count) * kF32Panel * k);
      if (b.transposed) packRows(b.plain, n, k, size_t(q0), size_t(q0 + count), packed);
      else packCols(b.plain, n, k, size_t(q0), size_t(q0 + count), packed);
      part = F32Panels{packed, kF32Panel * k, kF32Panel, count, cols};
    } else {
      part = F32Panels{b.panels.data + size_t(q0) * b.panels.panelStride, b.panels.panelStride, b.panels.ldb, count, cols};
    }
    float* tile = c + size_t(i0) * size_t(n) + j0;
    kernel.gemm(a + size_t(i0) * k, k, i1 - i0, k, part, tile, size_t(n));
    if (bias) {
      for (int i = i0; i < i1; i++) {
        float* row = c + size_t(i) * size_t(n) + j0;
        for (int j = 0; j < cols; j++) row[j] = row[j] + bias[j0 + size_t(j)];
      }
    }
  };
  const int tasks = slices * rowBlocks;
  if (size_t(m) * size_t(n) * depth < kSerialWork || tasks == 1) {
    for (int t = 0; t < tasks; t++) task(t);
  } else {
    parallelFor(tasks, task);
  }
}

}  // namespace

void PackedF32::Free::operator()(float* p) const { std::free(p); }

PackedF32::PackedF32(const float* w, int n, int k) : n_(n), k_(k), data_(alignedFloats(bytes() / sizeof(float))) {
  const size_t depth = size_t(k);
  forChunks(size_t(panels()), size_t(n) * depth,
            [&](size_t q0, size_t q1) { packRows(w, n, depth, q0, q1, data_.get() + q0 * kF32Panel * depth); });
}

void PackedF32::unpack(float* w) const {
  const size_t depth = size_t(k_);
  for (int j = 0; j < n_; j++) {
    const float* panel = data() + size_t(j / kF32Panel) * kF32Panel * depth + size_t(j % kF32Panel);
    for (size_t p = 0; p < depth; p++) w[size_t(j) * depth + p] = panel[p * kF32Panel];
  }
}

const F32GemmKernels& f32GemmKernels() {
  switch (activeTier()) {
#ifdef SPARQ_BUILT_AVX2
    case Tier::avx2: return gemmF32__avx2;
#endif
#ifdef SPARQ_BUILT_AVX512
    case Tier::avx512:
    case Tier::avx512vnni: return gemmF32__avx512;
#endif
#ifdef SPARQ_BUILT_NEON
    case Tier::neon:
    case Tier::neondot:
    case Tier::i8mm: return gemmF32__neon;
#endif
    default: return gemmF32__scalar;
  }
}

const char* lastF32GemmKernel() { return gLastKernel.load(std::memory_order_relaxed); }

void linearF32(const float* x, int m, const PackedF32& w, const float* bias, float* y) {
  if (m <= 0 || w.n() <= 0) return;
  run(x, m, w.n(), size_t(w.k()), Source{w.view()}, bias, y);
}

void linearF32Packed(const float* x, int m, int n, int k, const F32PanelPacker& pack, const float* bias, float* y) {
  if (m <= 0 || n <= 0) return;
  const size_t depth = size_t(std::max(k, 0)), panels = panelsOf(n);
  // Several row blocks would each make the same panels again: make them all once when they fit.
  if (m > kRowBlock && panels * kF32Panel * depth * sizeof(float) <= kWholePackBytes) {
    float* packed = scratch(Use::wholeB, panels * kF32Panel * depth);
    forChunks(panels, size_t(n) * depth, [&](size_t q0, size_t q1) { pack(q0, q1, packed + q0 * kF32Panel * depth); });
    run(x, m, n, depth, Source{F32Panels{packed, kF32Panel * depth, kF32Panel, int(panels), n}}, bias, y);
    return;
  }
  Source source;
  source.packer = &pack;
  run(x, m, n, size_t(k), source, bias, y);
}

// B [k×n] is read in place for few rows of A; otherwise B is packed, by each task for its own
// panels when A is a single row block (each panel is then packed exactly once, and used while it
// is in L2), or all of it up front when several row blocks share it.
void gemmF32(const float* a, const float* b, int m, int n, int k, bool transB, bool transA, float* c) {
  if (m <= 0 || n <= 0) return;
  if (transA && k > 0) {
    // A is [k×m]: transpose it once into scratch (32×32 tiles, so both sides stay in L1), then
    // the plain product: the same kernels, so the same bits as with A given row-major.
    float* at = scratch(Use::transA, size_t(m) * size_t(k));
    constexpr int kTile = 32;
    for (int p0 = 0; p0 < k; p0 += kTile)
      for (int i0 = 0; i0 < m; i0 += kTile)
        for (int p = p0; p < std::min(k, p0 + kTile); p++)
          for (int i = i0; i < std::min(m, i0 + kTile); i++) at[size_t(i) * size_t(k) + size_t(p)] = a[size_t(p) * size_t(m) + size_t(i)];
    a = at;
  }
  const size_t depth = size_t(std::max(k, 0)), panels = panelsOf(n);
  if (!transB && m < kPackRows) {
    run(a, m, n, depth, Source{F32Panels{b, kF32Panel, size_t(n), int(panels), n}}, nullptr, c);
    return;
  }
  if (m <= kRowBlock) {
    run(a, m, n, depth, Source{F32Panels{}, b, transB}, nullptr, c);
    return;
  }
  float* packed = scratch(Use::wholeB, panels * kF32Panel * depth);
  forChunks(panels, size_t(n) * depth, [&](size_t q0, size_t q1) {
    float* out = packed + q0 * kF32Panel * depth;
    if (transB) packRows(b, n, depth, q0, q1, out);
    else packCols(b, n, depth, q0, q1, out);
  });
  run(a, m, n, depth, Source{F32Panels{packed, kF32Panel * depth, kF32Panel, int(panels), n}}, nullptr, c);
}

}  // namespace sparq
