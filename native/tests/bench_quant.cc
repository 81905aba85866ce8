// Micro-benchmark of the quantized matmul tiers, for tuning (speed is never asserted in tests).
// For every SIMD tier this CPU runs, format and shape: GOP/s (2·m·n·k per call) through
// sparq::matmulQuantized with 1 and 2 threads and of the bare kernel (one call over all of Y, one
// thread, activations quantized beforehand); and, for --stream points, GB/s of weight bytes with the
// weights rotating over ≥ 96 MB of distinct matrices so they come from DRAM, next to a plain read
// of the same buffers as the ceiling.
// The variants of one point run in alternating batches, so a noisy neighbour hits them alike;
// each prints the median batch and the best one.
//   bench_quant                          all tiers, q4_0, int8 precision, default shapes
//   bench_quant --full                   more and longer batches
//   bench_quant --tier avx512vnni        one tier only (repeatable)
//   bench_quant --format q8_0            these formats (repeatable; default q4_0)
//   bench_quant --precision f32          the f32 precision (default int8)
//   bench_quant --shape m,n,k            these shapes only (repeatable)
//   bench_quant --threads 1              only this pool size for the driver variants (repeatable)
//   bench_quant --stream                 DRAM-streaming points (the --shape ones if given)
//   bench_quant --block 64               block size for nf4 / int8 (default 64)
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
#include "sparq/quant.h"
#include "sparq/quant_common.h"
#include "sparq/runtime.h"

using namespace sparq;
using namespace sparq::bench;

namespace {

int gBatches = 9;
double gBatchSeconds = 0.05;

// A matrix of valid blocks with random codes and modest scales, written directly (quantizing
// hundreds of MB of floats would take longer than the benchmark).
std::unique_ptr<QuantizedMatrix> randomMatrix(QFormat f, int n, int k, int blockSize, std::mt19937& rng) {
  auto w = std::make_unique<QuantizedMatrix>(f, n, size_t(k), blockSize);
  uint8_t* p = w->mutableData();
  const size_t bytes = w->bytes(), block = blockBytes(f, blockSize);
  for (size_t i = 0; i + 4 <= bytes; i += 4) {
    const uint32_t r = uint32_t(rng());
    std::memcpy(p + i, &r, 4);
  }
  std::uniform_real_distribution<float> scale(0.001f, 0.02f);
  for (size_t b = 0; b < bytes / block; b++) {
    uint8_t* at = p + b * block;
    if (isGgml(f)) {
      quant::putU16(at, f32ToF16(scale(rng)));
      if (f == QFormat::q4_1) quant::putU16(at + 2, f32ToF16(-8.0f * scale(rng)));
    } else {
      quant::putF32(at, scale(rng) * 127.0f);
    }
  }
  return w;
}

struct Acts {
  std::vector<int8_t> q;
  std::vector<float> d;
  std::vector<int32_t> s;
};

Acts quantizeActs(const std::vector<float>& x, int m, size_t k) {
  Acts a{std::vector<int8_t>(size_t(m) * k), std::vector<float>(size_t(m) * k / 32), std::vector<int32_t>(size_t(m) * k / 32)};
  for (int i = 0; i < m; i++)
    quant__scalar.quantizeAct(x.data() + size_t(i) * k, k,
                              {a.q.data() + size_t(i) * k, a.d.data() + size_t(i) * k / 32, a.s.data() + size_t(i) * k / 32});
  return a;
}

struct Options {
  Precision precision = Precision::int8;
  int blockSize = 64;
  std::vector<int> threads = {1, 2};
};

// The bare kernel of the active tier over all of Y, one thread.
std::function<void()> bareCall(QFormat f, const Options& o, const QuantizedMatrix& w, const std::vector<float>& x,
                               const Acts& a, int m, std::vector<float>& y) {
  const QuantKernels& t = quantKernels();
  const QWeights weights = w.weights();
  const int n = w.n();
  const size_t k = w.k();
  if (o.precision == Precision::int8) {
    MatmulInt8Fn fn = t.matmul && t.matmul->int8[int(f)] ? t.matmul->int8[int(f)] : quantMatmul__scalar.int8[int(f)];
    const ActRows rows{a.q.data(), a.d.data(), a.s.data(), k};
    return [=, &y] { fn(rows, m, weights, 0, n, y.data(), size_t(n)); };
  }
  MatmulF32Fn fn = t.matmul && t.matmul->f32[int(f)] ? t.matmul->f32[int(f)] : quantMatmul__scalar.f32[int(f)];
  return [=, &x, &y] { fn(x.data(), k, m, weights, 0, n, y.data(), size_t(n)); };
}

void benchShape(QFormat f, const Options& o, const Shape& s) {
  std::mt19937 rng(uint32_t(s.m * 7919 + s.n * 31 + s.k));
  const int bs = isGgml(f) ? 32 : o.blockSize;
  auto w = randomMatrix(f, s.n, s.k, bs, rng);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(size_t(s.m) * s.k), y(size_t(s.m) * s.n);
  for (auto& v : x) v = normal(rng);
  const Acts a = quantizeActs(x, s.m, size_t(s.k));
  std::vector<Variant> variants;
  for (int t : o.threads)
    variants.push_back({std::to_string(t) + "T", t, [&] { matmulQuantized(x.data(), s.m, *w, nullptr, o.precision, y.data()); }, {}});
  variants.push_back({"bare", 1, bareCall(f, o, *w, x, a, s.m, y), {}});
  measure(variants, gBatches, gBatchSeconds);
  const double ops = 2.0 * s.m * s.n * s.k;
  std::printf("  %-5s %-4s m=%-4d n=%-5d k=%-5d GOP/s median (best):", formatName(f),
              o.precision == Precision::int8 ? "int8" : "f32", s.m, s.n, s.k);
  for (const auto& v : variants)
    std::printf("  %s %6.1f (%6.1f)", v.label.c_str(), ops / v.median() * 1e-9, ops / v.best() * 1e-9);
  std::printf("  [%s]\n", lastQuantKernel().c_str());
  std::fflush(stdout);
}

// Weights from DRAM: rotate over enough distinct matrices to exceed any cache.
void benchStreaming(QFormat f, const Options& o, const Shape& s) {
  std::mt19937 rng(7);
  const int bs = isGgml(f) ? 32 : o.blockSize;
  std::vector<std::unique_ptr<QuantizedMatrix>> ws;
  ws.push_back(randomMatrix(f, s.n, s.k, bs, rng));
  const size_t weightBytes = ws[0]->bytes();
  const int count = int((96u << 20) / weightBytes) + 1;
  while (int(ws.size()) < count) ws.push_back(randomMatrix(f, s.n, s.k, bs, rng));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(size_t(s.m) * s.k), y(size_t(s.m) * s.n);
  for (auto& v : x) v = normal(rng);
  const Acts a = quantizeActs(x, s.m, size_t(s.k));
  int next = 0;
  uint64_t sink = 0;
  std::vector<Variant> variants = {
      // The ceiling this machine gives one thread right now: a plain sum over the same buffers.
      {"read", 1,
       [&] {
         const uint64_t* words = reinterpret_cast<const uint64_t*>(ws[next]->data());
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
  };
  for (int t : o.threads)
    variants.push_back({std::to_string(t) + "T", t,
                        [&] {
                          matmulQuantized(x.data(), s.m, *ws[next], nullptr, o.precision, y.data());
                          next = (next + 1) % count;
                        },
                        {}});
  std::vector<std::function<void()>> bare;
  for (auto& w : ws) bare.push_back(bareCall(f, o, *w, x, a, s.m, y));
  variants.push_back({"bare", 1,
                      [&] {
                        bare[size_t(next)]();
                        next = (next + 1) % count;
                      },
                      {}});
  measure(variants, gBatches, gBatchSeconds);
  std::printf("  %-5s %-4s m=%-4d n=%-5d k=%-5d GB/s of weights from DRAM, median (best):", formatName(f),
              o.precision == Precision::int8 ? "int8" : "f32", s.m, s.n, s.k);
  for (const auto& v : variants)
    std::printf("  %s %5.1f (%5.1f)", v.label.c_str(), weightBytes / v.median() * 1e-9, weightBytes / v.best() * 1e-9);
  // Per batch, read time / kernel time: the batches of one round ran back to back, so this ratio
  // holds up better than either number when a neighbour's load drifts.
  std::vector<double> ratio;
  for (size_t b = 0; b < variants[0].seconds.size(); b++) ratio.push_back(variants[0].seconds[b] / variants[1].seconds[b]);
  std::sort(ratio.begin(), ratio.end());
  std::printf("  %s/read %3.0f%%  [%d × %.1f MB]%s\n", variants[1].label.c_str(), 100 * ratio[ratio.size() / 2], count,
              weightBytes / 1048576.0, sink == 42 ? " " : "");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> tiers;
  std::vector<QFormat> formats;
  std::vector<Shape> shapes;
  Options o;
  std::vector<int> threads;
  bool streamOnly = false;
  for (int i = 1; i < argc; i++) {
    const std::string arg = argv[i];
    const bool more = i + 1 < argc;
    if (arg == "--full") {
      gBatches = 21;
      gBatchSeconds = 0.1;
    } else if (arg == "--stream") {
      streamOnly = true;
    } else if (arg == "--tier" && more) {
      tiers.push_back(argv[++i]);
    } else if (arg == "--format" && more) {
      QFormat f;
      if (!formatFromName(argv[++i], &f)) {
        std::fprintf(stderr, "unknown format %s\n", argv[i]);
        return 2;
      }
      formats.push_back(f);
    } else if (arg == "--precision" && more) {
      o.precision = std::string(argv[++i]) == "f32" ? Precision::f32 : Precision::int8;
    } else if (arg == "--block" && more) {
      o.blockSize = std::atoi(argv[++i]);
    } else if (arg == "--threads" && more) {
      threads.push_back(std::atoi(argv[++i]));
    } else if (arg == "--shape" && more) {
      Shape s;
      if (std::sscanf(argv[++i], "%d,%d,%d", &s.m, &s.n, &s.k) == 3) shapes.push_back(s);
    } else {
      std::fprintf(stderr,
                   "usage: %s [--full] [--stream] [--tier name]... [--format name]... [--precision int8|f32] "
                   "[--block n] [--threads n]... [--shape m,n,k]...\n",
                   argv[0]);
      return 2;
    }
  }
  if (!threads.empty()) o.threads = threads;
  if (formats.empty()) formats = {QFormat::q4_0};
  const bool defaultShapes = shapes.empty();
  if (defaultShapes) shapes = {{128, 4096, 4096}, {16, 4096, 4096}, {4, 4096, 4096}, {1, 4096, 4096}};
  std::vector<Shape> streaming;
  if (defaultShapes)
    streaming = {{1, 4096, 4096}, {1, 11008, 4096}, {1, 4096, 11008}};
  else if (streamOnly)
    streaming = shapes;
  std::printf("arch %s, default threads %d\n", cpuInfo().arch.c_str(), defaultThreads());
  for (Tier t : cpuInfo().supported) {
    if (!tiers.empty() && std::find(tiers.begin(), tiers.end(), tierName(t)) == tiers.end()) continue;
    if (tiers.empty() && t == Tier::scalar) continue;
    setTierCap(t);
    std::printf("%s\n", tierName(t));
    for (QFormat f : formats) {
      if (f == QFormat::nf4 && o.precision == Precision::int8) continue;
      if (!streamOnly)
        for (const Shape& s : shapes) benchShape(f, o, s);
      for (const Shape& s : streaming) benchStreaming(f, o, s);
    }
  }
  clearTierCap();
  setThreads(defaultThreads());
  return 0;
}
