// Dispatch of the transformer ops (sparq/ops.h) to the active tier's kernels, split over the pool
// where the work is worth waking it for. Elementwise ops split at whole 16-element lines and row
// ops at row boundaries, so a result never depends on the split or the thread count.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>

#include "sparq/ops.h"
#include "sparq/runtime.h"

namespace sparq {

namespace {

std::atomic<const char*> gLastOpsKernel{nullptr};

constexpr size_t kParallelWork = size_t(1) << 16;  // elements (or element-steps) before the pool helps

// fn(i0, i1) over [0, count) in chunks, each a multiple of `grain` but the last.
template <typename Fn>
void forChunks(size_t count, size_t work, size_t grain, Fn fn) {
  const size_t most = (count + grain - 1) / grain;
  const int chunks = work < kParallelWork ? 1 : int(std::min<size_t>(most, size_t(threads()) * 4));
  if (chunks <= 1) {
    fn(size_t(0), count);
    return;
  }
  parallelFor(chunks, [&](int t) {
    const size_t lo = std::min(count, most * size_t(t) / size_t(chunks) * grain);
    const size_t hi = std::min(count, most * size_t(t + 1) / size_t(chunks) * grain);
    if (lo < hi) fn(lo, hi);
  });
}

}  // namespace

const OpsKernels& opsKernels() {
  const OpsKernels* kernels = &ops__scalar;
  switch (activeTier()) {
#ifdef SPARQ_BUILT_AVX2
    case Tier::avx2: kernels = &ops__avx2; break;
#endif
#ifdef SPARQ_BUILT_AVX512
    case Tier::avx512: kernels = &ops__avx512; break;
#endif
#ifdef SPARQ_BUILT_AVX512VNNI
    case Tier::avx512vnni: kernels = &ops__avx512; break;  // nothing here gains from VNNI
#endif
#ifdef SPARQ_BUILT_NEON
    case Tier::neon: kernels = &ops__neon; break;
#endif
#ifdef SPARQ_BUILT_NEONDOT
    case Tier::neondot:
    case Tier::i8mm: kernels = &ops__neon; break;
#endif
    default: break;
  }
  gLastOpsKernel.store(kernels->name, std::memory_order_relaxed);
  return *kernels;
}

const char* lastOpsKernel() { return gLastOpsKernel.load(std::memory_order_relaxed); }

void unaryOp(Unary op, const float* x, size_t n, float* y) {
  const OpsKernels& k = opsKernels();
  const size_t cost = op == Unary::relu ? 1 : 8;
  forChunks(n, n * cost, 16, [&](size_t lo, size_t hi) { k.unary(op, x + lo, hi - lo, y + lo); });
}

void addOp(const float* a, const float* b, size_t n, float* y) {
  const OpsKernels& k = opsKernels();
  forChunks(n, n, 16, [&](size_t lo, size_t hi) { k.add(a + lo, b + lo, hi - lo, y + lo); });
}

void addBiasOp(const float* x, int rows, int n, const float* bias, float* y) {
  const OpsKernels& k = opsKernels();
  forChunks(size_t(rows), size_t(rows) * size_t(n), 1, [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; r++) k.add(x + r * size_t(n), bias, size_t(n), y + r * size_t(n));
  });
}

void layerNormOp(const float* x, int rows, int d, const float* gamma, const float* beta, float eps, float* y) {
  const OpsKernels& k = opsKernels();
  forChunks(size_t(rows), size_t(rows) * size_t(d) * 4, 1, [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; r++) k.layerNormRow(x + r * size_t(d), d, gamma, beta, eps, y + r * size_t(d));
  });
}

void softmaxOp(const float* x, int rows, int n, const float* mask, bool maskRows, float* y) {
  const OpsKernels& k = opsKernels();
  forChunks(size_t(rows), size_t(rows) * size_t(n) * 8, 1, [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; r++) {
      const float* m = mask ? (maskRows ? mask + r * size_t(n) : mask) : nullptr;
      k.softmaxRow(x + r * size_t(n), n, m, y + r * size_t(n));
    }
  });
}

void gatherOp(const float* table, int d, const int* ids, int count, float* y) {
  opsKernels();  // a copy has no tier of its own; the call is still recorded
  for (int i = 0; i < count; i++) std::memcpy(y + size_t(i) * size_t(d), table + size_t(ids[i]) * size_t(d), size_t(d) * sizeof(float));
}

void meanPoolOp(const float* x, int d, const int* lengths, int segments, const unsigned char* keep, float* y) {
  const OpsKernels& k = opsKernels();
  size_t row = 0;
  for (int s = 0; s < segments; s++) {
    float* mean = y + size_t(s) * size_t(d);
    std::memset(mean, 0, size_t(d) * sizeof(float));
    int count = 0;
    for (int t = 0; t < lengths[s]; t++, row++) {
      if (keep && !keep[row]) continue;
      k.add(mean, x + row * size_t(d), size_t(d), mean);
      count++;
    }
    k.divide(mean, size_t(d), float(std::max(count, 1)), mean);
  }
}

bool attentionOp(const float* qkv, int tokens, int d, int heads, float scale, const int* lengths, int segments,
                 const unsigned char* keep, float* y) {
  const OpsKernels& k = opsKernels();
  const int depth = d / heads;
  const size_t stride = size_t(3) * size_t(d);
  std::unique_ptr<size_t[]> starts(new (std::nothrow) size_t[size_t(segments) + 1]);
  if (!starts) return false;
  starts[0] = 0;
  size_t work = 0;
  for (int s = 0; s < segments; s++) {
    starts[s + 1] = starts[s] + size_t(lengths[s]);
    work += size_t(lengths[s]) * size_t(lengths[s]) * size_t(d) * 2;
  }
  std::atomic<bool> ok{true};
  // One task per (segment, head); each has its own scratch: Kᵀ [depth×T], q' [depth], scores [T],
  // and the additive key mask [T].
  auto task = [&](int index) {
    const int s = index / heads, h = index % heads;
    const size_t at = starts[s];
    const int t = lengths[s];
    if (t == 0) return;
    const size_t bytes = (size_t(depth) * size_t(t) + size_t(depth) + 2 * size_t(t)) * sizeof(float);
    std::unique_ptr<float[]> scratch(new (std::nothrow) float[bytes / sizeof(float)]);
    if (!scratch) {
      ok = false;
      return;
    }
    float* kt = scratch.get();
    float* q = kt + size_t(depth) * size_t(t);
    float* scores = q + depth;
    float* mask = scores + t;
    bool masked = false;
    for (int j = 0; j < t; j++) {
      const bool kept = !keep || keep[at + size_t(j)];
      mask[j] = kept ? 0.0f : -__builtin_inff();
      masked |= !kept;
      const float* key = qkv + (at + size_t(j)) * stride + size_t(d) + size_t(h) * size_t(depth);
      for (int p = 0; p < depth; p++) kt[size_t(p) * size_t(t) + size_t(j)] = key[p];
    }
    const float* values = qkv + at * stride + size_t(2) * size_t(d) + size_t(h) * size_t(depth);
    for (int i = 0; i < t; i++) {
      const float* row = qkv + (at + size_t(i)) * stride;
      k.scale(row + size_t(h) * size_t(depth), size_t(depth), scale, q);
      k.accumulate(q, depth, kt, size_t(t), t, scores);
      k.softmaxRow(scores, t, masked ? mask : nullptr, scores);
      k.accumulate(scores, t, values, stride, depth, y + (at + size_t(i)) * size_t(d) + size_t(h) * size_t(depth));
    }
  };
  const int tasks = segments * heads;
  if (work < kParallelWork || tasks <= 1) {
    for (int i = 0; i < tasks; i++) task(i);
  } else {
    parallelFor(tasks, task);
  }
  return ok;
}

}  // namespace sparq
