// Cross-checks the dense f32 GEMM: every kernel built for this architecture (and runnable on this
// CPU) against gemmF32__scalar bit for bit, and every result within the DESIGN.md §3 bound of a
// double-precision product. Kernels are called directly on strided views (odd offsets, lda > k,
// ldc > cols, B packed and B read in place with ldb > n) with canaries all around C; the driver
// (linearF32 with and without bias, gemmF32 with B [k×n] and B [n×k]) on the shape grid, with 1 and
// 2 threads giving the same bits. Run natively, under sanitizers and under qemu. `--quick`
// shrinks the grid. Exit code = number of failures (capped at 255).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "sparq/gemm_f32.h"
#include "sparq/runtime.h"

#include "check.h"

using namespace sparq;
using namespace sparq::check;

namespace {

std::mt19937 rng(20261124);
const float kCanary = -1.2345678e30f;

std::string shape(int m, int n, int k) {
  return "m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k);
}

// Random values over a few binades, with exact zeros of both signs sprinkled in.
std::vector<float> randomFloats(size_t count) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> pick(0, 31);
  std::vector<float> v(count);
  for (auto& x : v) {
    const int r = pick(rng);
    x = r == 0 ? 0.0f : r == 1 ? -0.0f : std::ldexp(normal(rng), r % 7 - 3);
  }
  return v;
}

// Σ a·b in double and Σ|a·b| for the §3 bound, per element of A[m×k]·W[n×k]ᵀ.
struct Reference {
  std::vector<double> sum, abs;
};

Reference reference(const std::vector<float>& a, const std::vector<float>& w, int m, int n, int k) {
  Reference r{std::vector<double>(size_t(m) * n), std::vector<double>(size_t(m) * n)};
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double s = 0, t = 0;
      for (int p = 0; p < k; p++) {
        const double term = double(a[size_t(i) * k + p]) * double(w[size_t(j) * k + p]);
        s += term;
        t += std::fabs(term);
      }
      r.sum[size_t(i) * n + j] = s;
      r.abs[size_t(i) * n + j] = t;
    }
  return r;
}

// |y − ref| ≤ 2·terms·2⁻²⁴·Σ|tᵢ| for every element (bias, when given, is one more term).
void checkBound(const float* y, const Reference& ref, const float* bias, int m, int n, int k, const std::string& where) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      const size_t at = size_t(i) * n + j;
      double want = ref.sum[at], abs = ref.abs[at];
      int terms = k;
      if (bias) {
        want += bias[j];
        abs += std::fabs(double(bias[j]));
        terms++;
      }
      const double bound = 2.0 * terms * std::ldexp(1.0, -24) * abs;
      if (!(std::fabs(double(y[at]) - want) <= bound)) {
        fail("bound " + where + " at (" + std::to_string(i) + "," + std::to_string(j) + "): got " +
             std::to_string(y[at]) + " want " + std::to_string(want) + " ± " + std::to_string(bound));
        return;
      }
    }
}

// Runs `kernel` on A[m×k] · W[n×k]ᵀ with every operand offset and strided, B either packed or
// read in place as B [k×n] (ldb = n + 3); returns C (m×n) and checks the canaries around it.
std::vector<float> runKernel(const F32GemmKernels& kernel, const std::vector<float>& a, const std::vector<float>& w,
                             const PackedF32& packed, int m, int n, int k, bool inPlace, const std::string& where) {
  const size_t lda = size_t(k) + 5, ldc = size_t(n) + 7, ldb = size_t(n) + 3;
  std::vector<float> as(1 + size_t(m) * lda, kCanary);
  for (int i = 0; i < m; i++) std::memcpy(&as[1 + i * lda], &a[size_t(i) * k], size_t(k) * 4);
  std::vector<float> rows;  // B [k×n] with stride ldb, sized exactly, so ASan sees any over-read
  F32Panels view = packed.view();
  if (inPlace) {
    rows.assign(k ? size_t(k) * ldb - (ldb - size_t(n)) + 1 : 1, kCanary);
    for (int p = 0; p < k; p++)
      for (int j = 0; j < n; j++) rows[1 + size_t(p) * ldb + j] = w[size_t(j) * k + p];
    view = F32Panels{rows.data() + 1, size_t(kF32Panel), ldb, packed.panels(), n};
  }
  const size_t guard = 37;
  std::vector<float> cs(2 * guard + size_t(m) * ldc, kCanary);
  float* c = cs.data() + guard;
  kernel.gemm(as.data() + 1, lda, m, size_t(k), view, c, ldc);
  std::vector<float> out(size_t(m) * n);
  for (size_t at = 0; at < cs.size(); at++) {
    const bool inside = at >= guard && at < guard + size_t(m) * ldc && (at - guard) % ldc < size_t(n);
    if (!inside && !sameFloat(cs[at], kCanary)) {
      fail("write outside C " + where);
      break;
    }
    if (inside) out[(at - guard) / ldc * n + (at - guard) % ldc] = cs[at];
  }
  return out;
}

void compareBits(const std::vector<float>& want, const std::vector<float>& got, int n, const std::string& where) {
  for (size_t at = 0; at < want.size(); at++)
    if (!sameFloat(want[at], got[at])) {
      fail("bits " + where + " at (" + std::to_string(at / n) + "," + std::to_string(at % n) + "): " +
           std::to_string(got[at]) + " vs scalar " + std::to_string(want[at]));
      return;
    }
}

std::vector<const F32GemmKernels*> simdKernels() {
  std::vector<const F32GemmKernels*> out;
  for (Tier tier : cpuInfo().supported) {
    setTierCap(tier);
    const F32GemmKernels& k = f32GemmKernels();
    if (&k != &gemmF32__scalar && (out.empty() || out.back() != &k)) out.push_back(&k);
  }
  clearTierCap();
  return out;
}

// Kernel level: every SIMD kernel bit-identical to the scalar one, which is within the bound.
void checkKernels(const std::vector<const F32GemmKernels*>& kernels, int m, int n, int k) {
  const auto a = randomFloats(size_t(m) * k), w = randomFloats(size_t(n) * k);
  const PackedF32 packed(w.data(), n, k);
  const Reference ref = reference(a, w, m, n, k);
  for (bool inPlace : {false, true}) {
    const std::string where = shape(m, n, k) + (inPlace ? " B in place" : " B packed");
    const auto want = runKernel(gemmF32__scalar, a, w, packed, m, n, k, inPlace, "scalar " + where);
    checkBound(want.data(), ref, nullptr, m, n, k, "scalar " + where);
    for (const F32GemmKernels* kernel : kernels)
      compareBits(want, runKernel(*kernel, a, w, packed, m, n, k, inPlace, kernel->tier + (" " + where)), n,
                  kernel->tier + (" " + where));
  }
}

// Driver: linearF32 (± bias), gemmF32 (B [k×n] and B [n×k]) on every tier, against the scalar tier's bits.
void checkDriver(int m, int n, int k) {
  const auto a = randomFloats(size_t(m) * k), w = randomFloats(size_t(n) * k), bias = randomFloats(size_t(n));
  std::vector<float> b(size_t(k) * n);  // Wᵀ, for gemmF32 without transB
  for (int j = 0; j < n; j++)
    for (int p = 0; p < k; p++) b[size_t(p) * n + j] = w[size_t(j) * k + p];
  const PackedF32 packed(w.data(), n, k);
  std::vector<float> back(size_t(n) * k);
  packed.unpack(back.data());
  if (std::memcmp(back.data(), w.data(), back.size() * 4) != 0) fail("unpack " + shape(m, n, k));
  const Reference ref = reference(a, w, m, n, k);
  const char* names[] = {"linearF32", "linearF32+bias", "gemmF32", "gemmF32 transB"};
  for (int variant = 0; variant < 4; variant++) {
    std::vector<float> want;
    for (Tier tier : cpuInfo().supported) {
      setTierCap(tier);
      const std::string where = std::string(names[variant]) + " " + tierName(tier) + " " + shape(m, n, k);
      const size_t guard = 19;
      std::vector<float> ys(size_t(m) * n + 2 * guard, kCanary);
      float* y = ys.data() + guard;
      switch (variant) {
        case 0: linearF32(a.data(), m, packed, nullptr, y); break;
        case 1: linearF32(a.data(), m, packed, bias.data(), y); break;
        case 2: gemmF32(a.data(), b.data(), m, n, k, false, false, y); break;
        default: gemmF32(a.data(), w.data(), m, n, k, true, false, y); break;
      }
      for (size_t g = 0; g < guard; g++)
        if (!sameFloat(ys[g], kCanary) || !sameFloat(ys[ys.size() - 1 - g], kCanary)) {
          fail("write outside Y " + where);
          break;
        }
      const std::string expected = std::string("gemm_f32__") + f32GemmKernels().tier;
      if (!lastF32GemmKernel() || expected != lastF32GemmKernel())
        fail("ran " + std::string(lastF32GemmKernel() ? lastF32GemmKernel() : "nothing") + ", wanted " + expected + " " + where);
      std::vector<float> got(y, y + size_t(m) * n);
      checkBound(got.data(), ref, variant == 1 ? bias.data() : nullptr, m, n, k, where);
      if (tier == Tier::scalar) want = got;
      else compareBits(want, got, n, where);
    }
    clearTierCap();
  }
}

// The same bits with 1 and 2 threads, on shapes big enough to be split across the pool.
void checkThreads(int m, int n, int k) {
  const auto a = randomFloats(size_t(m) * k), w = randomFloats(size_t(n) * k);
  const PackedF32 packed(w.data(), n, k);
  for (Tier tier : cpuInfo().supported) {
    setTierCap(tier);
    std::vector<float> one(size_t(m) * n), two(size_t(m) * n), oneT(size_t(m) * n), twoT(size_t(m) * n);
    setThreads(1);
    linearF32(a.data(), m, packed, nullptr, one.data());
    gemmF32(a.data(), w.data(), m, n, k, true, false, oneT.data());
    setThreads(2);
    linearF32(a.data(), m, packed, nullptr, two.data());
    gemmF32(a.data(), w.data(), m, n, k, true, false, twoT.data());
    const std::string where = std::string(tierName(tier)) + " " + shape(m, n, k);
    compareBits(one, two, n, "threads 1 vs 2 linearF32 " + where);
    compareBits(oneT, twoT, n, "threads 1 vs 2 gemmF32 transB " + where);
  }
  clearTierCap();
}

// Infinities, NaN, subnormals and signed zeros: the same bits (any NaN for NaN) on every kernel.
void checkSpecialValues(const std::vector<const F32GemmKernels*>& kernels) {
  const int m = 7, n = 35, k = 19;
  auto a = randomFloats(size_t(m) * k), w = randomFloats(size_t(n) * k);
  a[3] = INFINITY;
  a[k + 5] = std::nanf("");
  a[2 * k + 1] = 1e-40f;
  w[4 * k + 2] = -INFINITY;
  w[9 * k + 7] = 3e-39f;
  for (int p = 0; p < k; p++) a[size_t(5) * k + p] = -0.0f;  // row 5: every product ±0
  for (int p = 0; p < k; p++) a[size_t(6) * k + p] = std::ldexp(1.0f, 100 + p % 3);  // overflow to ±Inf
  const PackedF32 packed(w.data(), n, k);
  const auto want = runKernel(gemmF32__scalar, a, w, packed, m, n, k, false, "scalar special");
  for (int j = 0; j < n; j++)  // (column 4 holds −Inf: −0·−Inf is NaN)
    if (j != 4 && !sameFloat(want[size_t(5) * n + j], 0.0f)) fail("special: a row of −0 must sum to +0");
  for (const F32GemmKernels* kernel : kernels)
    compareBits(want, runKernel(*kernel, a, w, packed, m, n, k, false, kernel->tier + std::string(" special")), n,
                kernel->tier + std::string(" special"));
}

// k = 0: the kernel writes +0 over exactly m×cols.
void checkEmptyDepth(const std::vector<const F32GemmKernels*>& kernels) {
  std::vector<const F32GemmKernels*> all = kernels;
  all.push_back(&gemmF32__scalar);
  const int m = 3, n = 21;
  const std::vector<float> a(1), w(1);
  const PackedF32 packed(w.data(), n, 0);
  for (const F32GemmKernels* kernel : all) {
    const auto got = runKernel(*kernel, a, w, packed, m, n, 0, true, kernel->tier + std::string(" k=0"));
    for (float v : got)
      if (!sameFloat(v, 0.0f)) {
        fail(kernel->tier + std::string(" k=0 must write +0"));
        break;
      }
  }
}

}  // namespace

int main(int argc, char** argv) {
  parseArgs(argc, argv);
  const auto kernels = simdKernels();
  std::printf("kernels:");
  for (auto* k : kernels) std::printf(" %s", k->tier);
  std::printf("%s\n", kernels.empty() ? " none (only scalar on this CPU)" : "");

  // Kernel grid: tile edges of every tier (AVX-512 12 rows × 32 columns, AVX2 6 × 16, NEON 8 × …),
  // the GEMV/GEMM switch at m = 4/5, the k-block edges at 256 and 512.
  const std::vector<int> ms = quick ? std::vector<int>{1, 2, 4, 5, 7, 12, 13, 17, 33}
                                    : std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
                                                       23, 24, 25, 31, 32, 33, 63, 64, 65};
  const std::vector<int> ns = quick ? std::vector<int>{1, 15, 16, 17, 33, 48, 65}
                                    : std::vector<int>{1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 129};
  const std::vector<int> ks = quick ? std::vector<int>{1, 3, 16, 33, 257}
                                    : std::vector<int>{1, 2, 5, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 257, 513};
  for (int m : ms)
    for (int n : ns)
      for (int k : ks) {
        if (!quick && m * n * k > 2000000) continue;
        checkKernels(kernels, m, n, k);
      }
  // GEMV shapes: long streams of B, several panel groups, a partial last group.
  for (auto s : quick ? std::vector<std::vector<int>>{{1, 300, 1000}, {3, 129, 700}}
                      : std::vector<std::vector<int>>{{1, 4096, 1024}, {1, 1000, 4096}, {2, 520, 2049}, {3, 264, 3000},
                                                      {4, 777, 1500}})
    checkKernels(kernels, s[0], s[1], s[2]);
  checkSpecialValues(kernels);
  checkEmptyDepth(kernels);

  // Driver: row blocks (144) and panel slices, bias, both gemmF32 layouts, the pack switch at m = 16.
  for (auto s : quick ? std::vector<std::vector<int>>{{1, 17, 5}, {5, 33, 17}, {16, 40, 31}, {20, 70, 64}, {150, 90, 40}}
                      : std::vector<std::vector<int>>{{1, 1, 1}, {1, 17, 5}, {3, 65, 257}, {5, 33, 17}, {15, 47, 31},
                                                      {16, 40, 31}, {17, 64, 63}, {33, 129, 65}, {143, 33, 300},
                                                      {145, 200, 100}, {300, 65, 129}, {1, 2000, 600}, {64, 530, 260}})
    checkDriver(s[0], s[1], s[2]);
  for (auto s : quick ? std::vector<std::vector<int>>{{150, 200, 64}, {1, 4100, 300}}
                      : std::vector<std::vector<int>>{{150, 200, 64}, {1, 4100, 300}, {290, 700, 300}, {7, 2000, 700}})
    checkThreads(s[0], s[1], s[2]);
  setThreads(defaultThreads());

  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "ok", failures);
  return failures > 255 ? 255 : failures;
}
