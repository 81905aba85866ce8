// The quantized linear layer around the int8 GEMM: the weight quantizer, and the dispatch of the
// activation quantizer and f32 epilogue (sparq/linear_int8.h) around the GEMM. Every float step has
// a fixed order and is rounded to f32 (built with -ffp-contract=off), so results equal the TS
// reference bit for bit on every tier.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>

#include "sparq/gemm.h"
#include "sparq/linear_int8.h"

namespace sparq {

namespace {

std::atomic<const char*> gLastLinearKernel{nullptr};

// Round half to even (nearbyint in the default FP environment): the weight quantizer's rounding.
inline float roundHalfEven(float x) { return std::nearbyint(x); }

inline float clampf(float x, float lo, float hi) { return std::min(std::max(x, lo), hi); }

// fn(i0, i1) over chunks of rows, on the pool when the work (m·rowCost) is worth waking it for.
// Rows are independent, so the result does not depend on the split.
template <typename Fn>
void forRowChunks(int m, size_t rowCost, Fn fn) {
  const int chunks = size_t(m) * rowCost < (size_t(1) << 16) ? 1 : std::min(m, threads() * 4);
  if (chunks <= 1) {
    fn(0, m);
    return;
  }
  parallelFor(chunks, [&](int t) { fn(int(int64_t(m) * t / chunks), int(int64_t(m) * (t + 1) / chunks)); });
}

// The kernels of the active tier.
const LinearInt8Kernels& linearInt8Kernels() {
  switch (activeTier()) {
#ifdef SPARQ_BUILT_AVX2
    case Tier::avx2: return linear_int8__avx2;
#endif
#ifdef SPARQ_BUILT_AVX512
    case Tier::avx512: return linear_int8__avx512;
#endif
#ifdef SPARQ_BUILT_AVX512VNNI
    case Tier::avx512vnni: return linear_int8__avx512;  // the float steps gain nothing from VNNI
#endif
#ifdef SPARQ_BUILT_NEON
    case Tier::neon: return linear_int8__neon;
#endif
#ifdef SPARQ_BUILT_NEONDOT
    case Tier::neondot:
    case Tier::i8mm: return linear_int8__neon;
#endif
    default: return linear_int8__scalar;
  }
}

}  // namespace

const char* lastLinearInt8Kernel() { return gLastLinearKernel.load(std::memory_order_relaxed); }

bool quantizeRowsU8(const float* x, int m, int k, uint8_t* q, float* scale, int32_t* zeroPoint) {
  const LinearInt8Kernels& kernels = linearInt8Kernels();
  gLastLinearKernel.store(kernels.name, std::memory_order_relaxed);
  return kernels.quantizeRows(x, m, k, q, scale, zeroPoint);
}

bool codeRowsU8(const float* x, int m, int k, float scale, int32_t zeroPoint, uint8_t* q) {
  const LinearInt8Kernels& kernels = linearInt8Kernels();
  gLastLinearKernel.store(kernels.name, std::memory_order_relaxed);
  std::atomic<bool> finite{true};
  forRowChunks(m, size_t(k), [&](int i0, int i1) {
    const size_t at = size_t(i0) * size_t(k);
    if (!kernels.codeRows(x + at, i1 - i0, k, scale, float(zeroPoint), q + at)) finite = false;
  });
  return finite;
}

// Weights are quantized once, at construction: the scalar loop is fast enough there.
bool quantizeWeightsS8(const float* w, int n, int k, int8_t* q, float* scale) {
  for (int j = 0; j < n; j++) {
    const float* row = w + size_t(j) * size_t(k);
    float amax = 0.0f;
    for (int p = 0; p < k; p++) {
      if (!std::isfinite(row[p])) return false;
      amax = std::max(amax, std::fabs(row[p]));
    }
    float s = amax / 127.0f;
    if (s == 0.0f) s = 1.0f;
    scale[j] = s;
    int8_t* out = q + size_t(j) * size_t(k);
    for (int p = 0; p < k; p++) out[p] = int8_t(clampf(roundHalfEven(row[p] / s), -127.0f, 127.0f));
  }
  return true;
}

bool linearInt8(const float* x, int m, LinearInt8& layer, float* y) {
  PackedInt8& w = *layer.weight;
  const int n = w.n(), k = w.k();
  const LinearInt8Kernels& kernels = linearInt8Kernels();
  gLastLinearKernel.store(kernels.name, std::memory_order_relaxed);
  // Every element is written before it is read, so none of these buffers is zero-filled.
  std::unique_ptr<uint8_t[]> qa(new uint8_t[size_t(m) * size_t(k)]);
  std::unique_ptr<float[]> sa(new float[size_t(m)]);
  std::unique_ptr<int32_t[]> za(new int32_t[size_t(m)]);
  std::atomic<bool> finite{true};
  if (layer.staticActivations) std::fill_n(sa.get(), m, layer.activationScale), std::fill_n(za.get(), m, layer.activationZeroPoint);
  forRowChunks(m, size_t(k), [&](int i0, int i1) {
    const size_t at = size_t(i0) * size_t(k);
    const bool ok = layer.staticActivations
                        ? kernels.codeRows(x + at, i1 - i0, k, layer.activationScale, float(layer.activationZeroPoint), qa.get() + at)
                        : kernels.quantizeRows(x + at, i1 - i0, k, qa.get() + at, sa.get() + i0, za.get() + i0);
    if (!ok) finite = false;
  });
  if (!finite) return false;
  std::unique_ptr<int32_t[]> acc(new int32_t[size_t(m) * size_t(n)]);
  gemmU8S8(qa.get(), m, w, 0, acc.get());
  const int32_t* rowSums = w.rowSums();
  const float* sw = layer.scale.data();
  const float* bias = layer.bias.empty() ? nullptr : layer.bias.data();
  forRowChunks(m, size_t(n), [&](int i0, int i1) {
    for (int i = i0; i < i1; i++)
      kernels.epilogueRow(acc.get() + size_t(i) * size_t(n), rowSums, uint32_t(za[i]), sa[i], sw, bias, n, y + size_t(i) * size_t(n));
  });
  return true;
}

}  // namespace sparq
