// Dispatch and drivers of the clustered family (sparq/cluster.h): the ClusteredMatrix storage, the
// per-tier table, decode of a whole matrix, the matmul split into tasks for the pool, and the
// nearest-centroid assignment k-means calls every iteration.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "sparq/cluster.h"
#include "sparq/gemm_f32.h"
#include "sparq/runtime.h"
#include "sparq/scratch.h"

namespace sparq {

namespace {

std::atomic<const char*> gLastOp{nullptr};
std::atomic<const char*> gLastTier{nullptr};
// Below this many multiply-adds the pool costs more than it saves.
constexpr size_t kSerialWork = size_t(1) << 18;
constexpr int kTasksPerThread = 4;
// More activation rows than this go through the f32 GEMM on decoded panels (each weight decoded
// once per row block of the GEMM, then used by all its rows); fewer through the tier's own matmul.
constexpr int kFusedRows = 4;

// 64-byte aligned, zeroed, with 64 bytes of zeroed slack after `bytes`.
void* alignedZeroed(size_t bytes) {
  const size_t rounded = (bytes + 64 + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  return p;
}

const ClusterKernels& ran(const char* op) {
  const ClusterKernels& k = clusterKernels();
  gLastOp.store(op, std::memory_order_relaxed);
  gLastTier.store(k.tier, std::memory_order_relaxed);
  return k;
}

}  // namespace

const ClusterKernels& clusterKernels() {
  switch (activeTier()) {
#ifdef SPARQ_BUILT_AVX2
    case Tier::avx2: return cluster__avx2;
#endif
#ifdef SPARQ_BUILT_AVX512
    case Tier::avx512:
    case Tier::avx512vnni: return cluster__avx512;  // no VNNI-specific clustered kernels
#endif
#ifdef SPARQ_BUILT_NEON
    case Tier::neon:
    case Tier::neondot:
    case Tier::i8mm: return cluster__neon;  // one NEON table for every ARM tier
#endif
    default: return cluster__scalar;
  }
}

std::string lastClusterKernel() {
  const char* op = gLastOp.load(std::memory_order_relaxed);
  if (!op) return "";
  return std::string(op) + "_clustered__" + gLastTier.load(std::memory_order_relaxed);
}

void ClusteredMatrix::Free::operator()(void* p) const { std::free(p); }

ClusteredMatrix::ClusteredMatrix(int n, size_t k, int bits, int groupRows)
    : n_(n), k_(k), bits_(bits), groupRows_(groupRows) {
  codebooks_.reset(static_cast<float*>(alignedZeroed(codebookBytes())));
  indices_.reset(static_cast<uint8_t*>(alignedZeroed(indexBytes())));
}

int64_t clusterBadPadding(const ClusteredMatrix& w) {
  const size_t used = w.k() * size_t(w.bits()) % 8;
  if (used == 0) return -1;
  const uint8_t padding = uint8_t(0xff << used);
  for (int j = 0; j < w.n(); j++)
    if (w.indices()[size_t(j) * w.rowBytes() + w.rowBytes() - 1] & padding) return j;
  return -1;
}

void clusterDecode(const ClusteredMatrix& w, float* out) {
  const ClusterView v = w.view();
  const ClusterKernels& k = ran("decode");
  for (int j = 0; j < v.n; j++) k.decode(v.row(j), v.bits, v.codebook(j), 0, v.k, out + size_t(j) * v.k);
}

void matmulClustered(const float* x, int m, const ClusteredMatrix& w, const float* bias, float* y) {
  const int n = w.n();
  if (m == 0) return;
  const ClusterView v = w.view();
  if (m > kFusedRows) {
    // Panels of 16 rows, each decoded row by row and written column-wise into the packed layout.
    const ClusterDecodeFn decode = ran("matmul").decode;
    const F32PanelPacker pack = [&](size_t q0, size_t q1, float* out) {
      thread_local Scratch rowScratch;
      float* row = static_cast<float*>(rowScratch.get(v.k * sizeof(float)));
      for (size_t q = q0; q < q1; q++) {
        float* panel = out + (q - q0) * 16 * v.k;
        for (int r = 0; r < 16; r++) {
          const int j = int(q) * 16 + r;
          if (j < n) decode(v.row(j), v.bits, v.codebook(j), 0, v.k, row);
          else std::memset(row, 0, v.k * sizeof(float));
          for (size_t p = 0; p < v.k; p++) panel[p * 16 + size_t(r)] = row[p];
        }
      }
    };
    linearF32Packed(x, m, n, int(v.k), pack, bias, y);
    return;
  }
  const ClusterMatmulFn fn = ran("matmul").matmul;
  const size_t work = size_t(m) * size_t(n) * v.k;
  const int pool = work < kSerialWork ? 1 : threads();
  // At most kFusedRows activation rows here: tasks are ranges of weight rows (multiples of 4), each
  // owning its outputs and summing each one alone, so the split never changes Y.
  int ranges = pool > 1 ? pool * kTasksPerThread : 1;
  const int step = std::min(n, ((n + ranges - 1) / ranges + 3) / 4 * 4);
  ranges = (n + step - 1) / step;
  auto task = [&](int t) { fn(x, v.k, m, v, t * step, std::min(n, (t + 1) * step), y, size_t(n)); };
  if (pool == 1 || ranges == 1) {
    for (int t = 0; t < ranges; t++) task(t);
  } else {
    parallelFor(ranges, task);
  }
  if (bias) {
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) y[size_t(i) * size_t(n) + size_t(j)] += bias[j];
  }
}

void clusterAssign(const float* v, size_t count, const float* centroids, int entries, uint8_t* codes) {
  float mids[255];
  for (int j = 0; j + 1 < entries; j++) mids[j] = (centroids[j] + centroids[j + 1]) * 0.5f;
  const int bounds = entries - 1;
  for (size_t i = 0; i < count; i++) {
    // The number of midpoints below v: a branch-free binary search over the sorted midpoints.
    const float x = v[i];
    int lo = 0, len = bounds;
    while (len > 0) {
      const int half = len / 2;
      if (mids[lo + half] < x) {
        lo += half + 1;
        len -= half + 1;
      } else {
        len = half;
      }
    }
    codes[i] = uint8_t(lo);
  }
}

}  // namespace sparq
