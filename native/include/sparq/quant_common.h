// Small helpers shared by the quantization kernels of every tier: unaligned little-endian field
// access, the finiteness test and ggml's `d ? 1/d : 0` with its overflow case defined.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "sparq/quant.h"

namespace sparq::quant {
// Each kernel file compiles these with its own ISA flags. The unnamed namespace gives every
// translation unit its own copy, so the linker can never hand an AVX-512 build of one to the
// scalar tier (inline functions alone could be merged across files when not inlined, e.g. at -O0).
namespace {

inline uint16_t getU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline void putU16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline float getF32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void putF32(uint8_t* p, float v) { std::memcpy(p, &v, 4); }

inline bool isFinite(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  return (bits & 0x7f800000u) != 0x7f800000u;
}

// True when an f16 pattern is ±Inf: a scale that overflowed (inputs are finite by then).
inline bool f16IsInf(uint16_t h) { return (h & 0x7fffu) == 0x7c00u; }

// 1/d, or 0 when d is 0 or 1/d overflows (|d| < 2⁻¹²⁸; the stored f16 scale is 0 then anyway).
inline float inverse(float d) {
  if (d == 0.0f) return 0.0f;
  const float r = 1.0f / d;
  return isFinite(r) ? r : 0.0f;
}

}  // namespace
}  // namespace sparq::quant
