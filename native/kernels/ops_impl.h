// The transformer ops (contract: sparq/ops.h), written once over a vector type V and compiled per
// tier: ops__scalar.cc (V = one float), ops__avx2.cc (8), ops__avx512.cc (16), ops__neon.cc (4).
// Every lane runs the same IEEE operations in the same order as the one-float V, so tails (run
// with that V) and every tier equal the scalar kernel bit for bit.
//
// V provides: T, M (a lane mask), W (lanes), load, store, set, add, sub, mul, div, max, min,
// roundEven, pow2 (2^n for whole n in [−64, 64]), lt, gt, isNaN, select(m, a, b) (a where m),
// abs, copySign(magnitude, sign).
//
// Internal linkage on purpose (as in quant_matmul_x86.h): each tier's translation unit compiles its
// own copy with its own -m flags, and no inline function shared between them is instantiated here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sparq/ops.h"

namespace sparq {
namespace {

// The one-float V, for the scalar tier and every other tier's tails.
struct Scalar {
  using T = float;
  using M = bool;
  static constexpr int W = 1;
  static T load(const float* p) { return *p; }
  static void store(float* p, T v) { *p = v; }
  static T set(float v) { return v; }
  static T add(T a, T b) { return a + b; }
  static T sub(T a, T b) { return a - b; }
  static T mul(T a, T b) { return a * b; }
  static T div(T a, T b) { return a / b; }
  // As x86's maxps/minps: the second operand unless the first is greater (less).
  static T max(T a, T b) { return a > b ? a : b; }
  static T min(T a, T b) { return a < b ? a : b; }
  static T roundEven(T a) { return __builtin_nearbyintf(a); }
  static T pow2(T n) {
    const uint32_t bits = uint32_t(int32_t(n) + 127) << 23;
    float v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  static M lt(T a, T b) { return a < b; }
  static M gt(T a, T b) { return a > b; }
  static M isNaN(T a) { return a != a; }
  static T select(M m, T a, T b) { return m ? a : b; }
  static T abs(T a) { return __builtin_fabsf(a); }
  static T copySign(T magnitude, T sign) { return __builtin_copysignf(magnitude, sign); }
};

// Constants (published: Cephes expf/tanhf, Abramowitz & Stegun 7.1.26 for erf).
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;       // 9 bits: n·kLn2Hi is exact for |n| ≤ 128
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kExpLo = -87.33654f;          // below: e^x is subnormal, the result +0
constexpr float kExpHi = 88.72283f;           // above: +∞
constexpr float kExpP[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                            4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
constexpr float kTanhSmall = 0.625f;
constexpr float kTanhP[5] = {-5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f, 1.33314422036e-1f,
                             -3.33332819422e-1f};
constexpr float kErfP = 0.3275911f;
constexpr float kErfA[5] = {0.254829592f, -0.284496736f, 1.421413741f, -1.453152027f, 1.061405429f};
constexpr float kSqrtHalf = 0.70710678118654752f;
constexpr float kGeluTanhC = 0.79788456080286536f;  // √(2/π)
constexpr float kGeluTanhA = 0.044715f;

template <class V>
typename V::T expV(typename V::T x) {
  using T = typename V::T;
  const T xc = V::min(V::max(x, V::set(kExpLo)), V::set(kExpHi));
  const T n = V::roundEven(V::mul(xc, V::set(kLog2e)));
  T r = V::sub(xc, V::mul(n, V::set(kLn2Hi)));
  r = V::sub(r, V::mul(n, V::set(kLn2Lo)));
  T p = V::set(kExpP[0]);
  for (int i = 1; i < 6; i++) p = V::add(V::mul(p, r), V::set(kExpP[i]));
  T y = V::add(V::add(V::mul(V::mul(p, r), r), r), V::set(1.0f));
  const T half = V::roundEven(V::mul(n, V::set(0.5f)));
  y = V::mul(V::mul(y, V::pow2(half)), V::pow2(V::sub(n, half)));
  y = V::select(V::lt(x, V::set(kExpLo)), V::set(0.0f), y);
  y = V::select(V::gt(x, V::set(kExpHi)), V::set(__builtin_inff()), y);
  return V::select(V::isNaN(x), x, y);
}

// |x| < 0.625: x + x·z·P(z), z = x²; else sign(x)·(1 − 2/(e^{2|x|} + 1)).
template <class V>
typename V::T tanhV(typename V::T x) {
  using T = typename V::T;
  const T ax = V::abs(x);
  const T z = V::mul(x, x);
  T p = V::set(kTanhP[0]);
  for (int i = 1; i < 5; i++) p = V::add(V::mul(p, z), V::set(kTanhP[i]));
  const T small = V::add(V::mul(V::mul(p, z), x), x);
  const T e = expV<V>(V::add(ax, ax));
  const T large = V::copySign(V::sub(V::set(1.0f), V::div(V::set(2.0f), V::add(e, V::set(1.0f)))), x);
  return V::select(V::isNaN(x), x, V::select(V::lt(ax, V::set(kTanhSmall)), small, large));
}

// x / (1 + e^{−t}): sigmoid (x = 1, t = x), SiLU (t = x), and tanh-GELU, since
// ½(1 + tanh(u)) = 1/(1 + e^{−2u}) (the form that does not cancel for negative u).
template <class V>
typename V::T overOnePlusExp(typename V::T x, typename V::T t) {
  using T = typename V::T;
  T y = V::div(x, V::add(V::set(1.0f), expV<V>(V::sub(V::set(0.0f), t))));
  y = V::select(V::lt(x, V::set(-3.40282347e38f)), V::set(-0.0f), y);  // −∞/∞: the limit, −0
  return V::select(V::isNaN(t), t, y);
}

// x·Φ(x) = ½x(1 + erf(x/√2)). With t = |x|/√2, s = 1/(1 + p·t) and q = s·P(s)·e^{−t²} (≈ erfc t),
// 1 + erf(x/√2) is 2 − q for x ≥ 0 and q for x < 0, so negative x never cancels.
template <class V>
typename V::T geluErfV(typename V::T x) {
  using T = typename V::T;
  const T t = V::mul(V::abs(x), V::set(kSqrtHalf));
  const T s = V::div(V::set(1.0f), V::add(V::set(1.0f), V::mul(V::set(kErfP), t)));
  T p = V::set(kErfA[4]);
  for (int i = 3; i >= 0; i--) p = V::add(V::mul(p, s), V::set(kErfA[i]));
  const T q = V::mul(V::mul(p, s), expV<V>(V::sub(V::set(0.0f), V::mul(t, t))));
  const T onePlusErf = V::select(V::lt(x, V::set(0.0f)), q, V::sub(V::set(2.0f), q));
  const T y = V::select(V::lt(x, V::set(-3.40282347e38f)), V::set(-0.0f), V::mul(V::mul(V::set(0.5f), x), onePlusErf));
  return V::select(V::isNaN(x), x, y);  // −∞ gives its limit, −0, not −∞·0
}

template <class V>
typename V::T unaryV(Unary op, typename V::T x) {
  using T = typename V::T;
  switch (op) {
    case Unary::relu: return V::select(V::isNaN(x), x, V::select(V::gt(x, V::set(0.0f)), x, V::set(0.0f)));
    case Unary::tanh: return tanhV<V>(x);
    case Unary::sigmoid: return overOnePlusExp<V>(V::select(V::isNaN(x), x, V::set(1.0f)), x);
    case Unary::silu: return overOnePlusExp<V>(x, x);
    case Unary::geluErf: return geluErfV<V>(x);
    case Unary::geluTanh: {
      const T inner = V::mul(V::set(kGeluTanhC), V::add(x, V::mul(V::set(kGeluTanhA), V::mul(V::mul(x, x), x))));
      return overOnePlusExp<V>(x, V::add(inner, inner));
    }
    case Unary::exp: return expV<V>(x);
  }
  return x;
}

template <class V>
void unaryKernel(Unary op, const float* x, size_t n, float* y) {
  size_t i = 0;
  for (; i + V::W <= n; i += V::W) V::store(y + i, unaryV<V>(op, V::load(x + i)));
  for (; i < n; i++) y[i] = unaryV<Scalar>(op, x[i]);
}

template <class V>
void addKernel(const float* a, const float* b, size_t n, float* y) {
  size_t i = 0;
  for (; i + V::W <= n; i += V::W) V::store(y + i, V::add(V::load(a + i), V::load(b + i)));
  for (; i < n; i++) y[i] = a[i] + b[i];
}

template <class V>
void scaleKernel(const float* x, size_t n, float s, float* y) {
  size_t i = 0;
  for (; i + V::W <= n; i += V::W) V::store(y + i, V::mul(V::load(x + i), V::set(s)));
  for (; i < n; i++) y[i] = x[i] * s;
}

template <class V>
void divideKernel(const float* x, size_t n, float s, float* y) {
  size_t i = 0;
  for (; i + V::W <= n; i += V::W) V::store(y + i, V::div(V::load(x + i), V::set(s)));
  for (; i < n; i++) y[i] = x[i] / s;
}

// Functors over an index, run with V (W lanes) or Scalar (one): what reduce16 and eachLine apply.
struct Load {
  const float* x;
  template <class U>
  typename U::T operator()(size_t i) const { return U::load(x + i); }
};

struct Square {  // (x − μ)²
  const float* x;
  float mean;
  template <class U>
  typename U::T operator()(size_t i) const {
    const typename U::T e = U::sub(U::load(x + i), U::set(mean));
    return U::mul(e, e);
  }
};

struct Normalize {  // y = (γ·r)·(x − μ) + β
  const float *x, *gamma, *beta;
  float* y;
  float mean, inverse;
  template <class U>
  void operator()(size_t i) const {
    const typename U::T e = U::sub(U::load(x + i), U::set(mean));
    U::store(y + i, U::add(U::mul(U::mul(U::load(gamma + i), U::set(inverse)), e), U::load(beta + i)));
  }
};

struct ExpMinus {  // y = exp(y − m)
  float* y;
  float max;
  template <class U>
  void operator()(size_t i) const { U::store(y + i, expV<U>(U::sub(U::load(y + i), U::set(max)))); }
};

// Elementwise f over n values, W at a time, the tail one at a time.
template <class V, class F>
void eachLine(size_t n, const F& f) {
  size_t i = 0;
  for (; i + V::W <= n; i += V::W) f.template operator()<V>(i);
  for (; i < n; i++) f.template operator()<Scalar>(i);
}

inline float combine(bool max, float a, float b) { return max ? Scalar::max(a, b) : a + b; }

// The 16-lane reduction of sparq/ops.h over f(i) for i in [0, n), by addition or by max.
template <class V, bool Max, class F>
float reduce16(size_t n, const F& f) {
  float lanes[16];
  if (n < 16) {
    // Fewer than 16 elements: lane l holds element l; lanes past n sit out of the fold.
    for (size_t l = 0; l < n; l++) lanes[l] = f.template operator()<Scalar>(l);
    for (size_t w = 8; w >= 1; w >>= 1)
      for (size_t l = 0; l < w && l + w < n; l++) lanes[l] = combine(Max, lanes[l], lanes[l + w]);
    return lanes[0];
  }
  constexpr int R = 16 / V::W;
  typename V::T acc[R];
  for (int r = 0; r < R; r++) acc[r] = f.template operator()<V>(size_t(r) * V::W);
  size_t i = 16;
  for (; i + 16 <= n; i += 16)
    for (int r = 0; r < R; r++) {
      const typename V::T v = f.template operator()<V>(i + size_t(r) * V::W);
      acc[r] = Max ? V::max(acc[r], v) : V::add(acc[r], v);
    }
  for (int r = 0; r < R; r++) V::store(lanes + r * V::W, acc[r]);
  for (size_t l = 0; i + l < n; l++) lanes[l] = combine(Max, lanes[l], f.template operator()<Scalar>(i + l));
  for (size_t w = 8; w >= 1; w >>= 1)
    for (size_t l = 0; l < w; l++) lanes[l] = combine(Max, lanes[l], lanes[l + w]);
  return lanes[0];
}

template <class V>
void layerNormRowKernel(const float* x, int d, const float* gamma, const float* beta, float eps, float* y) {
  const float mean = reduce16<V, false>(size_t(d), Load{x}) / float(d);
  const float variance = reduce16<V, false>(size_t(d), Square{x, mean}) / float(d);
  const float inverse = 1.0f / __builtin_sqrtf(variance + eps);
  eachLine<V>(size_t(d), Normalize{x, gamma, beta, y, mean, inverse});
}

template <class V>
void softmaxRowKernel(const float* x, int n, const float* mask, float* y) {
  if (mask) addKernel<V>(x, mask, size_t(n), y);
  else if (y != x) std::memcpy(y, x, size_t(n) * sizeof(float));
  const float max = reduce16<V, true>(size_t(n), Load{y});
  if (max == -__builtin_inff()) {
    std::memset(y, 0, size_t(n) * sizeof(float));
    return;
  }
  eachLine<V>(size_t(n), ExpMinus{y, max});
  divideKernel<V>(y, size_t(n), reduce16<V, false>(size_t(n), Load{y}), y);
}

// y[j] = Σ_q a[q]·b[q·ldb + j] in q order from +0. Four vectors of outputs at a time, so four
// independent chains hide the add latency; each output's chain is the same as alone.
template <class V>
void accumulateKernel(const float* a, int p, const float* b, size_t ldb, int n, float* y) {
  using T = typename V::T;
  int j = 0;
  for (; j + 4 * V::W <= n; j += 4 * V::W) {
    T acc[4] = {V::set(0.0f), V::set(0.0f), V::set(0.0f), V::set(0.0f)};
    for (int q = 0; q < p; q++) {
      const T aq = V::set(a[q]);
      const float* row = b + size_t(q) * ldb + size_t(j);
      for (int u = 0; u < 4; u++) acc[u] = V::add(acc[u], V::mul(aq, V::load(row + u * V::W)));
    }
    for (int u = 0; u < 4; u++) V::store(y + j + u * V::W, acc[u]);
  }
  for (; j + V::W <= n; j += V::W) {
    T acc = V::set(0.0f);
    for (int q = 0; q < p; q++) acc = V::add(acc, V::mul(V::set(a[q]), V::load(b + size_t(q) * ldb + size_t(j))));
    V::store(y + j, acc);
  }
  for (; j < n; j++) {
    float acc = 0.0f;
    for (int q = 0; q < p; q++) acc = acc + a[q] * b[size_t(q) * ldb + size_t(j)];
    y[j] = acc;
  }
}

template <class V>
constexpr OpsKernels makeOpsKernels(const char* name) {
  return OpsKernels{name,
                    unaryKernel<V>,
                    addKernel<V>,
                    scaleKernel<V>,
                    divideKernel<V>,
                    layerNormRowKernel<V>,
                    softmaxRowKernel<V>,
                    accumulateKernel<V>};
}

}  // namespace
}  // namespace sparq
