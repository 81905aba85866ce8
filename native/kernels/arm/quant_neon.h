// Blockwise quantization on ARMv8 NEON, shared by the neon and neondot tiers: the conversion
// kernels (quantize, dequantize, quantizeAct, f16 bulk) and the matmul tiles, which take the
// integer dot product of one 32-element block as a policy (SMULL/SADALP or SDOT).
//
// Everything sits in an unnamed namespace on purpose: this header is compiled once with
// -march=armv8-a and once with -march=armv8.2-a+dotprod, and external-linkage inline functions
// would let the linker keep one copy for both (an ODR violation that could hand SDOT to a CPU
// without it). Each translation unit gets its own copy instead.
//
// Exactness (docs/quantization.md): every element-wise step is the scalar kernel's f32 operation
// on the same operands, lane by lane — FMUL, FADD, FSUB, FDIV are IEEE round-to-nearest-even;
// no FMA in any quantizer or dequantizer (the build has -ffp-contract=off and no vfma/vmla is
// used there). roundf = FCVTAS (ties away), nearbyintf = FCVTNS (ties even), (int)x = FCVTZS.
// Per-block scalars (d, inverse(d), f32ToF16) are computed once per block by the shared scalar
// helpers. The block maximum |x| is the unsigned maximum of the bit patterns with the sign
// cleared: for finite values it orders like |x|, and any pattern ≥ 0x7f800000 is NaN or ±Inf,
// so the same reduction is the finiteness check. f16 → f32 scales are widened with FCVTL, which
// is exact and maps NaN exactly as sparq::f16ToF32 does (test_quant checks all 65536 patterns).
// No alignment is assumed anywhere; nothing is read or written outside the given ranges.
#pragma once
#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "sparq/quant_common.h"
#include "sparq/scratch.h"

namespace sparq::quant_neon {
namespace {

using namespace quant;

// --- Small helpers ---------------------------------------------------------------------------

constexpr bool isGgmlFormat(QFormat f) { return f == QFormat::q8_0 || f == QFormat::q4_0 || f == QFormat::q4_1; }

constexpr uint32_t kAbsMask = 0x7fffffffu;
constexpr uint32_t kInfBits = 0x7f800000u;

inline float fromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Running maximum of |x| as bit patterns over 4 lanes (see the header comment).
inline uint32x4_t maxAbsBits(uint32x4_t running, float32x4_t x) {
  return vmaxq_u32(running, vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(kAbsMask)));
}

// The largest |x| of x[0, count) as bits (count a multiple of 16); ≥ kInfBits means non-finite.
inline uint32_t blockMaxAbsBits(const float* x, size_t count) {
  uint32x4_t m0 = vdupq_n_u32(0), m1 = m0, m2 = m0, m3 = m0;
  for (size_t j = 0; j < count; j += 16) {
    m0 = maxAbsBits(m0, vld1q_f32(x + j));
    m1 = maxAbsBits(m1, vld1q_f32(x + j + 4));
    m2 = maxAbsBits(m2, vld1q_f32(x + j + 8));
    m3 = maxAbsBits(m3, vld1q_f32(x + j + 12));
  }
  return vmaxvq_u32(vmaxq_u32(vmaxq_u32(m0, m1), vmaxq_u32(m2, m3)));
}

// f16 bits → f32, exactly (FCVTL); one lane per weight row.
inline float32x4_t widenHalves(uint16_t h0, uint16_t h1, uint16_t h2, uint16_t h3) {
  const uint16_t h[4] = {h0, h1, h2, h3};
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)));
}
inline float widenHalf(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }

// 16 s32 lanes → 16 bytes, keeping the low 8 bits of each (as the scalar (u)int8_t casts do).
inline int8x16_t narrowToBytes(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  const int16x8_t ab = vcombine_s16(vmovn_s32(a), vmovn_s32(b));
  const int16x8_t cd = vcombine_s16(vmovn_s32(c), vmovn_s32(d));
  return vcombine_s8(vmovn_s16(ab), vmovn_s16(cd));
}

// 16 s8 → 4 × 4 f32 (exact).
inline void widenBytes(int8x16_t q, float32x4_t* out) {
  const int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_high_s8(q);
  out[0] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo)));
  out[1] = vcvtq_f32_s32(vmovl_high_s16(lo));
  out[2] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi)));
  out[3] = vcvtq_f32_s32(vmovl_high_s16(hi));
}

// The 16 bytes of a q4 block → codes 0..15 (low nibbles) and 16..31 (high nibbles).
inline void splitNibbles(const uint8_t* bytes, uint8x16_t& low, uint8x16_t& high) {
  const uint8x16_t v = vld1q_u8(bytes);
  low = vandq_u8(v, vdupq_n_u8(15));
  high = vshrq_n_u8(v, 4);
}

// --- Quantizers ------------------------------------------------------------------------------

inline QStatus quantizeQ8_0(const float* x, size_t k, int /*blockSize*/, uint8_t* out) {
  for (size_t b = 0; b < k / 32; b++) {
    const float* v = x + b * 32;
    uint8_t* o = out + b * 34;
    const uint32_t amaxBits = blockMaxAbsBits(v, 32);
    if (amaxBits >= kInfBits) return QStatus::nonFinite;
    const float d = fromBits(amaxBits) / 127.0f;
    const uint16_t h = f32ToF16(d);
    if (f16IsInf(h)) return QStatus::scaleOverflow;
    const float32x4_t id = vdupq_n_f32(inverse(d));
    putU16(o, h);
    for (int half = 0; half < 2; half++) {
      const float* p = v + 16 * half;
      int32x4_t q[4];
      for (int t = 0; t < 4; t++) q[t] = vcvtaq_s32_f32(vmulq_f32(vld1q_f32(p + 4 * t), id));
      vst1q_s8(reinterpret_cast<int8_t*>(o + 2 + 16 * half), narrowToBytes(q[0], q[1], q[2], q[3]));
    }
  }
  return QStatus::ok;
}

// q4_0 and q4_1 codes of one half block: min(15, trunc(v·id + bias)) with v = x or x − min.
// The codes are 0..15 by construction (docs/quantization.md), so keeping bytes is exact.
template <bool SubtractMin>
inline uint8x16_t q4Codes(const float* x, float32x4_t min, float32x4_t id, float32x4_t bias) {
  int32x4_t q[4];
  for (int t = 0; t < 4; t++) {
    float32x4_t v = vld1q_f32(x + 4 * t);
    if (SubtractMin) v = vsubq_f32(v, min);
    q[t] = vminq_s32(vcvtq_s32_f32(vaddq_f32(vmulq_f32(v, id), bias)), vdupq_n_s32(15));
  }
  return vreinterpretq_u8_s8(narrowToBytes(q[0], q[1], q[2], q[3]));
}

inline QStatus quantizeQ4_0(const float* x, size_t k, int /*blockSize*/, uint8_t* out) {
  static const uint8_t kIndex[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                     16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
  const uint8x16_t index0 = vld1q_u8(kIndex), index1 = vld1q_u8(kIndex + 16);
  for (size_t b = 0; b < k / 32; b++) {
    const float* v = x + b * 32;
    uint8_t* o = out + b * 18;
    uint32x4_t abs[8];
    uint32x4_t amax4 = vdupq_n_u32(0);
    for (int t = 0; t < 8; t++) {
      abs[t] = vandq_u32(vreinterpretq_u32_f32(vld1q_f32(v + 4 * t)), vdupq_n_u32(kAbsMask));
      amax4 = vmaxq_u32(amax4, abs[t]);
    }
    const uint32_t amaxBits = vmaxvq_u32(amax4);
    if (amaxBits >= kInfBits) return QStatus::nonFinite;
    // The signed value of the first element with the largest |x| (0 when the block is all zeros,
    // as the scalar loop never leaves its +0 start then).
    float max = 0.0f;
    if (amaxBits != 0) {
      const uint32x4_t target = vdupq_n_u32(amaxBits);
      uint16x8_t hits[4];
      for (int t = 0; t < 4; t++)
        hits[t] = vcombine_u16(vmovn_u32(vceqq_u32(abs[2 * t], target)), vmovn_u32(vceqq_u32(abs[2 * t + 1], target)));
      const uint8x16_t hits0 = vcombine_u8(vmovn_u16(hits[0]), vmovn_u16(hits[1]));
      const uint8x16_t hits1 = vcombine_u8(vmovn_u16(hits[2]), vmovn_u16(hits[3]));
      // Misses become 255, hits keep their index; the smallest is the first hit.
      const uint8x16_t first = vminq_u8(vornq_u8(index0, hits0), vornq_u8(index1, hits1));
      max = v[vminvq_u8(first)];
    }
    const float d = max / -8.0f;
    const uint16_t h = f32ToF16(d);
    if (f16IsInf(h)) return QStatus::scaleOverflow;
    const float32x4_t id = vdupq_n_f32(inverse(d)), bias = vdupq_n_f32(8.5f), unused = vdupq_n_f32(0.0f);
    putU16(o, h);
    const uint8x16_t low = q4Codes<false>(v, unused, id, bias), high = q4Codes<false>(v + 16, unused, id, bias);
    vst1q_u8(o + 2, vsliq_n_u8(low, high, 4));
  }
  return QStatus::ok;
}

inline QStatus quantizeQ4_1(const float* x, size_t k, int /*blockSize*/, uint8_t* out) {
  for (size_t b = 0; b < k / 32; b++) {
    const float* v = x + b * 32;
    uint8_t* o = out + b * 20;
    uint32x4_t amax4 = vdupq_n_u32(0);
    float32x4_t min4 = vld1q_f32(v), max4 = min4;
    for (int t = 0; t < 8; t++) {
      const float32x4_t x4 = vld1q_f32(v + 4 * t);
      amax4 = maxAbsBits(amax4, x4);
      min4 = vminq_f32(min4, x4);
      max4 = vmaxq_f32(max4, x4);
    }
    if (vmaxvq_u32(amax4) >= kInfBits) return QStatus::nonFinite;
    float min = vminvq_f32(min4);
    const float max = vmaxvq_f32(max4);
    // FMIN orders −0 below +0; the scalar loop keeps the first of equal values. Only the sign of
    // a zero minimum can differ, and it reaches the stored m, so take the first zero then.
    if (min == 0.0f) {
      for (int j = 0; j < 32; j++)
        if (v[j] == 0.0f) {
          min = v[j];
          break;
        }
    }
    const float d = (max - min) / 15.0f;
    const uint16_t hd = f32ToF16(d), hm = f32ToF16(min);
    if (f16IsInf(hd) || f16IsInf(hm)) return QStatus::scaleOverflow;
    const float32x4_t id = vdupq_n_f32(inverse(d)), min4b = vdupq_n_f32(min), bias = vdupq_n_f32(0.5f);
    putU16(o, hd);
    putU16(o + 2, hm);
    const uint8x16_t low = q4Codes<true>(v, min4b, id, bias), high = q4Codes<true>(v + 16, min4b, id, bias);
    vst1q_u8(o + 4, vsliq_n_u8(low, high, 4));
  }
  return QStatus::ok;
}

// NF4 code of 4 normalized values: the number of thresholds each exceeds (NaN exceeds none).
inline uint32x4_t nf4Codes(float32x4_t normalized, const float32x4_t (&thresholds)[15]) {
  uint32x4_t even = vdupq_n_u32(0), odd = vdupq_n_u32(0);  // two chains; a hit is all ones = −1
  for (int t = 0; t < 15; t += 2) even = vsubq_u32(even, vcgtq_f32(normalized, thresholds[t]));
  for (int t = 1; t < 15; t += 2) odd = vsubq_u32(odd, vcgtq_f32(normalized, thresholds[t]));
  return vaddq_u32(even, odd);
}

inline QStatus quantizeNf4(const float* x, size_t k, int blockSize, uint8_t* out) {
  const size_t bytes = blockBytes(QFormat::nf4, blockSize);
  float32x4_t thresholds[15];
  for (int t = 0; t < 15; t++) thresholds[t] = vdupq_n_f32(kNf4Thresholds[t]);
  for (size_t b = 0; b < k / size_t(blockSize); b++) {
    const float* v = x + b * size_t(blockSize);
    uint8_t* o = out + b * bytes;
    const uint32_t amaxBits = blockMaxAbsBits(v, size_t(blockSize));
    if (amaxBits >= kInfBits) return QStatus::nonFinite;
    const float amax = fromBits(amaxBits);
    const float32x4_t inv = vdupq_n_f32(1.0f / amax);  // +Inf for an all-zero block, as in bitsandbytes
    putF32(o, amax);
    for (int j = 0; j < blockSize; j += 32) {
      uint32x4_t c[8];
      for (int t = 0; t < 8; t++) c[t] = nf4Codes(vmulq_f32(vld1q_f32(v + j + 4 * t), inv), thresholds);
      const int8x16_t codes0 = narrowToBytes(vreinterpretq_s32_u32(c[0]), vreinterpretq_s32_u32(c[1]),
                                             vreinterpretq_s32_u32(c[2]), vreinterpretq_s32_u32(c[3]));
      const int8x16_t codes1 = narrowToBytes(vreinterpretq_s32_u32(c[4]), vreinterpretq_s32_u32(c[5]),
                                             vreinterpretq_s32_u32(c[6]), vreinterpretq_s32_u32(c[7]));
      // byte i = c[2i] << 4 | c[2i+1]
      const uint8x16_t even = vuzp1q_u8(vreinterpretq_u8_s8(codes0), vreinterpretq_u8_s8(codes1));
      const uint8x16_t odd = vuzp2q_u8(vreinterpretq_u8_s8(codes0), vreinterpretq_u8_s8(codes1));
      vst1q_u8(o + 4 + j / 2, vsliq_n_u8(odd, even, 4));
    }
  }
  return QStatus::ok;
}

inline QStatus quantizeInt8(const float* x, size_t k, int blockSize, uint8_t* out) {
  const size_t bytes = blockBytes(QFormat::int8, blockSize);
  for (size_t b = 0; b < k / size_t(blockSize); b++) {
    const float* v = x + b * size_t(blockSize);
    uint8_t* o = out + b * bytes;
    const uint32_t amaxBits = blockMaxAbsBits(v, size_t(blockSize));
    if (amaxBits >= kInfBits) return QStatus::nonFinite;
    const float amax = fromBits(amaxBits);
    putF32(o, amax);
    if (amaxBits == 0) {
      std::memset(o + 4, 0, size_t(blockSize));
      continue;
    }
    const float32x4_t amax4 = vdupq_n_f32(amax), scale = vdupq_n_f32(127.0f);
    for (int j = 0; j < blockSize; j += 16) {
      int32x4_t q[4];
      for (int t = 0; t < 4; t++)  // nearbyintf((x / absmax) · 127)
        q[t] = vcvtnq_s32_f32(vmulq_f32(vdivq_f32(vld1q_f32(v + j + 4 * t), amax4), scale));
      vst1q_s8(reinterpret_cast<int8_t*>(o + 4 + j), narrowToBytes(q[0], q[1], q[2], q[3]));
    }
  }
  return QStatus::ok;
}

// Activation codes of the int8 precision: q8_0's rule with d kept in f32, plus Σq per block.
inline bool quantizeAct(const float* x, size_t k, ActRow out) {
  for (size_t b = 0; b < k / kActBlock; b++) {
    const float* v = x + b * kActBlock;
    const uint32_t amaxBits = blockMaxAbsBits(v, kActBlock);
    if (amaxBits >= kInfBits) return false;
    const float d = fromBits(amaxBits) / 127.0f;
    const float32x4_t id = vdupq_n_f32(inverse(d));
    int32x4_t sum = vdupq_n_s32(0);
    for (int half = 0; half < 2; half++) {
      const float* p = v + 16 * half;
      int32x4_t q[4];
      for (int t = 0; t < 4; t++) {
        q[t] = vcvtaq_s32_f32(vmulq_f32(vld1q_f32(p + 4 * t), id));
        sum = vaddq_s32(sum, q[t]);  // |q| ≤ 127: the codes are their own int8 values
      }
      vst1q_s8(out.q + b * kActBlock + 16 * half, narrowToBytes(q[0], q[1], q[2], q[3]));
    }
    out.d[b] = d;
    out.s[b] = vaddvq_s32(sum);
  }
  return true;
}

// --- Dequantization: one 32-element chunk → 8 × f32x4 -----------------------------------------

// codes·scale for 32 s8 codes (q8_0, int8).
inline void dequantS8Chunk(const uint8_t* codes, float scale, float32x4_t (&w)[8]) {
  widenBytes(vld1q_s8(reinterpret_cast<const int8_t*>(codes)), w);
  widenBytes(vld1q_s8(reinterpret_cast<const int8_t*>(codes + 16)), w + 4);
  for (auto& v : w) v = vmulq_n_f32(v, scale);
}

// (q − 8)·d for the 16 bytes of a q4_0 block.
inline void dequantQ4_0Chunk(const uint8_t* bytes, float d, float32x4_t (&w)[8]) {
  uint8x16_t low, high;
  splitNibbles(bytes, low, high);
  widenBytes(vsubq_s8(vreinterpretq_s8_u8(low), vdupq_n_s8(8)), w);
  widenBytes(vsubq_s8(vreinterpretq_s8_u8(high), vdupq_n_s8(8)), w + 4);
  for (auto& v : w) v = vmulq_n_f32(v, d);
}

// (q·d) + m for the 16 bytes of a q4_1 block: two roundings.
inline void dequantQ4_1Chunk(const uint8_t* bytes, float d, float m, float32x4_t (&w)[8]) {
  uint8x16_t low, high;
  splitNibbles(bytes, low, high);
  widenBytes(vreinterpretq_s8_u8(low), w);
  widenBytes(vreinterpretq_s8_u8(high), w + 4);
  const float32x4_t m4 = vdupq_n_f32(m);
  for (auto& v : w) v = vaddq_f32(vmulq_n_f32(v, d), m4);
}

// The NF4 codebook as 4 byte planes (plane t = byte t of each of the 16 f32 values), so one TBL
// per plane looks 16 codes up.
inline uint8x16x4_t nf4Planes() { return vld4q_u8(reinterpret_cast<const uint8_t*>(kNf4Codes)); }

// NF4[c]·absmax for 16 codes (one per byte) → 4 × f32x4.
inline void nf4Lookup(uint8x16_t codes, const uint8x16x4_t& planes, float absmax, float32x4_t* w) {
  const uint8x16x2_t b01 = vzipq_u8(vqtbl1q_u8(planes.val[0], codes), vqtbl1q_u8(planes.val[1], codes));
  const uint8x16x2_t b23 = vzipq_u8(vqtbl1q_u8(planes.val[2], codes), vqtbl1q_u8(planes.val[3], codes));
  const uint16x8x2_t lo = vzipq_u16(vreinterpretq_u16_u8(b01.val[0]), vreinterpretq_u16_u8(b23.val[0]));
  const uint16x8x2_t hi = vzipq_u16(vreinterpretq_u16_u8(b01.val[1]), vreinterpretq_u16_u8(b23.val[1]));
  w[0] = vmulq_n_f32(vreinterpretq_f32_u16(lo.val[0]), absmax);
  w[1] = vmulq_n_f32(vreinterpretq_f32_u16(lo.val[1]), absmax);
  w[2] = vmulq_n_f32(vreinterpretq_f32_u16(hi.val[0]), absmax);
  w[3] = vmulq_n_f32(vreinterpretq_f32_u16(hi.val[1]), absmax);
}

// 16 nf4 bytes (32 codes, c[2i] in the high nibble of byte i) → 32 values in element order.
inline void dequantNf4Chunk(const uint8_t* bytes, const uint8x16x4_t& planes, float absmax, float32x4_t (&w)[8]) {
  uint8x16_t low, high;
  splitNibbles(bytes, low, high);
  const uint8x16x2_t codes = vzipq_u8(high, low);  // c[0], c[1], c[2], …
  nf4Lookup(codes.val[0], planes, absmax, w);
  nf4Lookup(codes.val[1], planes, absmax, w + 4);
}

// Where 32-element chunk c of a row lives: in block c >> chunkShift, as chunk c & chunkMask of
// it (block sizes are powers of two). Computed once per call, not per chunk.
struct RowLayout {
  size_t blockBytes;
  unsigned chunkShift;
  size_t chunkMask;

  RowLayout(QFormat f, int blockSize)
      : blockBytes(sparq::blockBytes(f, blockSize)),
        chunkShift(unsigned(__builtin_ctz(unsigned(blockSize) / 32))),
        chunkMask(size_t(blockSize) / 32 - 1) {}
};

// Chunks [first, first + count) of one row of format F, dequantized to out[0, 32·count).
template <QFormat F>
void dequantChunks(const uint8_t* row, size_t first, size_t count, const RowLayout& layout,
                   const uint8x16x4_t& planes, float* out) {
  float32x4_t w[8];
  if constexpr (isGgmlFormat(F)) {  // one 32-element block per chunk
    for (size_t c = first; c < first + count; c++, out += 32) {
      const uint8_t* p = row + c * layout.blockBytes;
      if constexpr (F == QFormat::q8_0)
        dequantS8Chunk(p + 2, widenHalf(getU16(p)), w);
      else if constexpr (F == QFormat::q4_0)
        dequantQ4_0Chunk(p + 2, widenHalf(getU16(p)), w);
      else
        dequantQ4_1Chunk(p + 4, widenHalf(getU16(p)), widenHalf(getU16(p + 2)), w);
      for (int t = 0; t < 8; t++) vst1q_f32(out + 4 * t, w[t]);
    }
  } else {  // nf4, int8: block by block, the scale read (and for int8 divided) once per block
    for (size_t c = first; c < first + count;) {
      const size_t block = c >> layout.chunkShift;
      const uint8_t* p = row + block * layout.blockBytes;
      const float scale = F == QFormat::nf4 ? getF32(p) : getF32(p) / 127.0f;
      const size_t end = std::min(first + count, (block + 1) << layout.chunkShift);
      for (; c < end; c++, out += 32) {
        const size_t within = c & layout.chunkMask;
        if constexpr (F == QFormat::nf4)
          dequantNf4Chunk(p + 4 + within * 16, planes, scale, w);
        else
          dequantS8Chunk(p + 4 + within * 32, scale, w);
        for (int t = 0; t < 8; t++) vst1q_f32(out + 4 * t, w[t]);
      }
    }
  }
}

template <QFormat F>
void dequantize(const uint8_t* in, size_t k, int blockSize, float* out) {
  const uint8x16x4_t planes = F == QFormat::nf4 ? nf4Planes() : uint8x16x4_t{};
  dequantChunks<F>(in, 0, k / 32, RowLayout(F, blockSize), planes, out);
}

// --- f16 bulk --------------------------------------------------------------------------------

// FCVTN rounds to nearest even, overflows to ±Inf and keeps a NaN's sign and top payload bits
// with the quiet bit set: sparq::f32ToF16's rule (checked exhaustively over the interesting
// patterns by test_quant). The tail goes through the scalar helper.
inline void f32ToF16Bulk(const float* x, size_t n, uint16_t* out) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float16x8_t h = vcvt_high_f16_f32(vcvt_f16_f32(vld1q_f32(x + i)), vld1q_f32(x + i + 4));
    vst1q_u16(out + i, vreinterpretq_u16_f16(h));
  }
  for (; i < n; i++) out[i] = f32ToF16(x[i]);
}

inline void f16ToF32Bulk(const uint16_t* h, size_t n, float* out) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float16x8_t v = vreinterpretq_f16_u16(vld1q_u16(h + i));
    vst1q_f32(out + i, vcvt_f32_f16(vget_low_f16(v)));
    vst1q_f32(out + i + 4, vcvt_high_f32_f16(v));
  }
  for (; i < n; i++) out[i] = f16ToF32(h[i]);
}

// --- Matmul, int8 precision ------------------------------------------------------------------
//
// Tiles of 4 weight rows × up to 4 activation rows. Per 32-element block, each (activation row,
// weight row) pair gets an exact integer dot from the Dot policy (an s32x4 whose lanes add up to
// Σ qw·qx); pairwise adds fold the four weight rows into one s32x4, which is converted exactly
// (|Σ| < 2²⁴) and accumulated as (dw·dx) · Σ — the product rounded once, the add fused with it
// (any order and FMA are allowed here, docs/quantization.md). q4_1 adds (mw·dx)·s the same way.
// With m ≤ 4 the weight blocks are decoded straight from the matrix (GEMV: one pass over W);
// with m > 4 a 4-row tile is decoded once into a thread-local panel reused by every row group.
// A weight-row tail repeats the last row and stores only the real columns.

constexpr int kTileCols = 4;  // weight rows (outputs) per tile
constexpr int kTileRows = 4;  // activation rows per tile

// One 32-element block of 4 weight rows, ready for the integer dot.
struct WeightBlock {
  int8x16_t q[kTileCols][2];  // codes 0..15 and 16..31 (q4_0 already minus 8)
  float32x4_t d;              // the block scale per weight row
  float32x4_t m;              // q4_1's minimum per weight row
};

// Decodes weight blocks straight from 4 rows of the matrix.
template <QFormat F>
struct MatrixBlocks {
  static_assert(F != QFormat::nf4, "NF4 codes are not linear: no int8 matmul");
  const uint8_t* row[kTileCols];
  RowLayout layout;

  void load(size_t b, WeightBlock& t) const {
    if constexpr (F == QFormat::q8_0) {
      const uint8_t* p[kTileCols];
      for (int c = 0; c < kTileCols; c++) {
        p[c] = row[c] + b * 34;
        t.q[c][0] = vld1q_s8(reinterpret_cast<const int8_t*>(p[c] + 2));
        t.q[c][1] = vld1q_s8(reinterpret_cast<const int8_t*>(p[c] + 18));
      }
      t.d = widenHalves(getU16(p[0]), getU16(p[1]), getU16(p[2]), getU16(p[3]));
    } else if constexpr (F == QFormat::q4_0 || F == QFormat::q4_1) {
      constexpr size_t bytes = F == QFormat::q4_0 ? 18 : 20, codes = F == QFormat::q4_0 ? 2 : 4;
      const int8x16_t offset = vdupq_n_s8(F == QFormat::q4_0 ? 8 : 0);
      const uint8_t* p[kTileCols];
      for (int c = 0; c < kTileCols; c++) {
        p[c] = row[c] + b * bytes;
        uint8x16_t low, high;
        splitNibbles(p[c] + codes, low, high);
        t.q[c][0] = vsubq_s8(vreinterpretq_s8_u8(low), offset);
        t.q[c][1] = vsubq_s8(vreinterpretq_s8_u8(high), offset);
      }
      t.d = widenHalves(getU16(p[0]), getU16(p[1]), getU16(p[2]), getU16(p[3]));
      if constexpr (F == QFormat::q4_1)
        t.m = widenHalves(getU16(p[0] + 2), getU16(p[1] + 2), getU16(p[2] + 2), getU16(p[3] + 2));
    } else {  // int8: the weight block holding activation block b, scale absmax/127
      const size_t block = (b >> layout.chunkShift) * layout.blockBytes;
      const size_t codes = block + 4 + (b & layout.chunkMask) * kActBlock;
      float absmax[kTileCols];
      for (int c = 0; c < kTileCols; c++) {
        absmax[c] = getF32(row[c] + block);
        const int8_t* q = reinterpret_cast<const int8_t*>(row[c] + codes);
        t.q[c][0] = vld1q_s8(q);
        t.q[c][1] = vld1q_s8(q + 16);
      }
      t.d = vdivq_f32(vld1q_f32(absmax), vdupq_n_f32(127.0f));
    }
  }
};

// Weight blocks decoded earlier into a panel: per block 128 code bytes, then d and m (8 floats).
struct PanelBlocks {
  static constexpr size_t kCodeBytes = kTileCols * 32, kScales = 2 * kTileCols;
  const int8_t* codes;
  const float* scales;

  void load(size_t b, WeightBlock& t) const {
    const int8_t* q = codes + b * kCodeBytes;
    for (int c = 0; c < kTileCols; c++) {
      t.q[c][0] = vld1q_s8(q + 32 * c);
      t.q[c][1] = vld1q_s8(q + 32 * c + 16);
    }
    t.d = vld1q_f32(scales + b * kScales);
    t.m = vld1q_f32(scales + b * kScales + kTileCols);
  }

  template <class Source>
  static PanelBlocks decode(const Source& source, size_t blocks) {
    thread_local Scratch codeScratch, scaleScratch;  // counted in nativeMemory().scratch
    auto* codeBuffer = static_cast<int8_t*>(codeScratch.get(blocks * kCodeBytes));
    auto* scaleBuffer = static_cast<float*>(scaleScratch.get(blocks * kScales * sizeof(float)));
    for (size_t b = 0; b < blocks; b++) {
      WeightBlock t;
      t.m = vdupq_n_f32(0.0f);
      source.load(b, t);
      int8_t* q = codeBuffer + b * kCodeBytes;
      for (int c = 0; c < kTileCols; c++) {
        vst1q_s8(q + 32 * c, t.q[c][0]);
        vst1q_s8(q + 32 * c + 16, t.q[c][1]);
      }
      vst1q_f32(scaleBuffer + b * kScales, t.d);
      vst1q_f32(scaleBuffer + b * kScales + kTileCols, t.m);
    }
    return {codeBuffer, scaleBuffer};
  }
};

// Outputs (row, j0 … j0+cols) from the 4 lanes of `v`.
inline void storeColumns(float32x4_t v, int cols, float* out) {
  if (cols == kTileCols) {
    vst1q_f32(out, v);
    return;
  }
  float lanes[kTileCols];
  vst1q_f32(lanes, v);
  for (int c = 0; c < cols; c++) out[c] = lanes[c];
}

// Activation rows [i0, i0+Rows) against one weight tile.
template <int Rows, bool HasMin, class Dot, class Source>
void int8Tile(const ActRows& a, int i0, const Source& weights, float* y, size_t ldy, int j0, int cols) {
  const size_t blocks = a.k / kActBlock;
  float32x4_t acc[Rows];
  for (auto& v : acc) v = vdupq_n_f32(0.0f);
  for (size_t b = 0; b < blocks; b++) {
    WeightBlock t;
    weights.load(b, t);
#pragma GCC unroll 4
    for (int r = 0; r < Rows; r++) {
      const size_t row = size_t(i0 + r);
      const int8_t* xq = a.q + row * a.k + b * kActBlock;
      const int8x16_t x0 = vld1q_s8(xq), x1 = vld1q_s8(xq + 16);
      const int32x4_t d01 = vpaddq_s32(Dot::dot(t.q[0][0], t.q[0][1], x0, x1), Dot::dot(t.q[1][0], t.q[1][1], x0, x1));
      const int32x4_t d23 = vpaddq_s32(Dot::dot(t.q[2][0], t.q[2][1], x0, x1), Dot::dot(t.q[3][0], t.q[3][1], x0, x1));
      const float dx = a.d[row * blocks + b];
      acc[r] = vfmaq_f32(acc[r], vmulq_n_f32(t.d, dx), vcvtq_f32_s32(vpaddq_s32(d01, d23)));
      if (HasMin) acc[r] = vfmaq_f32(acc[r], vmulq_n_f32(t.m, dx), vdupq_n_f32(float(a.s[row * blocks + b])));
    }
  }
  for (int r = 0; r < Rows; r++) storeColumns(acc[r], cols, y + size_t(i0 + r) * ldy + j0);
}

template <bool HasMin, class Dot, class Source>
void int8Rows(const ActRows& a, int m, const Source& weights, float* y, size_t ldy, int j0, int cols) {
  int i = 0;
  for (; i + kTileRows <= m; i += kTileRows) int8Tile<kTileRows, HasMin, Dot>(a, i, weights, y, ldy, j0, cols);
  switch (m - i) {
    case 3: int8Tile<3, HasMin, Dot>(a, i, weights, y, ldy, j0, cols); break;
    case 2: int8Tile<2, HasMin, Dot>(a, i, weights, y, ldy, j0, cols); break;
    case 1: int8Tile<1, HasMin, Dot>(a, i, weights, y, ldy, j0, cols); break;
    default: break;
  }
}

template <QFormat F, class Dot>
void matmulInt8(const ActRows& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  constexpr bool hasMin = F == QFormat::q4_1;
  MatrixBlocks<F> matrix{{}, RowLayout(F, w.blockSize)};
  for (int j0 = n0; j0 < n1; j0 += kTileCols) {
    const int cols = std::min(kTileCols, n1 - j0);
    for (int c = 0; c < kTileCols; c++)  // past n1: repeat the last real row, never stored
      matrix.row[c] = w.data + size_t(j0 + std::min(c, cols - 1)) * w.rowBytes;
    if (m <= kTileRows)
      int8Rows<hasMin, Dot>(a, m, matrix, y, ldy, j0, cols);
    else
      int8Rows<hasMin, Dot>(a, m, PanelBlocks::decode(matrix, w.k / kActBlock), y, ldy, j0, cols);
  }
}

// --- Matmul, f32 precision -------------------------------------------------------------------
//
// Tiles of 4 weight rows × up to 4 activation rows. The tile's 4 weight rows are dequantized one
// span of k at a time into a 4 KB stack buffer (exactly as by `dequantize`), and every group of
// up to 4 activation rows then runs over that span with one f32x4 FMA accumulator per output —
// 16 accumulators, 4 weight vectors, 1 input vector. Each output's accumulators are kept between
// spans, so the weights are dequantized once per tile whatever m is.

constexpr size_t kSpan = 256;  // elements of k per dequantized span

// acc[r][c] += w[c][p]·x[r][p] over p in [0, count); w row c at w + c·kSpan.
template <int Rows>
void f32Span(const float* w, const float* x, size_t ldx, size_t count, float32x4_t* sums) {
  float32x4_t acc[Rows][kTileCols];
#pragma GCC unroll 4
  for (int r = 0; r < Rows; r++)
#pragma GCC unroll 4
    for (int c = 0; c < kTileCols; c++) acc[r][c] = sums[r * kTileCols + c];
  for (size_t p = 0; p < count; p += 4) {
    float32x4_t wv[kTileCols];
#pragma GCC unroll 4
    for (int c = 0; c < kTileCols; c++) wv[c] = vld1q_f32(w + c * kSpan + p);
#pragma GCC unroll 4
    for (int r = 0; r < Rows; r++) {
      const float32x4_t xv = vld1q_f32(x + r * ldx + p);
#pragma GCC unroll 4
      for (int c = 0; c < kTileCols; c++) acc[r][c] = vfmaq_f32(acc[r][c], wv[c], xv);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < Rows; r++)
#pragma GCC unroll 4
    for (int c = 0; c < kTileCols; c++) sums[r * kTileCols + c] = acc[r][c];
}

template <QFormat F>
void matmulF32(const float* x, size_t ldx, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  // Per activation row, one partial-sum vector per weight row; counted in nativeMemory().scratch.
  thread_local Scratch sumScratch;
  const size_t sumCount = size_t(m) * kTileCols;
  auto* sums = static_cast<float32x4_t*>(sumScratch.get(sumCount * sizeof(float32x4_t)));
  const uint8x16x4_t planes = F == QFormat::nf4 ? nf4Planes() : uint8x16x4_t{};
  const RowLayout layout(F, w.blockSize);
  float tile[kTileCols * kSpan];
  for (int j0 = n0; j0 < n1; j0 += kTileCols) {
    const int cols = std::min(kTileCols, n1 - j0);
    std::fill(sums, sums + sumCount, vdupq_n_f32(0.0f));
    for (size_t start = 0; start < w.k; start += kSpan) {
      const size_t count = std::min(kSpan, w.k - start);
      for (int c = 0; c < kTileCols; c++) {
        float* out = tile + c * kSpan;
        if (c >= cols) {  // past n1: repeat the last real row, whose outputs are never stored
          std::memcpy(out, tile + (cols - 1) * kSpan, count * sizeof(float));
          continue;
        }
        dequantChunks<F>(w.data + size_t(j0 + c) * w.rowBytes, start / 32, count / 32, layout, planes, out);
      }
      int i = 0;
      for (; i + kTileRows <= m; i += kTileRows)
        f32Span<kTileRows>(tile, x + size_t(i) * ldx + start, ldx, count, sums + size_t(i) * kTileCols);
      switch (m - i) {
        case 3: f32Span<3>(tile, x + size_t(i) * ldx + start, ldx, count, sums + size_t(i) * kTileCols); break;
        case 2: f32Span<2>(tile, x + size_t(i) * ldx + start, ldx, count, sums + size_t(i) * kTileCols); break;
        case 1: f32Span<1>(tile, x + size_t(i) * ldx + start, ldx, count, sums + size_t(i) * kTileCols); break;
        default: break;
      }
    }
    for (int i = 0; i < m; i++) {
      const float32x4_t* s = sums + size_t(i) * kTileCols;
      storeColumns(vpaddq_f32(vpaddq_f32(s[0], s[1]), vpaddq_f32(s[2], s[3])), cols, y + size_t(i) * ldy + j0);
    }
  }
}

}  // namespace
}  // namespace sparq::quant_neon
