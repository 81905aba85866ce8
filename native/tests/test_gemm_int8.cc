// Cross-checks every int8 GEMM kernel built for this architecture (and runnable on this CPU)
// against gemm_int8__scalar, at tolerance 0, over a shape grid and edge values.
// Run natively, under sanitizers, and under qemu-aarch64. Exit code = number of failures.
#include <algorithm>
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

// The scalar kernel reads A as u8. A kernel that reads A as s8 gets A ^ 0x80 (= a − 128 as s8)
// and +128·Σ_p B[j][p] folded into colOffset, exactly as the dispatcher does; both then owe the
// same C.
struct InKernelSign {
  InKernelSign(const Int8GemmKernel& kernel, const std::vector<uint8_t>& a, const std::vector<int8_t>& b, int n,
               int k, const int32_t* colOffset)
      : a_(a.data()), colOffset_(colOffset) {
    if (kernel.aSign == gemm_int8__scalar.aSign) return;
    flippedA_.resize(a.size());
    for (size_t i = 0; i < a.size(); i++) flippedA_[i] = a[i] ^ 0x80;
    shiftedOffset_.resize(size_t(n));
    for (int j = 0; j < n; j++) {
      uint32_t rowSum = 0;
      for (int p = 0; p < k; p++) rowSum += uint32_t(int32_t(b[size_t(j) * k + p]));
      shiftedOffset_[j] = int32_t((colOffset ? uint32_t(colOffset[j]) : 0u) + 128u * rowSum);
    }
  }
  const uint8_t* a() const { return flippedA_.empty() ? a_ : flippedA_.data(); }
  const int32_t* colOffset() const { return shiftedOffset_.empty() ? colOffset_ : shiftedOffset_.data(); }

 private:
  const uint8_t* a_;
  const int32_t* colOffset_;
  std::vector<uint8_t> flippedA_;
  std::vector<int32_t> shiftedOffset_;
};

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
  const InKernelSign in(*cand.kernel, a, b, n, k, off);
  // Whole range, then a split at panel boundaries (as the dispatcher does).
  for (int split = 0; split < 2; split++) {
    std::fill(got.begin(), got.end(), 0x5a5a5a5a);
    if (split == 0) {
      cand.kernel->run(in.a(), k, packed.data(), n, k, m, 0, n, in.colOffset(), got.data(), n);
    } else {
      const int step = cand.kernel->panelRows;
      for (int n0 = 0; n0 < n; n0 += step)
        cand.kernel->run(in.a(), k, packed.data(), n, k, m, n0, std::min(n, n0 + step), in.colOffset(), got.data(),
                         n);
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

// One n range [n0, n1) of C with strided A and C: the range must match scalar, and every other
// element of C (other columns, the gaps between rows) must keep its sentinel. A's gap bytes are
// random, as a caller's would be.
void checkRange(const Candidate& cand, int m, int n, int k, int lda, int ldc, int n0, int n1, bool withOffset,
                std::mt19937& rng) {
  std::vector<uint8_t> a(size_t(m - 1) * lda + k);
  std::vector<int8_t> b(size_t(n) * k);
  for (auto& v : a) v = uint8_t(rng());
  for (auto& v : b) v = int8_t(rng());
  std::vector<int32_t> offset(n);
  for (auto& o : offset) o = int32_t(rng());
  const int32_t* off = withOffset ? offset.data() : nullptr;
  auto refPacked = packWith(gemm_int8__scalar, b, n, k);
  auto packed = packWith(*cand.kernel, b, n, k);
  std::vector<int32_t> want(size_t(m) * ldc, 0x5a5a5a5a), got(size_t(m) * ldc, 0x5a5a5a5a);
  gemm_int8__scalar.run(a.data(), lda, refPacked.data(), n, k, m, n0, n1, off, want.data(), ldc);
  const InKernelSign in(*cand.kernel, a, b, n, k, off);
  cand.kernel->run(in.a(), lda, packed.data(), n, k, m, n0, n1, in.colOffset(), got.data(), ldc);
  cases++;
  for (size_t i = 0; i < got.size(); i++) {
    if (got[i] != want[i]) {
      std::printf("FAIL %s (range) m=%d n=%d k=%d lda=%d ldc=%d n0=%d n1=%d offset=%d: C[%zu][%zu] = %d, want %d\n",
                  cand.kernel->name, m, n, k, lda, ldc, n0, n1, int(withOffset), i / ldc, i % ldc, got[i], want[i]);
      failures++;
      return;
    }
  }
}

// Kernels that share a layout id must pack byte-identical buffers (they share one packed copy).
void checkSharedLayouts(const std::vector<Candidate>& cands, std::mt19937& rng) {
  for (size_t x = 0; x < cands.size(); x++)
    for (size_t y = x + 1; y < cands.size(); y++) {
      const Int8GemmKernel &p = *cands[x].kernel, &q = *cands[y].kernel;
      if (p.layout != q.layout) continue;
      for (int n : {1, 15, 16, 17, 33})
        for (int k : {1, 2, 3, 4, 5, 31, 64, 65}) {
          std::vector<int8_t> b(size_t(n) * k);
          for (auto& v : b) v = int8_t(rng());
          cases++;
          if (p.packedBytes(n, k) != q.packedBytes(n, k) || packWith(p, b, n, k) != packWith(q, b, n, k)) {
            std::printf("FAIL %s and %s share layout %d but pack n=%d k=%d differently\n", p.name, q.name, p.layout, n,
                        k);
            failures++;
          }
        }
    }
}

// Through the dispatcher (packed-weight cache, signedness flip, tiling over the pool): the same C
// with 1 and 2 threads, equal to the scalar kernel, and the tier's kernel really ran.
void checkDispatch(const Candidate& cand, std::mt19937& rng) {
  setTierCap(cand.tier);
  const int shapes[][3] = {{1, 300, 4096}, {70, 200, 1000}, {130, 257, 33}, {512, 64, 64}, {3, 1000, 7}};
  for (const auto& shape : shapes) {
    const int m = shape[0], n = shape[1], k = shape[2];
    std::vector<uint8_t> a(size_t(m) * k);
    std::vector<int8_t> b(size_t(n) * k);
    for (auto& v : a) v = uint8_t(rng());
    for (auto& v : b) v = int8_t(rng());
    PackedInt8 w(b.data(), n, k);
    const int32_t zeroPoint = int32_t(rng() % 256);
    std::vector<int32_t> offset(n);  // (A − zp)·Bᵀ = A·Bᵀ − zp·rowSum
    for (int j = 0; j < n; j++) offset[j] = int32_t(0u - uint32_t(zeroPoint) * uint32_t(w.rowSums()[j]));
    std::vector<int32_t> want(size_t(m) * n), got(size_t(m) * n);
    const uint8_t* rows = reinterpret_cast<const uint8_t*>(b.data());  // the scalar layout is B as given
    gemm_int8__scalar.run(a.data(), k, rows, n, k, m, 0, n, offset.data(), want.data(), n);
    for (int threadCount : {1, 2}) {
      setThreads(threadCount);
      std::fill(got.begin(), got.end(), 0x5a5a5a5a);
      gemmU8S8(a.data(), m, w, zeroPoint, got.data());
      cases++;
      const bool ran = std::strcmp(lastInt8GemmKernel(), cand.kernel->name) == 0;
      if (got != want || !ran) {
        std::printf("FAIL dispatch on %s (%s ran) m=%d n=%d k=%d threads=%d: %s\n", cand.kernel->name,
                    lastInt8GemmKernel(), m, n, k, threadCount, ran ? "C differs from scalar" : "wrong kernel");
        failures++;
      }
    }
  }
  setThreads(defaultThreads());
  clearTierCap();
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
    for (int k : {1, 3, 4, 5, 7, 130, 1027})
      for (int m : {1, 5, 8, 9, 17})
        for (int n : {1, 16, 40, 70, 200}) {
          const int step = cand.kernel->panelRows;
          const int n0 = std::uniform_int_distribution<int>(0, (n - 1) / step)(rng) * step;
          const int n1 = std::uniform_int_distribution<int>(n0 + 1, n)(rng);
          checkRange(cand, m, n, k, k + int(rng() % 9), n + int(rng() % 5), n0, n1, (m + k) % 2 == 1, rng);
        }
    // Extremes over a full register tile and a tail, with a wrapping column offset.
    for (int k : {4093, kMaxK}) {
      const int m = 9, n = 40;
      std::vector<uint8_t> a(size_t(m) * k, 255);
      std::vector<int8_t> b(size_t(n) * k, -128);
      for (int j = 0; j < n; j += 3) std::memset(b.data() + size_t(j) * k, 127, k);
      check(cand, a, b, m, n, k, "extremes", true, rng);
    }
    checkDispatch(cand, rng);
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
  checkSharedLayouts(cands, rng);
  std::printf("%d passed, %d failed\n", cases - failures, failures);
  return failures ? 1 : 0;
}
