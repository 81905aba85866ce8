// Timing shared by the C++ micro-benchmarks: variants measured in interleaved batches, so a
// noisy moment on a shared machine hits every variant rather than one.
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "sparq/runtime.h"

namespace sparq::bench {

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Variant {
  std::string label;
  int threads;                  // pool size while this variant runs
  std::function<void()> call;   // one call
  std::vector<double> seconds;  // per call, one entry per batch
  double median() const {
    auto s = seconds;
    std::sort(s.begin(), s.end());
    return s[s.size() / 2];
  }
  double best() const { return *std::min_element(seconds.begin(), seconds.end()); }
};

// `batches` rounds of a batch of each variant in turn; a batch lasts about `batchSeconds`.
inline void measure(std::vector<Variant>& variants, int batches, double batchSeconds) {
  std::vector<int> reps;
  for (auto& v : variants) {
    setThreads(v.threads);
    v.call();
    const double t0 = now();
    v.call();
    reps.push_back(std::max(1, int(batchSeconds / std::max(now() - t0, 1e-7))));
  }
  for (int b = 0; b < batches; b++)
    for (size_t i = 0; i < variants.size(); i++) {
      setThreads(variants[i].threads);
      const double start = now();
      for (int r = 0; r < reps[i]; r++) variants[i].call();
      variants[i].seconds.push_back((now() - start) / reps[i]);
    }
}

struct Shape {
  int m, n, k;
};

}  // namespace sparq::bench
