// Blockwise quantization kernels, avx512: quantize / dequantize of every format, the int8-precision
// activation quantizer and bulk f16 conversion, bit for bit the scalar kernels (quant__scalar.cc).
// The per-block steps, the 8-block group scans and the row drivers are shared with avx2 in
// quant_convert_x86.h, which also states how exactness is kept; here are the 512-bit element work
// (struct Avx512), the q8_0 and activation code writers (two blocks per 64-byte pack) and the
// q4_0, q4_1 and nf4 dequantizers (by 16-entry table). No alignment assumed; the f16 bulk
// conversions finish with lane masks. The avx512vnni table uses these same functions
// (quant_convert_avx512.h).
#include "quant_convert_avx512.h"
#include "quant_convert_x86.h"

namespace sparq {
namespace quant_avx512 {
namespace {

using namespace quant;
using namespace quant_x86;

inline __m512i absBits(__m512 v) { return _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)); }

// Lane g = op over the 16 lanes of m[g], for 8 vectors: a transposing tree of 3 ops per vector
// in place of a horizontal reduction each.
template <typename Op>
inline __m256i reduce8(const __m512i* m, Op op) {
  __m512i x[4], y[2];
  for (int i = 0; i < 4; i++)  // lanes 0–7 from m[2i], 8–15 from m[2i+1]
    x[i] = op(_mm512_shuffle_i32x4(m[2 * i], m[2 * i + 1], 0x44), _mm512_shuffle_i32x4(m[2 * i], m[2 * i + 1], 0xee));
  for (int i = 0; i < 2; i++)  // 128-bit quarter q from m[4i + q]
    y[i] = op(_mm512_shuffle_i32x4(x[2 * i], x[2 * i + 1], 0x88), _mm512_shuffle_i32x4(x[2 * i], x[2 * i + 1], 0xdd));
  // Quarter q: lanes 0–1 from m[q], 2–3 from m[4 + q]; then lane 0 is m[q] and lane 2 is m[4 + q].
  const __m512i z = op(_mm512_unpacklo_epi64(y[0], y[1]), _mm512_unpackhi_epi64(y[0], y[1]));
  const __m512i w = op(z, _mm512_shuffle_epi32(z, _MM_PERM_CDAB));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 2, 6, 10, 14, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, w));
}

inline __m512i maxS32(__m512i a, __m512i b) { return _mm512_max_epi32(a, b); }
inline __m512i addS32(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }
inline __m512i minF32(__m512i a, __m512i b) {
  return _mm512_castps_si512(_mm512_min_ps(_mm512_castsi512_ps(a), _mm512_castsi512_ps(b)));
}
inline __m512i maxF32(__m512i a, __m512i b) {
  return _mm512_castps_si512(_mm512_max_ps(_mm512_castsi512_ps(a), _mm512_castsi512_ps(b)));
}

// roundf(y) as int32, for |y| < 2³¹ (why this is exact: quant_convert_x86.h).
inline __m512i roundHalfAway(__m512 y) {
  // (y & sign) | 0.49999997 in one ternary-logic op (0xea: a & b | c).
  const __m512i bias = _mm512_ternarylogic_epi32(_mm512_castps_si512(y), _mm512_set1_epi32(int(0x80000000u)),
                                                 _mm512_castps_si512(_mm512_set1_ps(0.49999997f)), 0xea);
  return _mm512_cvttps_epi32(_mm512_add_ps(y, _mm512_castsi512_ps(bias)));
}

// 4 × 16 int32 in [−128, 127] → 64 bytes in element order.
inline __m512i packBytes(__m512i a, __m512i b, __m512i c, __m512i d) {
  // Per 128-bit lane L the packs leave dword j = elements 4L..4L+3 of the j-th input.
  const __m512i bytes = _mm512_packs_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), bytes);
}

// 32 codes in [0, 15] (elements 0–15 in lo, 16–31 in hi) → byte j = q[j] | q[j+16] << 4.
inline __m128i packNibbles(__m512i lo, __m512i hi) { return _mm512_cvtepi32_epi8(_mm512_or_si512(lo, _mm512_slli_epi32(hi, 4))); }

// 16 int8 → 16 floats.
inline __m512 bytesToF32(const uint8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}

// The element work of the shared code (quant_convert_x86.h states each function's contract).
struct Avx512 {
  // Two independent chains.
  static uint32_t absMaxBits(const float* v, size_t n) {
    __m512i m0 = absBits(_mm512_loadu_ps(v)), m1 = absBits(_mm512_loadu_ps(v + 16));
    for (size_t j = 32; j < n; j += 32) {
      m0 = _mm512_max_epi32(m0, absBits(_mm512_loadu_ps(v + j)));
      m1 = _mm512_max_epi32(m1, absBits(_mm512_loadu_ps(v + j + 16)));
    }
    return uint32_t(_mm512_reduce_max_epi32(_mm512_max_epi32(m0, m1)));
  }

  static __m256i groupAbsMaxBits(const float* v) {
    __m512i m[kGroup];
    for (int g = 0; g < kGroup; g++)
      m[g] = _mm512_max_epi32(absBits(_mm512_loadu_ps(v + 32 * g)), absBits(_mm512_loadu_ps(v + 32 * g + 16)));
    return reduce8(m, maxS32);
  }

  static bool groupMinMax(const float* v, __m256* min, __m256* max) {
    __m512i lo[kGroup], hi[kGroup];
    __mmask16 nan = 0;
    for (int g = 0; g < kGroup; g++) {
      const __m512 v0 = _mm512_loadu_ps(v + 32 * g), v1 = _mm512_loadu_ps(v + 32 * g + 16);
      nan |= _mm512_cmp_ps_mask(v0, v1, _CMP_UNORD_Q);  // a NaN in either
      lo[g] = _mm512_castps_si512(_mm512_min_ps(v0, v1));
      hi[g] = _mm512_castps_si512(_mm512_max_ps(v0, v1));
    }
    if (nan) return false;
    *min = _mm256_castsi256_ps(reduce8(lo, minF32));
    *max = _mm256_castsi256_ps(reduce8(hi, maxF32));
    return !(_mm256_cmp_ps_mask(*min, _mm256_set1_ps(-INFINITY), _CMP_EQ_OQ) |
             _mm256_cmp_ps_mask(*max, _mm256_set1_ps(INFINITY), _CMP_EQ_OQ));
  }

  static bool minMax(const float* v, float* min, float* max) {
    const __m512 v0 = _mm512_loadu_ps(v), v1 = _mm512_loadu_ps(v + 16);
    // A NaN in either vector makes the unordered compare true.
    if (_mm512_cmp_ps_mask(v0, v1, _CMP_UNORD_Q)) return false;
    *min = _mm512_reduce_min_ps(_mm512_min_ps(v0, v1));
    *max = _mm512_reduce_max_ps(_mm512_max_ps(v0, v1));
    return true;
  }

  static __mmask8 nonFinite8(__m256i absBits8) {
    return _mm256_cmpge_epu32_mask(absBits8, _mm256_set1_epi32(int(kNonFiniteBits)));
  }

  static __mmask8 f16Inf8(__m128i h) {
    return _mm_cmpeq_epi16_mask(_mm_and_si128(h, _mm_set1_epi16(0x7fff)), _mm_set1_epi16(0x7c00));
  }

  static __mmask8 zeros8(__m256 a, __m256 b) {
    return _mm256_cmp_ps_mask(a, _mm256_setzero_ps(), _CMP_EQ_OQ) | _mm256_cmp_ps_mask(b, _mm256_setzero_ps(), _CMP_EQ_OQ);
  }

  static __mmask8 signedMax8(__m256 min, __m256 max, __m256* signedMax) {
    const __m256 negMin = _mm256_xor_ps(min, _mm256_set1_ps(-0.0f));
    const __m256 larger = _mm256_mask_mov_ps(min, _mm256_cmp_ps_mask(max, negMin, _CMP_GT_OQ), max);
    const __mmask8 tie = _mm256_cmp_ps_mask(max, negMin, _CMP_EQ_OQ);
    const __mmask8 zero = _mm256_cmp_ps_mask(max, _mm256_setzero_ps(), _CMP_EQ_OQ);
    *signedMax = _mm256_maskz_mov_ps(__mmask8(~(tie & zero)), larger);
    return tie & __mmask8(~zero);
  }

  static float firstSignedMax(const float* v, uint32_t amaxBits) {
    const __m512i am = _mm512_set1_epi32(int(amaxBits));
    const uint32_t hit = uint32_t(_mm512_cmpeq_epi32_mask(absBits(_mm512_loadu_ps(v)), am)) |
                         uint32_t(_mm512_cmpeq_epi32_mask(absBits(_mm512_loadu_ps(v + 16)), am)) << 16;
    return v[__builtin_ctz(hit)];
  }

  static float firstZero(const float* v) {
    const __m512 zero = _mm512_setzero_ps();
    const uint32_t hit = uint32_t(_mm512_cmp_ps_mask(_mm512_loadu_ps(v), zero, _CMP_EQ_OQ)) |
                         uint32_t(_mm512_cmp_ps_mask(_mm512_loadu_ps(v + 16), zero, _CMP_EQ_OQ)) << 16;
    return v[__builtin_ctz(hit)];
  }

  // min(15, trunc(x·id + 8.5)).
  static __m128i q4_0Codes(const float* v, float id) {
    const __m512 idv = _mm512_set1_ps(id), half = _mm512_set1_ps(8.5f);
    const __m512i fifteen = _mm512_set1_epi32(15);
    const __m512 y0 = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(v), idv), half);
    const __m512 y1 = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(v + 16), idv), half);
    return packNibbles(_mm512_min_epi32(_mm512_cvttps_epi32(y0), fifteen), _mm512_min_epi32(_mm512_cvttps_epi32(y1), fifteen));
  }

  // min(15, trunc((x − min)·id + 0.5)).
  static __m128i q4_1Codes(const float* v, float min, float id) {
    const __m512 minv = _mm512_set1_ps(min), idv = _mm512_set1_ps(id), half = _mm512_set1_ps(0.5f);
    const __m512i fifteen = _mm512_set1_epi32(15);
    const __m512 y0 = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(v), minv), idv), half);
    const __m512 y1 = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(v + 16), minv), idv), half);
    return packNibbles(_mm512_min_epi32(_mm512_cvttps_epi32(y0), fifteen), _mm512_min_epi32(_mm512_cvttps_epi32(y1), fifteen));
  }

  // NF4 code of y = x·inv: the number of thresholds below y, found by a 4-step binary search over
  // the 15 ascending thresholds T (equal to the count for any y; a NaN passes no compare and gets
  // code 0). With c the code so far, step 2 compares with T[c + 3], step 3 with T[c + 1] and step 4
  // with T[c]: three tables, each T shifted down, so that c indexes them directly.
  struct Nf4Search {
    const __m512 t0 = _mm512_maskz_loadu_ps(0x7fff, kNf4Thresholds);  // lanes past T[14] are 0, never read
    const __m512 t1 = _mm512_maskz_loadu_ps(0x3fff, kNf4Thresholds + 1);
    const __m512 t3 = _mm512_maskz_loadu_ps(0x0fff, kNf4Thresholds + 3);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));

    __m512i code(__m512 y) const {
      const __mmask16 upper = _mm512_cmp_ps_mask(y, _mm512_set1_ps(kNf4Thresholds[7]), _CMP_GT_OQ);
      __m512i c = _mm512_maskz_mov_epi32(upper, _mm512_set1_epi32(8));
      c = _mm512_mask_add_epi32(c, _mm512_cmp_ps_mask(y, _mm512_permutexvar_ps(c, t3), _CMP_GT_OQ), c, _mm512_set1_epi32(4));
      c = _mm512_mask_add_epi32(c, _mm512_cmp_ps_mask(y, _mm512_permutexvar_ps(c, t1), _CMP_GT_OQ), c, _mm512_set1_epi32(2));
      return _mm512_mask_add_epi32(c, _mm512_cmp_ps_mask(y, _mm512_permutexvar_ps(c, t0), _CMP_GT_OQ), c, _mm512_set1_epi32(1));
    }

    void encode(const float* v, size_t n, float inv, uint8_t* out) const {
      const __m512 scale = _mm512_set1_ps(inv);
      for (size_t j = 0; j < n; j += 32) {
        const __m512i c0 = code(_mm512_mul_ps(_mm512_loadu_ps(v + j), scale));
        const __m512i c1 = code(_mm512_mul_ps(_mm512_loadu_ps(v + j + 16), scale));
        // Byte i of the 16 = c[2i] << 4 | c[2i+1].
        const __m512i pairs = _mm512_or_si512(_mm512_slli_epi32(_mm512_permutex2var_epi32(c0, even, c1), 4),
                                              _mm512_permutex2var_epi32(c0, odd, c1));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j / 2), _mm512_cvtepi32_epi8(pairs));
      }
    }
  };

  // 64 codes at a time: int8 blocks are 64…4096 elements.
  static void int8Codes(const float* v, size_t n, float amax, uint8_t* out) {
    const __m512 am = _mm512_set1_ps(amax), s127 = _mm512_set1_ps(127.0f);
    for (size_t j = 0; j < n; j += 64) {
      // (x / absmax)·127, rounded half to even by VCVTPS2DQ (MXCSR default), as nearbyintf does.
      __m512i q[4];
      for (int i = 0; i < 4; i++)
        q[i] = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_div_ps(_mm512_loadu_ps(v + j + 16 * i), am), s127));
      _mm512_storeu_si512(out + j, packBytes(q[0], q[1], q[2], q[3]));
    }
  }

  static void scaleCodes(const uint8_t* q, size_t n, float s, float* out) {
    const __m512 scale = _mm512_set1_ps(s);
    for (size_t j = 0; j < n; j += 16) _mm512_storeu_ps(out + j, _mm512_mul_ps(bytesToF32(q + j), scale));
  }
};

// Block-by-block q8_0 and activations, from one pair of loads: the tail of a row and the redo of a
// group with a failing block.

QStatus quantizeQ8_0Blocks(const float* x, size_t blocks, uint8_t* out) {
  for (size_t b = 0; b < blocks; b++) {
    const float* v = x + b * 32;
    uint8_t* o = out + b * 34;
    const __m512 v0 = _mm512_loadu_ps(v), v1 = _mm512_loadu_ps(v + 16);
    const uint32_t amaxBits = uint32_t(_mm512_reduce_max_epi32(_mm512_max_epi32(absBits(v0), absBits(v1))));
    if (amaxBits >= kNonFiniteBits) return QStatus::nonFinite;
    const float d = fromBits(amaxBits) / 127.0f;
    const uint16_t h = toF16(d);
    if (f16IsInf(h)) return QStatus::scaleOverflow;
    const __m512 id = _mm512_set1_ps(inverse(d));
    putU16(o, h);
    const __m512i codes = packBytes(roundHalfAway(_mm512_mul_ps(v0, id)), roundHalfAway(_mm512_mul_ps(v1, id)),
                                    _mm512_setzero_si512(), _mm512_setzero_si512());
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 2), _mm512_castsi512_si256(codes));
  }
  return QStatus::ok;
}

bool quantizeActBlocks(const float* x, size_t blocks, int8_t* q, float* d, int32_t* s) {
  for (size_t b = 0; b < blocks; b++) {
    const float* v = x + b * kActBlock;
    const __m512 v0 = _mm512_loadu_ps(v), v1 = _mm512_loadu_ps(v + 16);
    const uint32_t amaxBits = uint32_t(_mm512_reduce_max_epi32(_mm512_max_epi32(absBits(v0), absBits(v1))));
    if (amaxBits >= kNonFiniteBits) return false;
    d[b] = fromBits(amaxBits) / 127.0f;
    const __m512 id = _mm512_set1_ps(inverse(d[b]));
    const __m512i q0 = roundHalfAway(_mm512_mul_ps(v0, id)), q1 = roundHalfAway(_mm512_mul_ps(v1, id));
    const __m512i codes = packBytes(q0, q1, _mm512_setzero_si512(), _mm512_setzero_si512());
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * kActBlock), _mm512_castsi512_si256(codes));
    s[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
  }
  return true;
}

struct Q8_0Group : Q8_0Scales<Avx512> {
  void emit(const float* v, uint8_t* o) const {
    for (int g = 0; g < kGroup; g += 2) {  // two blocks per 64-byte pack
      const float* vg = v + 32 * g;
      const __m512 id0 = _mm512_set1_ps(id[g]), id1 = _mm512_set1_ps(id[g + 1]);
      const __m512i codes = packBytes(roundHalfAway(_mm512_mul_ps(_mm512_loadu_ps(vg), id0)),
                                      roundHalfAway(_mm512_mul_ps(_mm512_loadu_ps(vg + 16), id0)),
                                      roundHalfAway(_mm512_mul_ps(_mm512_loadu_ps(vg + 32), id1)),
                                      roundHalfAway(_mm512_mul_ps(_mm512_loadu_ps(vg + 48), id1)));
      uint8_t* og = o + 34 * g;
      putU16(og, field[g]);
      putU16(og + 34, field[g + 1]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(og + 2), _mm512_castsi512_si256(codes));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(og + 36), _mm512_extracti64x4_epi64(codes, 1));
    }
  }
};

// Activations: codes, d and sums of a group.
struct ActGroup : ActScales<Avx512> {
  void emit(const float* v, int8_t* q, float* dOut, int32_t* s) const {
    __m512i sums[kGroup];
    for (int g = 0; g < kGroup; g += 2) {  // two blocks per 64-byte pack
      const float* vg = v + kActBlock * g;
      const __m512 id0 = _mm512_set1_ps(id[g]), id1 = _mm512_set1_ps(id[g + 1]);
      const __m512i q0 = roundHalfAway(_mm512_mul_ps(_mm512_loadu_ps(vg), id0));
      const __m512i q1 = roundHalfAway(_mm512_mul_ps(_mm512_loadu_ps(vg + 16), id0));
      const __m512i q2 = roundHalfAway(_mm512_mul_ps(_mm512_loadu_ps(vg + 32), id1));
      const __m512i q3 = roundHalfAway(_mm512_mul_ps(_mm512_loadu_ps(vg + 48), id1));
      _mm512_storeu_si512(q + g * kActBlock, packBytes(q0, q1, q2, q3));
      sums[g] = _mm512_add_epi32(q0, q1);
      sums[g + 1] = _mm512_add_epi32(q2, q3);
    }
    _mm256_storeu_ps(dOut, _mm256_load_ps(d));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(s), reduce8(sums, addS32));
  }
};

}  // namespace

QStatus quantizeQ8_0(const float* x, size_t k, int /*blockSize*/, uint8_t* out) {
  return quant_x86::quantizeGroups<Q8_0Group, quantizeQ8_0Blocks, 34>(x, k, out);
}

QStatus quantizeQ4_0(const float* x, size_t k, int blockSize, uint8_t* out) {
  return quant_x86::quantizeQ4_0<Avx512>(x, k, blockSize, out);
}

QStatus quantizeQ4_1(const float* x, size_t k, int blockSize, uint8_t* out) {
  return quant_x86::quantizeQ4_1<Avx512>(x, k, blockSize, out);
}

QStatus quantizeNf4(const float* x, size_t k, int blockSize, uint8_t* out) {
  return quant_x86::quantizeNf4<Avx512>(x, k, blockSize, out);
}

QStatus quantizeInt8(const float* x, size_t k, int blockSize, uint8_t* out) {
  return quant_x86::quantizeInt8<Avx512>(x, k, blockSize, out);
}

void dequantizeQ8_0(const uint8_t* in, size_t k, int blockSize, float* out) {
  quant_x86::dequantizeQ8_0<Avx512>(in, k, blockSize, out);
}

// q4_0, q4_1 and nf4 dequantize by table: the 16 values a block can hold are computed once per
// block, by the very ops the scalar kernel applies per element, and VPERMPS picks them by code
// (it reads the low 4 bits of each index, so codes need no masking).

void dequantizeQ4_0(const uint8_t* in, size_t k, int /*blockSize*/, float* out) {
  const __m512 offsetCodes = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);  // q − 8
  for (size_t b = 0; b < k / 32; b++) {
    const uint8_t* p = in + b * 18;
    const __m512 values = _mm512_mul_ps(offsetCodes, _mm512_set1_ps(fromF16(getU16(p))));
    const __m512i codes = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2)));
    _mm512_storeu_ps(out + b * 32, _mm512_permutexvar_ps(codes, values));
    _mm512_storeu_ps(out + b * 32 + 16, _mm512_permutexvar_ps(_mm512_srli_epi32(codes, 4), values));
  }
}

void dequantizeQ4_1(const uint8_t* in, size_t k, int /*blockSize*/, float* out) {
  const __m512 plainCodes = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (size_t b = 0; b < k / 32; b++) {
    const uint8_t* p = in + b * 20;
    const __m512 d = _mm512_set1_ps(fromF16(getU16(p))), m = _mm512_set1_ps(fromF16(getU16(p + 2)));
    const __m512 values = _mm512_add_ps(_mm512_mul_ps(plainCodes, d), m);  // (q·d) + m: two roundings
    const __m512i codes = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 4)));
    _mm512_storeu_ps(out + b * 32, _mm512_permutexvar_ps(codes, values));
    _mm512_storeu_ps(out + b * 32 + 16, _mm512_permutexvar_ps(_mm512_srli_epi32(codes, 4), values));
  }
}

void dequantizeNf4(const uint8_t* in, size_t k, int blockSize, float* out) {
  const size_t bytes = blockBytes(QFormat::nf4, blockSize);
  const __m512 codebook = _mm512_loadu_ps(kNf4Codes);
  for (size_t b = 0; b < k / size_t(blockSize); b++) {
    const uint8_t* p = in + b * bytes;
    const __m512 values = _mm512_mul_ps(codebook, _mm512_set1_ps(getF32(p)));  // NF4[c]·absmax
    float* o = out + b * size_t(blockSize);
    for (int j = 0; j < blockSize / 2; j += 16) {
      // Byte i holds elements 2i (high nibble) and 2i+1 (low nibble); interleaving the bytes with
      // themselves shifted right by 4 puts every code in the low 4 bits of its own byte, in order.
      const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 4 + j));
      const __m128i high = _mm_srli_epi16(packed, 4);
      const __m512i c0 = _mm512_cvtepu8_epi32(_mm_unpacklo_epi8(high, packed));
      const __m512i c1 = _mm512_cvtepu8_epi32(_mm_unpackhi_epi8(high, packed));
      _mm512_storeu_ps(o + 2 * j, _mm512_permutexvar_ps(c0, values));
      _mm512_storeu_ps(o + 2 * j + 16, _mm512_permutexvar_ps(c1, values));
    }
  }
}

void dequantizeInt8(const uint8_t* in, size_t k, int blockSize, float* out) {
  quant_x86::dequantizeInt8<Avx512>(in, k, blockSize, out);
}

bool quantizeAct(const float* x, size_t k, ActRow out) {
  return quant_x86::quantizeActGroups<ActGroup, quantizeActBlocks>(x, k, out);
}

void f32ToF16Bulk(const float* x, size_t n, uint16_t* out) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1u);
    _mm256_mask_storeu_epi16(out + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT));
  }
}

void f16ToF32Bulk(const uint16_t* h, size_t n, float* out) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i))));
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(out + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, h + i)));
  }
}

}  // namespace quant_avx512

const QuantKernels quant__avx512 = quant_avx512::kernels("avx512", &quantMatmul__avx512);

}  // namespace sparq
