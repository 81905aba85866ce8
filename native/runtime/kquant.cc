// Dispatch and driver of the K-quant matmul: the per-tier table, q8_K activations split across
// the pool, and the tiles of matmulQuantized.
#include <atomic>
#include <vector>

#include "sparq/kquant.h"
#include "sparq/runtime.h"

namespace sparq {
namespace {

const KQuantKernels& kquantKernels() {
  switch (activeTier()) {
#ifdef SPARQ_BUILT_AVX2
    case Tier::avx2: return kquant__avx2;
#endif
#ifdef SPARQ_BUILT_AVX512
    case Tier::avx512: return kquant__avx512;
#endif
#ifdef SPARQ_BUILT_AVX512VNNI
    case Tier::avx512vnni: return kquant__avx512vnni;
#endif
#ifdef SPARQ_BUILT_NEON
    case Tier::neon: return kquant__neon;
#endif
#ifdef SPARQ_BUILT_NEONDOT
    case Tier::neondot:
    case Tier::i8mm: return kquant__neondot;
#endif
    default: return kquant__scalar;
  }
}

}  // namespace

bool matmulKQuant(const float* x, int m, const QuantizedMatrix& w, Precision precision, float* y) {
  const int n = w.n();
  const size_t k = w.k(), blocks = k / kSuperBlock;
  const QWeights weights = w.weights();
  const KQuantKernels& tier = kquantKernels();
  const int f = kIndex(w.format());
  if (precision == Precision::f32) {
    MatmulF32Fn fn = tier.f32[f] ? tier.f32[f] : kquant__scalar.f32[f];
    recordQuantKernel("matmulF32", int(w.format()), tier.f32[f] ? tier.tier : kquant__scalar.tier);
    forMatmulTiles(m, n, k, [&](int i0, int rows, int n0, int n1) {
      fn(x + size_t(i0) * k, k, rows, weights, n0, n1, y + size_t(i0) * size_t(n), size_t(n));
    });
    return true;
  }
  std::vector<int8_t> q(size_t(m) * k);
  std::vector<float> d(size_t(m) * blocks);
  std::vector<int16_t> bsums(size_t(m) * blocks * kKGroups);
  std::atomic<bool> finite{true};
  // Activations are cheap next to the product (m·k against m·n·k), so they stay serial below a
  // few rows per thread.
  auto quantizeRows = [&](int i) {
    if (!kq::quantizeActRow(x + size_t(i) * k, k, q.data() + size_t(i) * k, d.data() + size_t(i) * blocks,
                            bsums.data() + size_t(i) * blocks * kKGroups))
      finite.store(false);
  };
  if (m >= 8 && threads() > 1) {
    parallelFor(m, quantizeRows);
  } else {
    for (int i = 0; i < m; i++) quantizeRows(i);
  }
  if (!finite.load()) return false;
  MatmulInt8KFn fn = tier.int8[f] ? tier.int8[f] : kquant__scalar.int8[f];
  recordQuantKernel("matmulInt8", int(w.format()), tier.int8[f] ? tier.tier : kquant__scalar.tier);
  forMatmulTiles(m, n, k, [&](int i0, int rows, int n0, int n1) {
    const ActRowsK a{q.data() + size_t(i0) * k, d.data() + size_t(i0) * blocks,
                     bsums.data() + size_t(i0) * blocks * kKGroups, k};
    fn(a, rows, weights, n0, n1, y + size_t(i0) * size_t(n), size_t(n));
  });
  return true;
}

}  // namespace sparq
