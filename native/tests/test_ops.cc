// The transformer ops' approximations against the exact functions (double libm), swept over the
// floats, and every built tier this CPU runs against the scalar kernel bit for bit on the same
// inputs. The bounds asserted here are the ones docs/nn.md states; the TS tests hold the native ops
// to lib/reference/ops.ts bit for bit, so the bounds carry over to every tier and to the reference.
// Full run: every 31st float of [−100, 100] (the bounds below were measured over every 3rd, 4.7
// minutes); --quick: every 1009th.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "check.h"
#include "sparq/ops.h"
#include "sparq/runtime.h"

using namespace sparq;

namespace {

double ulpOf(double v) {  // an f32 ulp at |v| (the subnormal ulp below 2⁻¹²⁶)
  const double a = std::fabs(v);
  if (a < std::ldexp(1.0, -126)) return std::ldexp(1.0, -149);
  return std::ldexp(1.0, std::ilogb(a) - 23);
}

double phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

struct Case {
  const char* name;
  Unary op;
  double (*exact)(double);
  bool absolute;  // error measured as |y − exact| / |x| (GELU-erf), else in ulps of the exact value
  double bound;   // the stated bound
  // The argument t of e^{−t} when it is itself rounded to f32 first (tanh-GELU's 2u): its rounding
  // error is amplified by |t|, so the bound there is `bound`·(1 + |t|) ulps.
  double (*rounded)(double) = nullptr;
};

const Case kCases[] = {
    {"exp", Unary::exp, [](double x) { return std::exp(x); }, false, 2.0},
    {"tanh", Unary::tanh, [](double x) { return std::tanh(x); }, false, 3.0},
    {"sigmoid", Unary::sigmoid, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, false, 3.0},
    {"silu", Unary::silu, [](double x) { return x / (1.0 + std::exp(-x)); }, false, 3.0},
    {"geluTanh", Unary::geluTanh,
     // ½x(1 + tanh u) as x/(1 + e^{−2u}): in double the tanh form cancels to 0 for x ≪ 0.
     [](double x) { return x / (1.0 + std::exp(-2.0 * std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))); }, false, 4.0,
     [](double x) { return 2.0 * std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x); }},
    {"geluErf", Unary::geluErf, [](double x) { return x * phi(x); }, true, 4e-7},
};

// The floats swept: every `stride`-th bit pattern of [−100, 100] (beyond it every op has saturated).
std::vector<float> sweep(uint32_t stride) {
  std::vector<float> xs;
  for (uint32_t sign = 0; sign < 2; sign++) {
    for (uint32_t bits = 0; bits <= 0x42c80000u; bits += stride) {  // 0 … 100
      float x;
      const uint32_t b = bits | (sign << 31);
      std::memcpy(&x, &b, 4);
      xs.push_back(x);
    }
  }
  for (float x : {-INFINITY, INFINITY, NAN, -0.0f, 0.0f, 1e30f, -1e30f, -87.33654f, 88.72283f, -87.3366f, 88.7229f}) xs.push_back(x);
  return xs;
}

const OpsKernels* tierKernels(Tier t) {
  switch (t) {
#ifdef SPARQ_BUILT_AVX2
    case Tier::avx2: return &ops__avx2;
#endif
#ifdef SPARQ_BUILT_AVX512
    case Tier::avx512: return &ops__avx512;
#endif
#ifdef SPARQ_BUILT_NEON
    case Tier::neon: return &ops__neon;
#endif
    default: return nullptr;
  }
}

}  // namespace

int main(int argc, char** argv) {
  check::parseArgs(argc, argv);
  const std::vector<float> xs = sweep(check::quick ? 1009 : 31);
  std::vector<float> y(xs.size()), other(xs.size());
  for (const Case& c : kCases) {
    ops__scalar.unary(c.op, xs.data(), xs.size(), y.data());
    double worst = 0, at = 0;
    for (size_t i = 0; i < xs.size(); i++) {
      const double x = xs[i];
      if (std::isnan(x)) {
        if (!std::isnan(y[i])) check::fail(std::string(c.name) + "(NaN) is not NaN");
        continue;
      }
      const double e = c.exact(x);
      if (c.op == Unary::exp && (x < -87.33654f || x > 88.72283f)) {  // the stated saturation
        if (y[i] != (x < 0 ? 0.0f : INFINITY)) check::fail(std::string("exp saturation at ") + std::to_string(x));
        continue;
      }
      if (std::isinf(x)) {  // the limits: 0 or ±∞ (silu and GELU at −∞ are −0)
        const double limit = std::isnan(e) ? 0.0 : e;
        if (double(y[i]) != limit) check::fail(std::string(c.name) + " at ±∞: " + std::to_string(y[i]));
        continue;
      }
      if (std::isinf(e)) {
        if (double(y[i]) != e && !(std::isinf(x) && std::fabs(double(y[i]) - e) <= 1e-300)) {
          if (!(c.absolute && std::isinf(x))) check::fail(std::string(c.name) + " at ±∞: " + std::to_string(y[i]));
        }
        continue;
      }
      // Results below 2⁻¹²⁶·max(1, |x|) may be flushed to zero (e^{−t} under- or overflows there);
      // GELU-erf's ½x may lose 2⁻¹⁴⁹ more.
      const double delta = std::fabs(double(y[i]) - e), tiny = std::ldexp(1.0, -126) * std::max(1.0, std::fabs(x));
      if (!c.absolute && std::fabs(e) < tiny) {
        if (delta > tiny) check::fail(std::string(c.name) + " below the normal range at x = " + std::to_string(x));
        continue;
      }
      const double err = c.absolute ? (x == 0 ? delta : std::max(0.0, delta - std::ldexp(1.0, -149)) / std::fabs(x))
                                    : delta / ulpOf(e) / (c.rounded ? 1.0 + std::fabs(c.rounded(x)) : 1.0);
      if (err > worst) worst = err, at = x;
    }
    std::printf("%-9s worst %s %.4g at x = %.9g (bound %.4g)\n", c.name,
                c.absolute ? "|Δ|/|x|" : c.rounded ? "ulps/(1 + |2u|)" : "ulps", worst, at, c.bound);
    if (!(worst <= c.bound)) check::fail(std::string(c.name) + " exceeds its stated bound");
    // Every tier this CPU runs: the same bits as the scalar kernel.
    for (Tier t : cpuInfo().supported) {
      const OpsKernels* k = tierKernels(t);
      if (!k) continue;
      k->unary(c.op, xs.data(), xs.size(), other.data());
      for (size_t i = 0; i < xs.size(); i++)
        if (!check::sameFloat(other[i], y[i])) {
          check::fail(std::string(k->name) + " " + c.name + " differs from scalar at x = " + std::to_string(xs[i]));
          break;
        }
    }
  }
  if (check::failures) {
    std::fprintf(stderr, "%d failures\n", check::failures);
    return 1;
  }
  std::printf("ops: approximations within their bounds; every tier equal to scalar\n");
  return 0;
}
