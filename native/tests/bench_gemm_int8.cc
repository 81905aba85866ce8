// Micro-benchmark of the int8 GEMM tiers, for tuning (speed is never asserted in tests).
// For every SIMD tier this CPU runs: GOP/s (2·m·n·k per call) through sparq::gemmU8S8 with 1 and
// 2 threads and of the bare kernel (one run() over all of C, one thread); and GB/s of packed
// weights for GEMV shapes rotating over ≥ 96 MB of distinct matrices, so the weights come from
// DRAM, next to a plain read of the same buffers as the ceiling.
// The variants of one point run in alternating batches, so a noisy neighbour hits them alike;
// each prints the median batch and the best one.
//   bench_gemm_int8                 all tiers, default shapes (about a minute)
//   bench_gemm_int8 --full          more and longer batches
//   bench_gemm_int8 --tier avx2     one tier only
//   bench_gemm_int8 --shape m,n,k   these shapes only (repeatable)
//   bench_gemm_int8 --stream        only the DRAM-streaming GEMV points (the --shape ones if given)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_timing.h"
#include "sparq/gemm.h"

using namespace sparq;
using namespace sparq::bench;

namespace {

int gBatches = 9;
double gBatchSeconds = 0.03;

void benchShape(const Int8GemmKernel& kernel, const Shape& s) {
  std::mt19937 rng(uint32_t(s.m * 7919 + s.n * 31 + s.k));
  std::vector<uint8_t> a(size_t(s.m) * s.k);
  std::vector<int8_t> b(size_t(s.n) * s.k);
  for (auto& v : a) v = uint8_t(rng());
  for (auto& v : b) v = int8_t(rng());
  PackedInt8 w(b.data(), s.n, s.k);
  const uint8_t* packed = w.packedFor(kernel);
  std::vector<int32_t> c(size_t(s.m) * s.n);
  std::vector<Variant> variants = {
      {"1T", 1, [&] { gemmU8S8(a.data(), s.m, w, 0, c.data()); }, {}},
      {"2T", 2, [&] { gemmU8S8(a.data(), s.m, w, 0, c.data()); }, {}},
      {"bare", 1,
       [&] { kernel.run(a.data(), size_t(s.k), packed, s.n, s.k, s.m, 0, s.n, nullptr, c.data(), size_t(s.n)); }, {}},
  };
  measure(variants, gBatches, gBatchSeconds);
  const double ops = 2.0 * s.m * s.n * s.k;
  std::printf("  %-26s m=%-4d n=%-4d k=%-4d GOP/s median (best):", kernel.name, s.m, s.n, s.k);
  for (const auto& v : variants)
    std::printf("  %s %6.1f (%6.1f)", v.label.c_str(), ops / v.median() * 1e-9, ops / v.best() * 1e-9);
  std::printf("  2T/1T x%.2f\n", variants[0].median() / variants[1].median());
  std::fflush(stdout);
}

// GEMV-like shapes with the weights in DRAM: rotate over enough distinct matrices to exceed any cache.
void benchStreaming(const Int8GemmKernel& kernel, const Shape& s) {
  const size_t weightBytes = kernel.packedBytes(s.n, s.k);
  const int count = int((96u << 20) / weightBytes) + 1;
  std::mt19937 rng(7);
  std::vector<std::unique_ptr<PackedInt8>> ws;
  std::vector<int8_t> b(size_t(s.n) * s.k);
  for (int i = 0; i < count; i++) {
    for (auto& v : b) v = int8_t(rng());
    ws.emplace_back(new PackedInt8(b.data(), s.n, s.k));
    ws.back()->packedFor(kernel);
  }
  std::vector<uint8_t> a(size_t(s.m) * s.k);
  for (auto& v : a) v = uint8_t(rng());
  std::vector<int32_t> c(size_t(s.m) * s.n);
  int next = 0;
  uint64_t sink = 0;
  std::vector<Variant> variants = {
      // The ceiling this machine gives one thread right now: a plain sum over the same buffers.
      {"read", 1,
       [&] {
         const uint64_t* words = reinterpret_cast<const uint64_t*>(ws[next]->packedFor(kernel));
         uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
         for (size_t i = 0; i + 4 <= weightBytes / 8; i += 4) {
           s0 += words[i];
           s1 += words[i + 1];
           s2 += words[i + 2];
           s3 += words[i + 3];
         }
         sink += s0 ^ s1 ^ s2 ^ s3;
         next = (next + 1) % count;
       },
       {}},
      {"1T", 1,
       [&] {
         gemmU8S8(a.data(), s.m, *ws[next], 0, c.data());
         next = (next + 1) % count;
       },
       {}},
      {"2T", 2,
       [&] {
         gemmU8S8(a.data(), s.m, *ws[next], 0, c.data());
         next = (next + 1) % count;
       },
       {}},
      {"bare", 1,
       [&] {
         kernel.run(a.data(), size_t(s.k), ws[next]->packedFor(kernel), s.n, s.k, s.m, 0, s.n, nullptr, c.data(),
                    size_t(s.n));
         next = (next + 1) % count;
       },
       {}},
  };
  measure(variants, gBatches, gBatchSeconds);
  std::printf("  %-26s m=%-4d n=%-4d k=%-4d GB/s of weights from DRAM, median (best):", kernel.name, s.m, s.n, s.k);
  for (const auto& v : variants)
    std::printf("  %s %5.1f (%5.1f)", v.label.c_str(), weightBytes / v.median() * 1e-9, weightBytes / v.best() * 1e-9);
  std::printf("  [%d × %.1f MB]%s\n", count, weightBytes / 1048576.0, sink == 42 ? " " : "");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string onlyTier;
  std::vector<Shape> shapes;
  bool streamOnly = false;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--full")) {
      gBatches = 21;
      gBatchSeconds = 0.1;
    } else if (!std::strcmp(argv[i], "--stream")) {
      streamOnly = true;
    } else if (!std::strcmp(argv[i], "--tier") && i + 1 < argc) {
      onlyTier = argv[++i];
    } else if (!std::strcmp(argv[i], "--shape") && i + 1 < argc) {
      Shape s;
      if (std::sscanf(argv[++i], "%d,%d,%d", &s.m, &s.n, &s.k) == 3) shapes.push_back(s);
    } else {
      std::fprintf(stderr, "usage: %s [--full] [--stream] [--tier name] [--shape m,n,k]...\n", argv[0]);
      return 2;
    }
  }
  const bool defaultShapes = shapes.empty();
  if (defaultShapes) shapes = {{512, 512, 512}, {1024, 1024, 1024}, {128, 1024, 1024}, {8, 4096, 4096}, {1, 4096, 4096}};
  std::vector<Shape> streaming;
  if (defaultShapes)
    streaming = {{1, 4096, 4096}, {8, 4096, 4096}};
  else if (streamOnly)
    streaming = shapes;
  std::printf("arch %s, default threads %d\n", cpuInfo().arch.c_str(), defaultThreads());
  for (Tier t : cpuInfo().supported) {
    if (t == Tier::scalar) continue;
    if (!onlyTier.empty() && onlyTier != tierName(t)) continue;
    setTierCap(t);
    const Int8GemmKernel& kernel = int8GemmKernel();
    std::printf("%s\n", tierName(t));
    if (!streamOnly)
      for (const Shape& s : shapes) benchShape(kernel, s);
    for (const Shape& s : streaming) benchStreaming(kernel, s);
  }
  clearTierCap();
  setThreads(defaultThreads());
  return 0;
}
