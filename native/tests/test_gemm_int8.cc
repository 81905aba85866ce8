// Cross-checks every int8 GEMM kernel built for this architecture (and runnable on this CPU)
// against gemm_int8__scalar, at tolerance 0, over a shape grid and edge values.
// Run natively, under sanitizers, and under qemu-aarch64. Exit code = number of failures.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "sparq/gemm.h"

using namespace sparq;

namespace {

struct Candidate {
  Tier tier;
  const Int8GemmKernel* kernel;
};

std::vector<Candidate> candidates() {
  std::vector<Candidate> out;
  for (Tier t : cpuInfo().supported) {
    if (t == Tier::scalar) continue;
    setTierCap(t);
    out.push_back({t, &int8GemmKernel()});
  }
  clearTierCap();
  return out;
}

std::vector<uint8_t> packWith(const Int8GemmKernel& kernel, const std::vector<int8_t>& b, int n, int k) {
  std::vector<uint8_t> packed(kernel.packedBytes(n, k) + 64);
  kernel.pack(b.data(), n, k, packed.data());
  return packed;
}

int failures = 0, cases = 0;

void check(const Candidate& cand, const std::vector<uint8_t>& a, const std::vector<int8_t>& b, int m, int n, int k,
           const char* what, bool withOffset, std::mt19937& rng) {
  std::vector<int32_t> offset(n);
  for (auto& o : offset) o = int32_t(rng());
  const int32_t* off = withOffset ? offset.data() : nullptr;
  std::vector<int32_t> want(size_t(m) * n, 0x5a5a5a5a), got(size_t(m) * n + 16, 0x5a5a5a5a);
  auto refPacked = packWith(gemm_int8__scalar, b, n, k);
  gemm_int8__scalar.run(a.data(), k, refPacked.data(), n, k, m, 0, n, off, want.data(), n);
  auto packed = packWith(*cand.kernel, b, n, k);
  // Whole range, then a split at panel boundaries (as the dispatcher does).
  for (int split = 0; split < 2; split++) {
    std::fill(got.begin(), got.end(), 0x5a5a5a5a);
    if (split == 0) {
      cand.kernel->run(a.data(), k, packed.data(), n, k, m, 0, n, off, got.data(), n);
    } else {
      const int step = cand.kernel->panelRows;
      for (int n0 = 0; n0 < n; n0 += step)
        cand.kernel->run(a.data(), k, packed.data(), n, k, m, n0, std::min(n, n0 + step), off, got.data(), n);
    }
    cases++;
    for (size_t i = 0; i < size_t(m) * n; i++) {
      if (got[i] != want[i]) {
        std::printf("FAIL %s (%s) m=%d n=%d k=%d offset=%d split=%d: C[%zu][%zu] = %d, scalar %d\n",
                    cand.kernel->name, what, m, n, k, int(withOffset), split, i / n, i % n, got[i], want[i]);
        failures++;
        return;
      }
    }
    for (size_t i = size_t(m) * n; i < got.size(); i++) {
      if (got[i] != 0x5a5a5a5a) {
        std::printf("FAIL %s wrote past C (m=%d n=%d k=%d)\n", cand.kernel->name, m, n, k);
        failures++;
        return;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  auto cands = candidates();
  std::printf("arch %s, kernels under test:", cpuInfo().arch.c_str());
  for (auto& c : cands) std::printf(" %s", c.kernel->name);
  std::printf("\n");
  if (cands.empty()) {
    std::printf("no SIMD tier is built and supported here: nothing to cross-check\n");
    return 0;
  }
  std::vector<int> dims = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65};
  std::vector<int> ks = {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000};
  if (quick) {
    dims = {1, 3, 16, 17, 33};
    ks = {1, 4, 5, 64, 65, 257};
  }
  std::mt19937 rng(12345);
  for (const auto& cand : cands) {
    for (int m : dims)
      for (int n : dims)
        for (int k : ks) {
          std::vector<uint8_t> a(size_t(m) * k);
          std::vector<int8_t> b(size_t(n) * k);
          for (auto& v : a) v = uint8_t(rng());
          for (auto& v : b) v = int8_t(rng());
          check(cand, a, b, m, n, k, "random", (m + n + k) % 2 == 0, rng);
        }
    // Extremes: every product at its largest magnitude, K at the exactness limit.
    const int bigK[] = {4096, kMaxK};
    for (int k : bigK) {
      for (int m : {1, 3}) {
        const int n = 33;
        std::vector<uint8_t> a(size_t(m) * k, 255);
        std::vector<int8_t> b(size_t(n) * k, -128);
        for (int j = 0; j < n; j += 2) std::memset(b.data() + size_t(j) * k, 127, k);
        check(cand, a, b, m, n, k, "extremes", false, rng);
        std::vector<uint8_t> zeros(size_t(m) * k, 0);
        check(cand, zeros, b, m, n, k, "zeros", true, rng);
      }
    }
    // GEMV-like and tall shapes.
    for (int m : {1, 2, 4, 8, 65, 130})
      for (int n : {47, 257})
        for (int k : {511, 4096}) {
          std::vector<uint8_t> a(size_t(m) * k);
          std::vector<int8_t> b(size_t(n) * k);
          for (auto& v : a) v = uint8_t(rng());
          for (auto& v : b) v = int8_t(rng());
          check(cand, a, b, m, n, k, "tall", true, rng);
        }
  }
  std::printf("%d passed, %d failed\n", cases - failures, failures);
  return failures ? 1 : 0;
}
