// Micro-benchmark of the int8 GEMM tiers, for tuning (speed is never asserted in tests).
// For every SIMD tier this CPU runs: GOP/s (2·m·n·k per call) through sparq::gemmU8S8 with 1 and
// 2 threads and of the bare kernel, and GB/s of packed weights for GEMV shapes rotating over
// ≥ 96 MB of distinct matrices (so the weights come from DRAM). Medians of several timed batches.
//   bench_gemm_int8                 quick pass (a few seconds)
//   bench_gemm_int8 --full          more batches per point
//   bench_gemm_int8 --tier avx2     one tier only
//   bench_gemm_int8 --shape m,n,k   one shape only (repeatable)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sparq/gemm.h"

using namespace sparq;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// setThreads then a pause: the pool's workers record the current generation only once they start,
// so a parallelFor issued before they are up can leave the caller waiting (reported to the lead).
void useThreads(int count) {
  setThreads(count);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

int gBatches = 5;
double gBatchSeconds = 0.05;

// Median seconds per call of fn(), over gBatches batches that each last about gBatchSeconds.
template <class Fn>
double medianSeconds(Fn&& fn) {
  fn();
  const double t0 = now();
  fn();
  const double once = std::max(now() - t0, 1e-7);
  const int reps = std::max(1, int(gBatchSeconds / once));
  std::vector<double> perCall;
  for (int b = 0; b < gBatches; b++) {
    const double start = now();
    for (int r = 0; r < reps; r++) fn();
    perCall.push_back((now() - start) / reps);
  }
  std::sort(perCall.begin(), perCall.end());
  return perCall[perCall.size() / 2];
}

struct Shape {
  int m, n, k;
};

void benchShape(const Int8GemmKernel& kernel, const Shape& s) {
  std::mt19937 rng(uint32_t(s.m * 7919 + s.n * 31 + s.k));
  std::vector<uint8_t> a(size_t(s.m) * s.k);
  std::vector<int8_t> b(size_t(s.n) * s.k);
  for (auto& v : a) v = uint8_t(rng());
  for (auto& v : b) v = int8_t(rng());
  PackedInt8 w(b.data(), s.n, s.k);
  std::vector<int32_t> c(size_t(s.m) * s.n);
  const double ops = 2.0 * s.m * s.n * s.k;
  double gops[3];
  for (int threadsWanted = 1; threadsWanted <= 2; threadsWanted++) {
    useThreads(threadsWanted);
    gops[threadsWanted - 1] = ops / medianSeconds([&] { gemmU8S8(a.data(), s.m, w, 0, c.data()); }) * 1e-9;
  }
  const uint8_t* packed = w.packedFor(kernel);
  gops[2] = ops / medianSeconds([&] { kernel.run(a.data(), size_t(s.k), packed, s.n, s.k, s.m, 0, s.n, nullptr, c.data(), size_t(s.n)); }) * 1e-9;
  std::printf("  %-28s m=%-5d n=%-5d k=%-5d  1T %7.1f  2T %7.1f (x%.2f)  bare %7.1f GOP/s\n", kernel.name, s.m, s.n,
              s.k, gops[0], gops[1], gops[1] / gops[0], gops[2]);
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
  for (int threadsWanted = 1; threadsWanted <= 2; threadsWanted++) {
    useThreads(threadsWanted);
    int next = 0;
    const double seconds = medianSeconds([&] {
      gemmU8S8(a.data(), s.m, *ws[next], 0, c.data());
      next = (next + 1) % count;
    });
    int nextBare = 0;
    const double bare = threadsWanted == 1 ? medianSeconds([&] {
      kernel.run(a.data(), size_t(s.k), ws[nextBare]->packedFor(kernel), s.n, s.k, s.m, 0, s.n, nullptr, c.data(),
                 size_t(s.n));
      nextBare = (nextBare + 1) % count;
    })
                                           : 0.0;
    std::printf("  %-28s m=%-5d n=%-5d k=%-5d  %dT %6.1f GB/s %7.1f GOP/s", kernel.name, s.m, s.n, s.k, threadsWanted,
                weightBytes / seconds * 1e-9, 2.0 * s.m * s.n * s.k / seconds * 1e-9);
    if (bare > 0) std::printf("   bare %6.1f GB/s", weightBytes / bare * 1e-9);
    std::printf("   (%d × %.1f MB rotated)\n", count, weightBytes / 1048576.0);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string onlyTier;
  std::vector<Shape> shapes;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--full")) {
      gBatches = 11;
      gBatchSeconds = 0.2;
    } else if (!std::strcmp(argv[i], "--tier") && i + 1 < argc) {
      onlyTier = argv[++i];
    } else if (!std::strcmp(argv[i], "--shape") && i + 1 < argc) {
      Shape s;
      if (std::sscanf(argv[++i], "%d,%d,%d", &s.m, &s.n, &s.k) == 3) shapes.push_back(s);
    } else {
      std::fprintf(stderr, "usage: %s [--full] [--tier name] [--shape m,n,k]...\n", argv[0]);
      return 2;
    }
  }
  const bool defaultShapes = shapes.empty();
  if (defaultShapes) shapes = {{512, 512, 512}, {1024, 1024, 1024}, {128, 1024, 1024}, {8, 4096, 4096}, {1, 4096, 4096}};
  std::printf("arch %s, default threads %d\n", cpuInfo().arch.c_str(), defaultThreads());
  for (Tier t : cpuInfo().supported) {
    if (t == Tier::scalar) continue;
    if (!onlyTier.empty() && onlyTier != tierName(t)) continue;
    setTierCap(t);
    const Int8GemmKernel& kernel = int8GemmKernel();
    std::printf("%s\n", tierName(t));
    for (const Shape& s : shapes) benchShape(kernel, s);
    if (defaultShapes) {
      benchStreaming(kernel, {1, 4096, 4096});
      benchStreaming(kernel, {8, 4096, 4096});
    }
  }
  clearTierCap();
  setThreads(defaultThreads());
  return 0;
}
