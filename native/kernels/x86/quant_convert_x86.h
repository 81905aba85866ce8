// Blockwise quantization on x86, shared by the conversion kernels of the avx2 and avx512 tiers
// (quant__avx2.cc, quant__avx512.cc): the per-block scalar steps, the scans that find the scales of
// 8 blocks at once (one 256-bit lane per block at either tier) and the row drivers. Each tier
// hands in its element work, at its own vector width, as a struct of static functions (Isa below).
//
// Everything here has internal linkage on purpose: this header is compiled once with the AVX2
// flags and once with the AVX-512 ones, and external-linkage inline functions would let the linker
// keep one copy for both (an ODR violation that could hand AVX-512 code to an AVX2-only CPU).
// Each translation unit gets its own copy instead.
//
// Bit for bit the scalar kernels (quant__scalar.cc):
// - every element step is the scalar's own IEEE f32 op (mul, add, sub, div), never an FMA. Block
//   scales (d, inverse(d), 1/absmax, absmax/127) are the same single ops, for 8 blocks in one
//   vector or one block in scalar code. f16 fields go through F16C, which rounds to nearest even,
//   overflows to ±Inf and maps NaN exactly as sparq::f32ToF16 / f16ToF32 do;
// - |x| maxima are integer maxima of the |x| bit patterns: ordered like the floats when finite,
//   and ≥ 0x7f800000 exactly when the block holds ±Inf or NaN. Signed min/max use MINPS/MAXPS
//   after an explicit NaN test; where the scalar loop's first-one-wins rule shows (a zero extreme
//   of either sign, +a and −a both largest) the first such element is looked up;
// - roundf(y), for |y| < 2³¹, is trunc(y + copysign(0.5 − 2⁻²⁵, y)), one rounded add (each tier's
//   roundHalfAway). For y ≥ 0 with frac(y) < 0.5 the exact sum stays more than half an ulp below
//   ⌊y⌋ + 1 and truncates to ⌊y⌋; with frac(y) ≥ 0.5 it is at least ⌊y⌋ + 1 − 2⁻²⁵, which rounds
//   to ⌊y⌋ + 1 (y = 0.5 is a tie, broken to the even 1.0), and stays below ⌊y⌋ + 2. Negative y
//   mirrors it. Checked against roundf for every float of magnitude below 2³¹. (Adding 0.5 itself
//   would fail at 0.49999997.);
// - blocks are checked in order, NaN/±Inf before f16 overflow within a block, as the scalar loop.
// No alignment assumed. Every block size is a multiple of 32, so blocks need no tails.
//
// What a tier supplies, as static members of its Isa struct. v is one block of 32 floats, or 8
// consecutive blocks for the group forms; a lane mask has bit g set for block g.
//   absMaxBits(v, n) → uint32_t          max |x| bits of n floats (n a multiple of 32)
//   groupAbsMaxBits(v) → __m256i         the same per block of the 8, lane g = block g
//   groupMinMax(v, &min, &max) → bool    min and max per block of the 8 (__m256); false on NaN/±Inf
//   minMax(v, &min, &max) → bool         min and max of one block (float); false on NaN
//                                        (both as MINPS/MAXPS order them: a zero extreme may be
//                                        either zero)
//   nonFinite8(absBits), f16Inf8(fields), zeros8(a, b) → lane mask
//                                        |x| bits of NaN/±Inf; f16 ±Inf; a or b is ±0
//   signedMax8(min, max, &signedMax) → lane mask of ties (see Q4_0Group::scan)
//   firstSignedMax(v, amaxBits), firstZero(v) → float
//                                        the block's first x with those |x| bits; its first ±0
//   q4_0Codes(v, id), q4_1Codes(v, min, id) → __m128i
//                                        the block's 32 codes in the ggml nibble layout
//   Nf4Search: encode(v, n, inv, out)    n nf4 codes of x·inv, two a byte
//   int8Codes(v, n, amax, out)           n codes nearbyint((x / amax)·127), n a multiple of 64
//   scaleCodes(q, n, s, out)             out[j] = float(int8 q[j])·s, n a multiple of 16
#pragma once
// GCC 12 reports the deliberately undefined pass-through operand inside many AVX-512 intrinsics
// as (maybe-)uninitialized (GCC PR 105593); silence that for the header's own code only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cmath>
#include <cstring>

#include "sparq/quant_common.h"

namespace sparq::quant_x86 {
namespace {

using namespace quant;

constexpr uint32_t kNonFiniteBits = 0x7f800000u;  // |x| bits at or above this: ±Inf or NaN

// q8_0, q4_0, q4_1 and the activations take 8 blocks of 32 at a time. The 8 block extremes are
// reduced into one vector, so that d, inverse(d), the f16 fields and the failure tests are one
// op for all 8. A group holding a failing block is redone block by block, which returns the
// status of its first failing block, as the scalar loop does; the tail of a row goes the same way.
constexpr int kGroup = 8;

inline float fromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t toF16(float x) { return uint16_t(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT)); }
inline float fromF16(uint16_t h) { return _cvtsh_ss(h); }

// inverse(d) per lane: 1/d, or 0 where that is ±Inf (d = ±0, or |d| < 2⁻¹²⁸).
inline __m256 inverse8(__m256 d) {
  const __m256 r = _mm256_div_ps(_mm256_set1_ps(1.0f), d);
  return _mm256_and_ps(r, _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), r), _mm256_set1_ps(INFINITY), _CMP_LT_OQ));
}

// Block-by-block forms: the tail of a row and the redo of a group with a failing block. (q8_0's
// and the activations' are each tier's own, which keeps the block in registers its own way.)

template <class Isa>
QStatus quantizeQ4_0Blocks(const float* x, size_t blocks, uint8_t* out) {
  for (size_t b = 0; b < blocks; b++) {
    const float* v = x + b * 32;
    uint8_t* o = out + b * 18;
    const uint32_t amaxBits = Isa::absMaxBits(v, 32);
    if (amaxBits >= kNonFiniteBits) return QStatus::nonFinite;
    // 0 (not −0) when all are zero, as in the scalar loop.
    const float max = amaxBits ? Isa::firstSignedMax(v, amaxBits) : 0.0f;
    const float d = max / -8.0f;
    const uint16_t h = toF16(d);
    if (f16IsInf(h)) return QStatus::scaleOverflow;
    putU16(o, h);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 2), Isa::q4_0Codes(v, inverse(d)));
  }
  return QStatus::ok;
}

template <class Isa>
QStatus quantizeQ4_1Blocks(const float* x, size_t blocks, uint8_t* out) {
  for (size_t b = 0; b < blocks; b++) {
    const float* v = x + b * 32;
    uint8_t* o = out + b * 20;
    // NaN fails minMax; ±Inf shows up as the min or max.
    float min, max;
    if (!Isa::minMax(v, &min, &max) || !isFinite(min) || !isFinite(max)) return QStatus::nonFinite;
    if (min == 0.0f) min = Isa::firstZero(v);
    if (max == 0.0f) max = Isa::firstZero(v);
    const float d = (max - min) / 15.0f;
    const uint16_t hd = toF16(d), hm = toF16(min);
    if (f16IsInf(hd) || f16IsInf(hm)) return QStatus::scaleOverflow;
    putU16(o, hd);
    putU16(o + 2, hm);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 4), Isa::q4_1Codes(v, min, inverse(d)));
  }
  return QStatus::ok;
}

// Groups of 8 blocks: scan() computes the scales of a group (false when it holds a failing block),
// emit() writes the blocks with them. The q8_0 and activation groups take their scans from here
// and write their codes in each tier.

template <class Isa>
struct Q8_0Scales {
  alignas(32) float id[kGroup];
  alignas(16) uint16_t field[kGroup];

  bool scan(const float* v) {
    const __m256i amaxBits = Isa::groupAbsMaxBits(v);
    const __m256 d = _mm256_div_ps(_mm256_castsi256_ps(amaxBits), _mm256_set1_ps(127.0f));
    const __m128i h = _mm256_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT);
    if (Isa::nonFinite8(amaxBits) | Isa::f16Inf8(h)) return false;
    _mm256_store_ps(id, inverse8(d));
    _mm_store_si128(reinterpret_cast<__m128i*>(field), h);
    return true;
  }
};

// Activations: d and inverse(d) of a group.
template <class Isa>
struct ActScales {
  alignas(32) float d[kGroup], id[kGroup];

  bool scan(const float* v) {
    const __m256i amaxBits = Isa::groupAbsMaxBits(v);
    if (Isa::nonFinite8(amaxBits)) return false;
    const __m256 scale = _mm256_div_ps(_mm256_castsi256_ps(amaxBits), _mm256_set1_ps(127.0f));
    _mm256_store_ps(d, scale);
    _mm256_store_ps(id, inverse8(scale));
    return true;
  }
};

template <class Isa>
struct Q4_0Group {
  alignas(32) float id[kGroup];
  alignas(16) uint16_t field[kGroup];

  bool scan(const float* v) {
    __m256 mn, mx;
    if (!Isa::groupMinMax(v, &mn, &mx)) return false;
    // The signed x of largest |x| is max when max > −min and min when −min > max. On a tie
    // (+a and −a both present) the first one wins: signedMax8 returns those lanes, looked up
    // here. An all-zero block gives 0, not −0.
    __m256 signedMax;
    if (const auto ties = Isa::signedMax8(mn, mx, &signedMax)) {
      alignas(32) float max[kGroup];
      _mm256_store_ps(max, signedMax);
      for (int g = 0; g < kGroup; g++) {
        uint32_t bits;
        std::memcpy(&bits, &max[g], 4);
        if (ties >> g & 1) max[g] = Isa::firstSignedMax(v + 32 * g, bits & 0x7fffffffu);
      }
      signedMax = _mm256_load_ps(max);
    }
    const __m256 d = _mm256_div_ps(signedMax, _mm256_set1_ps(-8.0f));
    const __m128i h = _mm256_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT);
    if (Isa::f16Inf8(h)) return false;
    _mm256_store_ps(id, inverse8(d));
    _mm_store_si128(reinterpret_cast<__m128i*>(field), h);
    return true;
  }

  void emit(const float* v, uint8_t* o) const {
    for (int g = 0; g < kGroup; g++) {
      putU16(o + 18 * g, field[g]);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 18 * g + 2), Isa::q4_0Codes(v + 32 * g, id[g]));
    }
  }
};

template <class Isa>
struct Q4_1Group {
  alignas(32) float id[kGroup], min[kGroup];
  alignas(16) uint16_t dField[kGroup], mField[kGroup];

  bool scan(const float* v) {
    __m256 mn, mx;
    if (!Isa::groupMinMax(v, &mn, &mx)) return false;
    // A zero extreme takes the sign of the block's first zero, as in the scalar loop.
    if (const auto zero = Isa::zeros8(mn, mx)) {
      alignas(32) float max[kGroup];
      _mm256_store_ps(min, mn);
      _mm256_store_ps(max, mx);
      for (int g = 0; g < kGroup; g++) {
        if (!(zero >> g & 1)) continue;
        if (min[g] == 0.0f) min[g] = Isa::firstZero(v + 32 * g);
        if (max[g] == 0.0f) max[g] = Isa::firstZero(v + 32 * g);
      }
      mn = _mm256_load_ps(min);
      mx = _mm256_load_ps(max);
    }
    const __m256 d = _mm256_div_ps(_mm256_sub_ps(mx, mn), _mm256_set1_ps(15.0f));
    const __m128i hd = _mm256_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT), hm = _mm256_cvtps_ph(mn, _MM_FROUND_TO_NEAREST_INT);
    if (Isa::f16Inf8(hd) | Isa::f16Inf8(hm)) return false;
    _mm256_store_ps(id, inverse8(d));
    _mm256_store_ps(min, mn);
    _mm_store_si128(reinterpret_cast<__m128i*>(dField), hd);
    _mm_store_si128(reinterpret_cast<__m128i*>(mField), hm);
    return true;
  }

  void emit(const float* v, uint8_t* o) const {
    for (int g = 0; g < kGroup; g++) {
      uint8_t* og = o + 20 * g;
      putU16(og, dField[g]);
      putU16(og + 2, mField[g]);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(og + 4), Isa::q4_1Codes(v + 32 * g, min[g], id[g]));
    }
  }
};

// A row of k/32 blocks, group by group, the scales of group i+1 computed before the codes of group
// i so that the reduction and division chain of the one overlaps the code arithmetic of the
// other. When a scan fails, the rest of the row from group i on goes block by block, which stops
// at the first failing block with its status; the tail of the row goes block by block too.
template <typename Group, QStatus (*kBlocks)(const float*, size_t, uint8_t*), size_t kBytes>
QStatus quantizeGroups(const float* x, size_t k, uint8_t* out) {
  constexpr size_t kIn = 32 * kGroup, kOut = kBytes * kGroup;
  const size_t blocks = k / 32, groups = blocks / kGroup;
  Group group[2];
  if (groups && !group[0].scan(x)) return kBlocks(x, blocks, out);
  for (size_t i = 0; i < groups; i++) {
    if (i + 1 < groups && !group[(i + 1) & 1].scan(x + (i + 1) * kIn))
      return kBlocks(x + i * kIn, blocks - i * kGroup, out + i * kOut);
    group[i & 1].emit(x + i * kIn, out + i * kOut);
  }
  return kBlocks(x + groups * kIn, blocks - groups * kGroup, out + groups * kOut);
}

// The activation row the same way; a failing block only needs the row to stop with false.
template <typename Group, bool (*kBlocks)(const float*, size_t, int8_t*, float*, int32_t*)>
bool quantizeActGroups(const float* x, size_t k, ActRow out) {
  constexpr size_t kIn = kActBlock * kGroup;
  const size_t blocks = k / kActBlock, groups = blocks / kGroup;
  Group group[2];  // one group ahead, as in quantizeGroups
  size_t done = 0;  // blocks written by groups; from the first failing scan on, block by block
  if (groups && group[0].scan(x)) {
    for (size_t i = 0; i < groups; i++, done += kGroup) {
      if (i + 1 < groups && !group[(i + 1) & 1].scan(x + (i + 1) * kIn)) break;
      group[i & 1].emit(x + i * kIn, out.q + i * kIn, out.d + i * kGroup, out.s + i * kGroup);
    }
  }
  return kBlocks(x + done * kActBlock, blocks - done, out.q + done * kActBlock, out.d + done, out.s + done);
}

template <class Isa>
QStatus quantizeQ4_0(const float* x, size_t k, int /*blockSize*/, uint8_t* out) {
  return quantizeGroups<Q4_0Group<Isa>, quantizeQ4_0Blocks<Isa>, 18>(x, k, out);
}

template <class Isa>
QStatus quantizeQ4_1(const float* x, size_t k, int /*blockSize*/, uint8_t* out) {
  return quantizeGroups<Q4_1Group<Isa>, quantizeQ4_1Blocks<Isa>, 20>(x, k, out);
}

// nf4 and int8: a row of blocks of n, each stored as its f32 |x| maximum and encode(v, amax, codes).
// The maximum of block b+1 is taken before the codes of block b, so that its reduction (and the
// division after it) overlaps them; a failing block still stops the row before anything of it is
// written, in block order.
template <class Isa, typename Encode>
QStatus quantizeAbsMaxBlocks(const float* x, size_t k, size_t n, size_t bytes, uint8_t* out, Encode encode) {
  const size_t blocks = k / n;
  uint32_t amaxBits = blocks ? Isa::absMaxBits(x, n) : 0;
  for (size_t b = 0; b < blocks; b++) {
    if (amaxBits >= kNonFiniteBits) return QStatus::nonFinite;
    const float* v = x + b * n;
    uint8_t* o = out + b * bytes;
    const uint32_t nextBits = b + 1 < blocks ? Isa::absMaxBits(v + n, n) : 0;
    const float amax = fromBits(amaxBits);
    putF32(o, amax);
    encode(v, amax, o + 4);
    amaxBits = nextBits;
  }
  return QStatus::ok;
}

template <class Isa>
QStatus quantizeNf4(const float* x, size_t k, int blockSize, uint8_t* out) {
  const size_t n = size_t(blockSize), bytes = blockBytes(QFormat::nf4, blockSize);
  const typename Isa::Nf4Search search;
  return quantizeAbsMaxBlocks<Isa>(x, k, n, bytes, out, [&](const float* v, float amax, uint8_t* codes) {
    search.encode(v, n, 1.0f / amax, codes);  // 1/amax: +Inf for an all-zero block, as in bitsandbytes
  });
}

template <class Isa>
QStatus quantizeInt8(const float* x, size_t k, int blockSize, uint8_t* out) {
  const size_t n = size_t(blockSize), bytes = blockBytes(QFormat::int8, blockSize);
  return quantizeAbsMaxBlocks<Isa>(x, k, n, bytes, out, [n](const float* v, float amax, uint8_t* codes) {
    if (amax == 0.0f) {
      std::memset(codes, 0, n);
      return;
    }
    Isa::int8Codes(v, n, amax, codes);
  });
}

template <class Isa>
void dequantizeQ8_0(const uint8_t* in, size_t k, int /*blockSize*/, float* out) {
  for (size_t b = 0; b < k / 32; b++) {
    const uint8_t* p = in + b * 34;
    Isa::scaleCodes(p + 2, 32, fromF16(getU16(p)), out + b * 32);
  }
}

template <class Isa>
void dequantizeInt8(const uint8_t* in, size_t k, int blockSize, float* out) {
  const size_t bytes = blockBytes(QFormat::int8, blockSize);
  for (size_t b = 0; b < k / size_t(blockSize); b++) {
    const uint8_t* p = in + b * bytes;
    Isa::scaleCodes(p + 4, size_t(blockSize), getF32(p) / 127.0f, out + b * size_t(blockSize));
  }
}

}  // namespace
}  // namespace sparq::quant_x86
