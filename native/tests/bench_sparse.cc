// Micro-benchmark of the sparse CSR kernels, for tuning (speed is never asserted in tests).
// For every tier this CPU runs: SpMV and SpMM (n = 1, 8, 64) through sparq::spmv / sparq::spmm on a
// 4096×4096 matrix with random (uniform) sparsity 90%, 50% and 99%, for f32 / int8 values and u32
// / u16 indices, one thread (and two with --threads 2). Prints GFLOP/s (2·nnz·n per call) and GB/s
// of the bytes a call must read (indptr + indices + values (+ scales) + x or B + y or C), the
// dense f32 GEMM of the SpMM n = 8 shape next to it, and cold SpMV at 90%: each call on another
// matrix, rotating over ≥ 96 MB, next to a plain read of the same buffers (the machine's ceiling).
// The variants of one point run in alternating batches (bench_timing.h); each prints the median
// batch and the best one.
//   bench_sparse                       all tiers, every point
//   bench_sparse --tier avx512         one tier only (repeatable)
//   bench_sparse --sparsity 0.9        only this sparsity (repeatable)
//   bench_sparse --threads 2           this pool size too (repeatable; default 1)
//   bench_sparse --no-cold / --cold-only / --full (longer batches)
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench_timing.h"
#include "sparq/gemm_f32.h"
#include "sparq/runtime.h"
#include "sparq/sparse.h"

using namespace sparq;
using namespace sparq::bench;

namespace {

int gBatches = 7;
double gBatchSeconds = 0.04;
constexpr int kSize = 4096;

// xorshift64*: fast enough to draw 16 M coin flips per matrix.
struct Random {
  uint64_t s;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
  }
  float uniform() { return float(next() >> 40) * (2.0f / 16777216.0f) - 1.0f; }  // [−1, 1)
};

// rows×cols, each element kept with probability `density`, values uniform in [−1, 1).
std::shared_ptr<CsrMatrix> randomCsr(int rows, int cols, double density, uint64_t seed) {
  Random rng{seed * 0x9E3779B97F4A7C15ULL + 1};
  const uint64_t keep = uint64_t(density * 16777216.0);
  std::vector<int32_t> indptr{0}, indices;
  std::vector<float> values;
  indices.reserve(size_t(double(rows) * cols * density * 1.01) + 64);
  values.reserve(indices.capacity());
  for (int i = 0; i < rows; i++) {
    for (int c = 0; c < cols; c++)
      if ((rng.next() >> 40) < keep) {
        indices.push_back(c);
        values.push_back(rng.uniform());
      }
    indptr.push_back(int32_t(indices.size()));
  }
  std::string error;
  return csrFromArrays(rows, cols, indptr.data(), indptr.size(), indices.data(), indices.size(), values.data(),
                       values.size(), SparseValues::f32, nullptr, SparseIndex::u32, &error);
}

std::shared_ptr<CsrMatrix> convert(const CsrMatrix& a, SparseValues values, SparseIndex index) {
  std::string error;
  auto b = csrWithIndex(a, index, &error);  // a copy even when the index width is the same
  return values == SparseValues::i8 ? csrQuantizeValues(*b) : b;
}

std::string typeName(const CsrMatrix& a) {
  return std::string(a.valueType() == SparseValues::i8 ? "i8" : "f32") + "/" +
         (a.indexType() == SparseIndex::u16 ? "u16" : "u32");
}

struct Options {
  std::vector<Tier> tiers;
  std::vector<double> sparsities = {0.9, 0.5, 0.99};
  std::vector<int> threads = {1};
  bool hot = true, cold = true;
};

void report(const char* op, const CsrMatrix& a, double sparsity, int n, const std::vector<Variant>& variants,
            double flops, double bytes) {
  std::printf("  %-5s %-7s sparsity %4.2f n=%-3d", op, typeName(a).c_str(), sparsity, n);
  for (const auto& v : variants)
    std::printf("  %s %7.3f ms (%7.3f) %6.1f GFLOP/s %6.1f GB/s", v.label.c_str(), v.median() * 1e3, v.best() * 1e3,
                flops / v.median() * 1e-9, bytes / v.median() * 1e-9);
  std::printf("  [%s]\n", lastSparseKernel().c_str());
  std::fflush(stdout);
}

void benchHot(const Options& o, const CsrMatrix& a, double sparsity) {
  Random rng{99};
  std::vector<float> b(size_t(kSize) * 64), c(size_t(kSize) * 64);
  for (auto& v : b) v = rng.uniform();
  const double nnz = double(a.nnz());
  for (int n : {0, 1, 8, 64}) {  // n = 0: spmv
    std::vector<Variant> variants;
    for (int t : o.threads) {
      if (n == 0)
        variants.push_back({std::to_string(t) + "T", t, [&] { spmv(a, b.data(), c.data()); }, {}});
      else
        variants.push_back({std::to_string(t) + "T", t, [&, n] { spmm(a, b.data(), n, c.data()); }, {}});
    }
    measure(variants, gBatches, gBatchSeconds);
    const int width = std::max(n, 1);
    const double bytes = double(a.bytes()) + 4.0 * width * (a.cols() + a.rows());
    report(n == 0 ? "spmv" : "spmm", a, sparsity, width, variants, 2.0 * nnz * width, bytes);
  }
}

// The dense f32 GEMM of the SpMM n = 8 shape, C[4096×8] = A[4096×4096]·B[4096×8], both ways the
// library offers it (gemmF32, and linearF32 on the transposed problem Y[8×4096] = X·Wᵀ).
void benchDense() {
  Random rng{5};
  std::vector<float> a(size_t(kSize) * kSize), b(size_t(kSize) * 8), c(size_t(kSize) * 8);
  for (auto& v : a) v = rng.uniform();
  for (auto& v : b) v = rng.uniform();
  PackedF32 packed(a.data(), kSize, kSize);
  std::vector<Variant> variants = {
      {"gemmF32", 1, [&] { gemmF32(a.data(), b.data(), kSize, 8, kSize, false, false, c.data()); }, {}},
      {"linearF32", 1, [&] { linearF32(b.data(), 8, packed, nullptr, c.data()); }, {}},
  };
  measure(variants, gBatches, gBatchSeconds);
  const double flops = 2.0 * kSize * kSize * 8;
  std::printf("  dense f32 4096×4096 · 4096×8:");
  for (const auto& v : variants)
    std::printf("  %s %7.3f ms (%7.3f) %6.1f GFLOP/s", v.label.c_str(), v.median() * 1e3, v.best() * 1e3,
                flops / v.median() * 1e-9);
  std::printf("  [%s]\n", lastF32GemmKernel());
  std::fflush(stdout);
}

// SpMV with the matrix coming from DRAM: rotate over ≥ 96 MB of distinct matrices.
void benchCold(const std::vector<std::shared_ptr<CsrMatrix>>& base, SparseValues values, SparseIndex index) {
  std::vector<std::shared_ptr<CsrMatrix>> ms;
  size_t total = 0;
  for (size_t i = 0; total < (size_t(96) << 20) || ms.size() < 2; i++) {
    ms.push_back(convert(*base[i % base.size()], values, index));
    total += ms.back()->bytes();
  }
  Random rng{3};
  std::vector<float> x(kSize), y(kSize);
  for (auto& v : x) v = rng.uniform();
  size_t next = 0, nextRead = 0;
  double sink = 0;
  const double perCall = double(total) / double(ms.size()) + 4.0 * 2 * kSize;
  std::vector<Variant> variants = {
      // The ceiling one thread gets right now: a plain sum over the same buffers.
      {"read", 1,
       [&] {
         const CsrMatrix& a = *ms[nextRead++ % ms.size()];
         const size_t bytes[3] = {(size_t(a.rows()) + 1) * 4, a.nnz() * (index == SparseIndex::u16 ? 2 : 4),
                                  a.nnz() * (values == SparseValues::i8 ? 1 : 4)};
         const void* at[3] = {a.indptr(), a.indices(), a.values()};
         uint64_t acc[4] = {0, 0, 0, 0};
         for (int s = 0; s < 3; s++) {
           const uint64_t* p = static_cast<const uint64_t*>(at[s]);
           for (size_t w = 0; w + 4 <= bytes[s] / 8; w += 4) {
             acc[0] += p[w];
             acc[1] += p[w + 1];
             acc[2] += p[w + 2];
             acc[3] += p[w + 3];
           }
         }
         sink += double(acc[0] + acc[1] + acc[2] + acc[3]);
       },
       {}},
      {"spmv", 1, [&] { spmv(*ms[next++ % ms.size()], x.data(), y.data()); }, {}},
  };
  measure(variants, gBatches, gBatchSeconds * 2);
  std::printf("  cold spmv %-7s sparsity 0.90 over %zu matrices (%.0f MB):", typeName(*ms[0]).c_str(), ms.size(),
              double(total) / 1048576.0);
  for (const auto& v : variants)
    std::printf("  %s %7.3f ms (%7.3f) %6.1f GB/s", v.label.c_str(), v.median() * 1e3, v.best() * 1e3,
                perCall / v.median() * 1e-9);
  std::printf("  [%s]%s\n", lastSparseKernel().c_str(), sink == 0.12345 ? " " : "");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool sparsityGiven = false, threadsGiven = false;
  for (int i = 1; i < argc; i++) {
    const std::string arg = argv[i];
    const bool hasValue = i + 1 < argc;
    if (arg == "--full") {
      gBatches = 15;
      gBatchSeconds = 0.1;
    } else if (arg == "--tier" && hasValue) {
      Tier t;
      if (!tierFromName(argv[++i], &t)) return std::fprintf(stderr, "unknown tier %s\n", argv[i]), 2;
      o.tiers.push_back(t);
    } else if (arg == "--sparsity" && hasValue) {
      if (!sparsityGiven) o.sparsities.clear();
      sparsityGiven = true;
      o.sparsities.push_back(std::atof(argv[++i]));
    } else if (arg == "--threads" && hasValue) {
      if (!threadsGiven) o.threads.clear();
      threadsGiven = true;
      o.threads.push_back(std::atoi(argv[++i]));
    } else if (arg == "--no-cold") {
      o.cold = false;
    } else if (arg == "--cold-only") {
      o.hot = false;
    } else {
      std::fprintf(stderr, "unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  if (o.tiers.empty()) o.tiers = cpuInfo().supported;
  // Matrices shared by every tier: per sparsity one f32/u32 matrix (hot), and for cold enough
  // distinct 90% matrices to pass 96 MB in the narrowest storage (int8/u16: 3 B per entry).
  std::vector<std::pair<double, std::shared_ptr<CsrMatrix>>> hot;
  if (o.hot)
    for (double s : o.sparsities) hot.push_back({s, randomCsr(kSize, kSize, 1.0 - s, uint64_t(s * 1000))});
  std::vector<std::shared_ptr<CsrMatrix>> coldBase;
  if (o.cold)
    for (int i = 0; i < 8; i++) coldBase.push_back(randomCsr(kSize, kSize, 0.1, 1000 + uint64_t(i)));
  for (Tier tier : o.tiers) {
    if (!setTierCap(tier)) {
      std::printf("tier %s: not supported here, skipped\n", tierName(tier));
      continue;
    }
    std::printf("tier %s (sparse kernels %s), threads", tierName(tier), sparseKernels().tier);
    for (int t : o.threads) std::printf(" %d", t);
    std::printf("\n");
    for (const auto& [sparsity, base] : hot) {
      for (SparseValues values : {SparseValues::f32, SparseValues::i8})
        for (SparseIndex index : {SparseIndex::u32, SparseIndex::u16}) benchHot(o, *convert(*base, values, index), sparsity);
    }
    if (o.hot) benchDense();
    if (o.cold)
      for (SparseValues values : {SparseValues::f32, SparseValues::i8})
        for (SparseIndex index : {SparseIndex::u32, SparseIndex::u16}) benchCold(coldBase, values, index);
  }
  clearTierCap();
  return 0;
}
