// What the C++ kernel cross-checks share: the failure count, the --quick flag, bit comparisons.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace sparq::check {

inline int failures = 0;
inline bool quick = false;  // --quick: the smaller grid for CI, sanitizers and qemu

// Counts a failure; prints the first 40.
inline void fail(const std::string& what) {
  if (failures < 40) std::fprintf(stderr, "FAIL %s\n", what.c_str());
  failures++;
}

inline bool sameBits(float a, float b) {
  uint32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y;
}

// The same bits, any NaN matching any NaN.
inline bool sameFloat(float a, float b) { return (std::isnan(a) && std::isnan(b)) || sameBits(a, b); }

inline void parseArgs(int argc, char** argv) {
  for (int i = 1; i < argc; i++)
    if (std::string(argv[i]) == "--quick") quick = true;
}

}  // namespace sparq::check
