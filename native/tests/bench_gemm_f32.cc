// Micro-benchmark of the dense f32 GEMM tiers, for tuning (speed is never asserted in tests).
// For every SIMD tier this CPU runs and each shape: GFLOP/s (2·m·n·k per call) of linearF32 (W
// packed beforehand), gemmF32 with B [k×n] and gemmF32 with B [n×k] (transB; both pack per call
// when they choose to), with 1 and 2 threads. For m = 1 it also prints the GB/s of W read and a
// plain sum over the same bytes as the ceiling (W is 64 MB at 4096², larger than any cache).
// The variants of one point run in alternating batches, so a noisy neighbour hits them alike;
// each prints the median batch and the best one.
//   bench_gemm_f32                     all SIMD tiers, default shapes
//   bench_gemm_f32 --full              more and longer batches
//   bench_gemm_f32 --tier avx512       one tier only (repeatable; scalar allowed)
//   bench_gemm_f32 --shape m,n,k       these shapes only (repeatable)
//   bench_gemm_f32 --threads 1         only this pool size (repeatable)
//   bench_gemm_f32 --linear            linearF32 only
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_timing.h"
#include "sparq/gemm_f32.h"
#include "sparq/runtime.h"

using namespace sparq;
using namespace sparq::bench;

namespace {

int gBatches = 9;
double gBatchSeconds = 0.1;

struct Options {
  std::vector<int> threads = {1, 2};
  bool linearOnly = false;
};

void benchShape(const Options& o, const Shape& s) {
  std::mt19937 rng(uint32_t(s.m * 7919 + s.n * 31 + s.k));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> a(size_t(s.m) * s.k), w(size_t(s.n) * s.k), bt(size_t(s.k) * s.n), c(size_t(s.m) * s.n);
  for (auto& v : a) v = normal(rng);
  for (auto& v : w) v = normal(rng);
  for (int j = 0; j < s.n; j++)
    for (int p = 0; p < s.k; p++) bt[size_t(p) * s.n + j] = w[size_t(j) * s.k + p];
  const PackedF32 packed(w.data(), s.n, s.k);
  std::vector<Variant> variants;
  uint64_t sink = 0;
  if (s.m == 1) {
    // The ceiling this machine gives one thread right now: a plain sum over the packed W.
    variants.push_back({"read", 1,
                        [&] {
                          const uint64_t* words = reinterpret_cast<const uint64_t*>(packed.data());
                          uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                          for (size_t i = 0; i + 4 <= packed.bytes() / 8; i += 4) {
                            s0 += words[i];
                            s1 += words[i + 1];
                            s2 += words[i + 2];
                            s3 += words[i + 3];
                          }
                          sink += s0 ^ s1 ^ s2 ^ s3;
                        },
                        {}});
  }
  for (int t : o.threads)
    variants.push_back({"linear " + std::to_string(t) + "T", t, [&] { linearF32(a.data(), s.m, packed, nullptr, c.data()); }, {}});
  if (!o.linearOnly) {
    for (int t : o.threads)
      variants.push_back({"gemm " + std::to_string(t) + "T", t,
                          [&] { gemmF32(a.data(), bt.data(), s.m, s.n, s.k, false, false, c.data()); }, {}});
    for (int t : o.threads)
      variants.push_back({"gemmT " + std::to_string(t) + "T", t,
                          [&] { gemmF32(a.data(), w.data(), s.m, s.n, s.k, true, false, c.data()); }, {}});
  }
  measure(variants, gBatches, gBatchSeconds);
  const double flops = 2.0 * s.m * s.n * s.k;
  std::printf("  m=%-4d n=%-5d k=%-5d GFLOP/s median (best):", s.m, s.n, s.k);
  for (const auto& v : variants) {
    if (v.label == "read") continue;
    std::printf("  %s %6.1f (%6.1f)", v.label.c_str(), flops / v.median() * 1e-9, flops / v.best() * 1e-9);
  }
  std::printf("  [%s]\n", lastF32GemmKernel());
  if (s.m == 1) {
    std::printf("  m=%-4d n=%-5d k=%-5d GB/s of W, median (best):", s.m, s.n, s.k);
    for (const auto& v : variants)
      if (v.label == "read" || v.label.rfind("linear", 0) == 0)
        std::printf("  %s %5.1f (%5.1f)", v.label.c_str(), packed.bytes() / v.median() * 1e-9,
                    packed.bytes() / v.best() * 1e-9);
    std::printf("%s\n", sink == 42 ? " " : "");
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> tiers;
  std::vector<Shape> shapes;
  std::vector<int> threads;
  Options o;
  for (int i = 1; i < argc; i++) {
    const std::string arg = argv[i];
    const bool more = i + 1 < argc;
    if (arg == "--full") {
      gBatches = 21;
      gBatchSeconds = 0.2;
    } else if (arg == "--linear") {
      o.linearOnly = true;
    } else if (arg == "--tier" && more) {
      tiers.push_back(argv[++i]);
    } else if (arg == "--threads" && more) {
      threads.push_back(std::atoi(argv[++i]));
    } else if (arg == "--shape" && more) {
      Shape s;
      if (std::sscanf(argv[++i], "%d,%d,%d", &s.m, &s.n, &s.k) == 3) shapes.push_back(s);
    } else {
      std::fprintf(stderr, "usage: %s [--full] [--linear] [--tier name]... [--threads n]... [--shape m,n,k]...\n",
                   argv[0]);
      return 2;
    }
  }
  if (!threads.empty()) o.threads = threads;
  if (shapes.empty()) shapes = {{512, 512, 512}, {1024, 1024, 1024}, {128, 1024, 1024}, {1, 4096, 4096}};
  std::vector<const F32GemmKernels*> done;  // avx512vnni runs the avx512 kernel: measure it once
  for (Tier tier : cpuInfo().supported) {
    const bool wanted = tiers.empty() ? tier != Tier::scalar : [&] {
      for (const auto& t : tiers)
        if (t == tierName(tier)) return true;
      return false;
    }();
    if (!wanted) continue;
    setTierCap(tier);
    bool seen = false;
    for (auto* k : done) seen = seen || k == &f32GemmKernels();
    if (seen) continue;
    done.push_back(&f32GemmKernels());
    std::printf("tier %s (kernel %s)\n", tierName(tier), f32GemmKernels().tier);
    for (const auto& s : shapes) benchShape(o, s);
  }
  clearTierCap();
  return 0;
}
