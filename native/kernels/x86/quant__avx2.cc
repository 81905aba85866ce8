// Blockwise quantization kernels, avx2: quantize / dequantize of every format, the int8-precision
// activation quantizer and bulk f16 conversion, bit for bit the scalar kernels (quant__scalar.cc).
// The per-block steps, the 8-block group scans and the row drivers are shared with avx512 in
// quant_convert_x86.h, which also states how exactness is kept; here are the 256-bit element work
// (struct Avx2), the q8_0 and activation code writers and the q4_0, q4_1 and nf4 dequantizers.
// No alignment assumed; the f16 bulk conversions finish with the scalar helpers.
#include "quant_convert_x86.h"
#include "sparq/kquant.h"

namespace sparq {
namespace {

using namespace quant;
using namespace quant_x86;

inline __m256i absBits(__m256 v) { return _mm256_and_si256(_mm256_castps_si256(v), _mm256_set1_epi32(0x7fffffff)); }

inline uint32_t hmaxBits(__m256i v) {
  __m128i m = _mm_max_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  m = _mm_max_epi32(m, _mm_shuffle_epi32(m, _MM_SHUFFLE(1, 0, 3, 2)));
  m = _mm_max_epi32(m, _mm_shuffle_epi32(m, _MM_SHUFFLE(2, 3, 0, 1)));
  return uint32_t(_mm_cvtsi128_si32(m));
}

inline int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

// Lane g = op over the 8 lanes of m[g], for 8 vectors: a transposing tree of under 3 ops per
// vector in place of a horizontal reduction each.
template <typename Op>
inline __m256i reduce8(const __m256i* m, Op op) {
  __m256i x[4], y[2];
  for (int i = 0; i < 4; i++)  // lanes 0–3 from m[2i], 4–7 from m[2i+1]
    x[i] = op(_mm256_permute2x128_si256(m[2 * i], m[2 * i + 1], 0x20), _mm256_permute2x128_si256(m[2 * i], m[2 * i + 1], 0x31));
  for (int i = 0; i < 2; i++)  // lanes 0–1 m[4i], 2–3 m[4i+2] | 4–5 m[4i+1], 6–7 m[4i+3]
    y[i] = op(_mm256_unpacklo_epi64(x[2 * i], x[2 * i + 1]), _mm256_unpackhi_epi64(x[2 * i], x[2 * i + 1]));
  const __m256 y0 = _mm256_castsi256_ps(y[0]), y1 = _mm256_castsi256_ps(y[1]);
  // m[0], m[2], m[4], m[6] | m[1], m[3], m[5], m[7]
  const __m256i z = op(_mm256_castps_si256(_mm256_shuffle_ps(y0, y1, 0x88)), _mm256_castps_si256(_mm256_shuffle_ps(y0, y1, 0xdd)));
  return _mm256_permutevar8x32_epi32(z, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

inline __m256i maxS32(__m256i a, __m256i b) { return _mm256_max_epi32(a, b); }
inline __m256i addS32(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }
inline __m256i minF32(__m256i a, __m256i b) {
  return _mm256_castps_si256(_mm256_min_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b)));
}
inline __m256i maxF32(__m256i a, __m256i b) {
  return _mm256_castps_si256(_mm256_max_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b)));
}

// Max |x| bits of the block of 32 at v, still 8 lanes wide.
inline __m256i blockAbsMax(const float* v) {
  return _mm256_max_epi32(_mm256_max_epi32(absBits(_mm256_loadu_ps(v)), absBits(_mm256_loadu_ps(v + 8))),
                          _mm256_max_epi32(absBits(_mm256_loadu_ps(v + 16)), absBits(_mm256_loadu_ps(v + 24))));
}

// roundf(y) as int32, for |y| < 2³¹ (why this is exact: quant_convert_x86.h).
inline __m256i roundHalfAway(__m256 y) {
  const __m256 bias = _mm256_or_ps(_mm256_and_ps(y, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(0.49999997f));
  return _mm256_cvttps_epi32(_mm256_add_ps(y, bias));
}

// 4 × 8 int32 in [−128, 127] → 32 bytes in element order.
inline __m256i packBytes(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
  return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// 32 codes in [0, 15] → the ggml nibble layout: byte j = q[j] | q[j+16] << 4.
inline __m128i packNibbles(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i bytes = packBytes(a, b, c, d);
  // The high nibbles come from codes ≤ 15, so a 16-bit shift never carries across bytes.
  return _mm_or_si128(_mm256_castsi256_si128(bytes), _mm_slli_epi16(_mm256_extracti128_si256(bytes, 1), 4));
}

// roundHalfAway(x·id) for the block of 32 at v: four vectors of codes.
inline void q8Codes(const float* v, __m256 id, __m256i* q) {
  for (int i = 0; i < 4; i++) q[i] = roundHalfAway(_mm256_mul_ps(_mm256_loadu_ps(v + 8 * i), id));
}

inline float hmin(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  m = _mm_min_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// 8 int8 → 8 floats.
inline __m256 bytesToF32(const uint8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

// The element work of the shared code (quant_convert_x86.h states each function's contract).
struct Avx2 {
  // Four independent chains.
  static uint32_t absMaxBits(const float* v, size_t n) {
    __m256i m0 = _mm256_setzero_si256(), m1 = m0, m2 = m0, m3 = m0;
    for (size_t j = 0; j < n; j += 32) {
      m0 = _mm256_max_epi32(m0, absBits(_mm256_loadu_ps(v + j)));
      m1 = _mm256_max_epi32(m1, absBits(_mm256_loadu_ps(v + j + 8)));
      m2 = _mm256_max_epi32(m2, absBits(_mm256_loadu_ps(v + j + 16)));
      m3 = _mm256_max_epi32(m3, absBits(_mm256_loadu_ps(v + j + 24)));
    }
    return hmaxBits(_mm256_max_epi32(_mm256_max_epi32(m0, m1), _mm256_max_epi32(m2, m3)));
  }

  static __m256i groupAbsMaxBits(const float* v) {
    __m256i m[kGroup];
    for (int g = 0; g < kGroup; g++) m[g] = blockAbsMax(v + 32 * g);
    return reduce8(m, maxS32);
  }

  static bool groupMinMax(const float* v, __m256* min, __m256* max) {
    __m256i lo[kGroup], hi[kGroup];
    __m256 nan = _mm256_setzero_ps();
    for (int g = 0; g < kGroup; g++) {
      const float* vg = v + 32 * g;
      const __m256 e0 = _mm256_loadu_ps(vg), e1 = _mm256_loadu_ps(vg + 8), e2 = _mm256_loadu_ps(vg + 16),
                   e3 = _mm256_loadu_ps(vg + 24);
      nan = _mm256_or_ps(nan, _mm256_or_ps(_mm256_cmp_ps(e0, e1, _CMP_UNORD_Q), _mm256_cmp_ps(e2, e3, _CMP_UNORD_Q)));
      lo[g] = _mm256_castps_si256(_mm256_min_ps(_mm256_min_ps(e0, e1), _mm256_min_ps(e2, e3)));
      hi[g] = _mm256_castps_si256(_mm256_max_ps(_mm256_max_ps(e0, e1), _mm256_max_ps(e2, e3)));
    }
    if (_mm256_movemask_ps(nan)) return false;
    *min = _mm256_castsi256_ps(reduce8(lo, minF32));
    *max = _mm256_castsi256_ps(reduce8(hi, maxF32));
    const __m256 inf = _mm256_or_ps(_mm256_cmp_ps(*min, _mm256_set1_ps(-INFINITY), _CMP_EQ_OQ),
                                    _mm256_cmp_ps(*max, _mm256_set1_ps(INFINITY), _CMP_EQ_OQ));
    return !_mm256_movemask_ps(inf);
  }

  static bool minMax(const float* v, float* min, float* max) {
    __m256 e[4];
    for (int i = 0; i < 4; i++) e[i] = _mm256_loadu_ps(v + 8 * i);
    // NaN anywhere makes one of the unordered compares true.
    const __m256 nan = _mm256_or_ps(_mm256_cmp_ps(e[0], e[1], _CMP_UNORD_Q), _mm256_cmp_ps(e[2], e[3], _CMP_UNORD_Q));
    if (_mm256_movemask_ps(nan)) return false;
    *min = hmin(_mm256_min_ps(_mm256_min_ps(e[0], e[1]), _mm256_min_ps(e[2], e[3])));
    *max = hmax(_mm256_max_ps(_mm256_max_ps(e[0], e[1]), _mm256_max_ps(e[2], e[3])));
    return true;
  }

  static int nonFinite8(__m256i absBits8) {
    return _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(absBits8, _mm256_set1_epi32(int(kNonFiniteBits - 1)))));
  }

  static int f16Inf8(__m128i h) {
    const __m128i inf = _mm_cmpeq_epi16(_mm_and_si128(h, _mm_set1_epi16(0x7fff)), _mm_set1_epi16(0x7c00));
    return _mm_movemask_epi8(_mm_packs_epi16(inf, _mm_setzero_si128())) & 0xff;
  }

  static int zeros8(__m256 a, __m256 b) {
    return _mm256_movemask_ps(_mm256_or_ps(_mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_EQ_OQ),
                                           _mm256_cmp_ps(b, _mm256_setzero_ps(), _CMP_EQ_OQ)));
  }

  static int signedMax8(__m256 min, __m256 max, __m256* signedMax) {
    const __m256 negMin = _mm256_xor_ps(min, _mm256_set1_ps(-0.0f));
    const __m256 larger = _mm256_blendv_ps(min, max, _mm256_cmp_ps(max, negMin, _CMP_GT_OQ));
    const __m256 tie = _mm256_cmp_ps(max, negMin, _CMP_EQ_OQ), zero = _mm256_cmp_ps(max, _mm256_setzero_ps(), _CMP_EQ_OQ);
    *signedMax = _mm256_andnot_ps(_mm256_and_ps(tie, zero), larger);
    return _mm256_movemask_ps(_mm256_andnot_ps(zero, tie));
  }

  static float firstSignedMax(const float* v, uint32_t amaxBits) {
    const __m256i b = _mm256_set1_epi32(int(amaxBits));
    uint32_t hit = 0;
    for (int i = 0; i < 4; i++) {
      const __m256i equal = _mm256_cmpeq_epi32(absBits(_mm256_loadu_ps(v + 8 * i)), b);
      hit |= uint32_t(_mm256_movemask_ps(_mm256_castsi256_ps(equal))) << (8 * i);
    }
    return v[__builtin_ctz(hit)];
  }

  static float firstZero(const float* v) {
    uint32_t hit = 0;
    for (int i = 0; i < 4; i++)
      hit |= uint32_t(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(v + 8 * i), _mm256_setzero_ps(), _CMP_EQ_OQ))) << (8 * i);
    return v[__builtin_ctz(hit)];
  }

  // min(15, trunc(x·id + 8.5)).
  static __m128i q4_0Codes(const float* v, float id) {
    const __m256 idv = _mm256_set1_ps(id);
    __m256i q[4];
    for (int i = 0; i < 4; i++) {
      const __m256 y = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + 8 * i), idv), _mm256_set1_ps(8.5f));
      q[i] = _mm256_min_epi32(_mm256_cvttps_epi32(y), _mm256_set1_epi32(15));
    }
    return packNibbles(q[0], q[1], q[2], q[3]);
  }

  // min(15, trunc((x − min)·id + 0.5)).
  static __m128i q4_1Codes(const float* v, float min, float id) {
    const __m256 minv = _mm256_set1_ps(min), idv = _mm256_set1_ps(id);
    __m256i q[4];
    for (int i = 0; i < 4; i++) {
      const __m256 y = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(v + 8 * i), minv), idv), _mm256_set1_ps(0.5f));
      q[i] = _mm256_min_epi32(_mm256_cvttps_epi32(y), _mm256_set1_epi32(15));
    }
    return packNibbles(q[0], q[1], q[2], q[3]);
  }

  // NF4 code of y = x·inv: the number of thresholds below y, found by a 4-step binary search over
  // the 15 ascending thresholds T (equal to the count for any y; a NaN passes no compare and gets
  // code 0). h = code / 2 so far indexes an 8-entry table per step: step 3 compares with T[2h + 1]
  // (h ∈ {0, 2, 4, 6}), step 4 with T[2h].
  struct Nf4Search {
    const __m256 odd = _mm256_setr_ps(kNf4Thresholds[1], 0.0f, kNf4Thresholds[5], 0.0f, kNf4Thresholds[9], 0.0f,
                                      kNf4Thresholds[13], 0.0f);
    const __m256 even = _mm256_setr_ps(kNf4Thresholds[0], kNf4Thresholds[2], kNf4Thresholds[4], kNf4Thresholds[6],
                                       kNf4Thresholds[8], kNf4Thresholds[10], kNf4Thresholds[12], kNf4Thresholds[14]);

    __m256i code(__m256 y) const {
      const __m256 upper = _mm256_cmp_ps(y, _mm256_set1_ps(kNf4Thresholds[7]), _CMP_GT_OQ);
      __m256i h = _mm256_and_si256(_mm256_castps_si256(upper), _mm256_set1_epi32(4));
      const __m256 t2 = _mm256_blendv_ps(_mm256_set1_ps(kNf4Thresholds[3]), _mm256_set1_ps(kNf4Thresholds[11]), upper);
      h = _mm256_or_si256(h, _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(y, t2, _CMP_GT_OQ)), _mm256_set1_epi32(2)));
      const __m256 t3 = _mm256_permutevar8x32_ps(odd, h);
      h = _mm256_or_si256(h, _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(y, t3, _CMP_GT_OQ)), _mm256_set1_epi32(1)));
      const __m256 t4 = _mm256_permutevar8x32_ps(even, h);
      return _mm256_sub_epi32(_mm256_slli_epi32(h, 1), _mm256_castps_si256(_mm256_cmp_ps(y, t4, _CMP_GT_OQ)));
    }

    void encode(const float* v, size_t n, float inv, uint8_t* out) const {
      const __m256 scale = _mm256_set1_ps(inv);
      for (size_t j = 0; j < n; j += 32) {
        __m256i c[4];
        for (int i = 0; i < 4; i++) c[i] = code(_mm256_mul_ps(_mm256_loadu_ps(v + j + 8 * i), scale));
        // Bytes in element order; then per byte pair (even, odd): even << 4 | odd.
        const __m256i codes = packBytes(c[0], c[1], c[2], c[3]);
        const __m256i pairs =
            _mm256_and_si256(_mm256_or_si256(_mm256_slli_epi16(codes, 4), _mm256_srli_epi16(codes, 8)), _mm256_set1_epi16(0xff));
        const __m128i packed = _mm_packus_epi16(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j / 2), packed);
      }
    }
  };

  static void int8Codes(const float* v, size_t n, float amax, uint8_t* out) {
    const __m256 am = _mm256_set1_ps(amax), s127 = _mm256_set1_ps(127.0f);
    for (size_t j = 0; j < n; j += 32) {
      __m256i q[4];  // (x / absmax)·127, rounded half to even by VCVTPS2DQ (MXCSR default), as nearbyintf does
      for (int i = 0; i < 4; i++)
        q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_div_ps(_mm256_loadu_ps(v + j + 8 * i), am), s127));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j), packBytes(q[0], q[1], q[2], q[3]));
    }
  }

  static void scaleCodes(const uint8_t* q, size_t n, float s, float* out) {
    const __m256 scale = _mm256_set1_ps(s);
    for (size_t j = 0; j < n; j += 8) _mm256_storeu_ps(out + j, _mm256_mul_ps(bytesToF32(q + j), scale));
  }
};

// Block-by-block q8_0 and activations: the tail of a row and the redo of a group with a failing block.

QStatus quantizeQ8_0Blocks(const float* x, size_t blocks, uint8_t* out) {
  for (size_t b = 0; b < blocks; b++) {
    const float* v = x + b * 32;
    uint8_t* o = out + b * 34;
    const uint32_t amaxBits = Avx2::absMaxBits(v, 32);
    if (amaxBits >= kNonFiniteBits) return QStatus::nonFinite;
    const float d = fromBits(amaxBits) / 127.0f;
    const uint16_t h = toF16(d);
    if (f16IsInf(h)) return QStatus::scaleOverflow;
    putU16(o, h);
    __m256i q[4];
    q8Codes(v, _mm256_set1_ps(inverse(d)), q);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 2), packBytes(q[0], q[1], q[2], q[3]));
  }
  return QStatus::ok;
}

bool quantizeActBlocks(const float* x, size_t blocks, int8_t* q, float* d, int32_t* s) {
  for (size_t b = 0; b < blocks; b++) {
    const float* v = x + b * kActBlock;
    const uint32_t amaxBits = Avx2::absMaxBits(v, kActBlock);
    if (amaxBits >= kNonFiniteBits) return false;
    d[b] = fromBits(amaxBits) / 127.0f;
    __m256i c[4];
    q8Codes(v, _mm256_set1_ps(inverse(d[b])), c);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * kActBlock), packBytes(c[0], c[1], c[2], c[3]));
    s[b] = hsum(_mm256_add_epi32(_mm256_add_epi32(c[0], c[1]), _mm256_add_epi32(c[2], c[3])));
  }
  return true;
}

struct Q8_0Group : Q8_0Scales<Avx2> {
  void emit(const float* v, uint8_t* o) const {
    for (int g = 0; g < kGroup; g++) {
      __m256i q[4];
      q8Codes(v + 32 * g, _mm256_set1_ps(id[g]), q);
      putU16(o + 34 * g, field[g]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 34 * g + 2), packBytes(q[0], q[1], q[2], q[3]));
    }
  }
};

QStatus quantizeQ8_0(const float* x, size_t k, int /*blockSize*/, uint8_t* out) {
  return quantizeGroups<Q8_0Group, quantizeQ8_0Blocks, 34>(x, k, out);
}

// Activations: codes, d and sums of a group.
struct ActGroup : ActScales<Avx2> {
  void emit(const float* v, int8_t* q, float* dOut, int32_t* s) const {
    __m256i sums[kGroup];
    for (int g = 0; g < kGroup; g++) {
      __m256i c[4];
      q8Codes(v + kActBlock * g, _mm256_set1_ps(id[g]), c);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + g * kActBlock), packBytes(c[0], c[1], c[2], c[3]));
      sums[g] = _mm256_add_epi32(_mm256_add_epi32(c[0], c[1]), _mm256_add_epi32(c[2], c[3]));
    }
    _mm256_storeu_ps(dOut, _mm256_load_ps(d));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(s), reduce8(sums, addS32));
  }
};

bool quantizeAct(const float* x, size_t k, ActRow out) { return quantizeActGroups<ActGroup, quantizeActBlocks>(x, k, out); }

// 16 packed bytes → the 32 codes as two 16-byte vectors: low nibbles (elements 0–15), high (16–31).
inline void unpackNibbles(const uint8_t* p, __m128i* lo, __m128i* hi) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  *lo = _mm_and_si128(bytes, _mm_set1_epi8(15));
  *hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(15));
}

// Codes of 16 bytes (as ints) → floats, 8 at a time.
inline __m256 lowCodes(__m128i c) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c)); }
inline __m256 highCodes(__m128i c) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(c, c))); }

void dequantizeQ4_0(const uint8_t* in, size_t k, int /*blockSize*/, float* out) {
  for (size_t b = 0; b < k / 32; b++) {
    const uint8_t* p = in + b * 18;
    const __m256 d = _mm256_set1_ps(fromF16(getU16(p)));
    __m128i lo, hi;
    unpackNibbles(p + 2, &lo, &hi);
    lo = _mm_sub_epi8(lo, _mm_set1_epi8(8));  // q − 8, exact in int8
    hi = _mm_sub_epi8(hi, _mm_set1_epi8(8));
    float* o = out + b * 32;
    _mm256_storeu_ps(o, _mm256_mul_ps(lowCodes(lo), d));
    _mm256_storeu_ps(o + 8, _mm256_mul_ps(highCodes(lo), d));
    _mm256_storeu_ps(o + 16, _mm256_mul_ps(lowCodes(hi), d));
    _mm256_storeu_ps(o + 24, _mm256_mul_ps(highCodes(hi), d));
  }
}

void dequantizeQ4_1(const uint8_t* in, size_t k, int /*blockSize*/, float* out) {
  for (size_t b = 0; b < k / 32; b++) {
    const uint8_t* p = in + b * 20;
    const __m256 d = _mm256_set1_ps(fromF16(getU16(p))), m = _mm256_set1_ps(fromF16(getU16(p + 2)));
    __m128i lo, hi;
    unpackNibbles(p + 4, &lo, &hi);
    float* o = out + b * 32;  // (q·d) + m: two roundings
    _mm256_storeu_ps(o, _mm256_add_ps(_mm256_mul_ps(lowCodes(lo), d), m));
    _mm256_storeu_ps(o + 8, _mm256_add_ps(_mm256_mul_ps(highCodes(lo), d), m));
    _mm256_storeu_ps(o + 16, _mm256_add_ps(_mm256_mul_ps(lowCodes(hi), d), m));
    _mm256_storeu_ps(o + 24, _mm256_add_ps(_mm256_mul_ps(highCodes(hi), d), m));
  }
}

void dequantizeNf4(const uint8_t* in, size_t k, int blockSize, float* out) {
  const size_t bytes = blockBytes(QFormat::nf4, blockSize);
  const __m256 lo = _mm256_loadu_ps(kNf4Codes), hi = _mm256_loadu_ps(kNf4Codes + 8);
  for (size_t b = 0; b < k / size_t(blockSize); b++) {
    const uint8_t* p = in + b * bytes;
    // NF4[c]·absmax for all 16 codes once per block (the scalar kernel's own product), then VPERMPS
    // on codes 0–7 and 8–15, picked by bit 3 of the code (moved to the sign bit).
    const __m256 absmax = _mm256_set1_ps(getF32(p));
    const __m256 valuesLo = _mm256_mul_ps(lo, absmax), valuesHi = _mm256_mul_ps(hi, absmax);
    float* o = out + b * size_t(blockSize);
    for (int j = 0; j < blockSize / 2; j += 16) {
      const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 4 + j));
      const __m128i high = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(15));
      const __m128i low = _mm_and_si128(packed, _mm_set1_epi8(15));
      const __m128i codes[2] = {_mm_unpacklo_epi8(high, low), _mm_unpackhi_epi8(high, low)};  // element order
      for (int h = 0; h < 2; h++) {
        for (int i = 0; i < 2; i++) {
          const __m256i c = _mm256_cvtepu8_epi32(i ? _mm_unpackhi_epi64(codes[h], codes[h]) : codes[h]);
          const __m256 value = _mm256_blendv_ps(_mm256_permutevar8x32_ps(valuesLo, c), _mm256_permutevar8x32_ps(valuesHi, c),
                                                _mm256_castsi256_ps(_mm256_slli_epi32(c, 28)));
          _mm256_storeu_ps(o + 2 * j + 16 * h + 8 * i, value);
        }
      }
    }
  }
}

void f32ToF16Bulk(const float* x, size_t n, uint16_t* out) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; i++) out[i] = f32ToF16(x[i]);
}

void f16ToF32Bulk(const uint16_t* h, size_t n, float* out) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  for (; i < n; i++) out[i] = f16ToF32(h[i]);
}

}  // namespace

const QuantKernels quant__avx2 = {
    "avx2",
    {quantizeQ8_0, quant_x86::quantizeQ4_0<Avx2>, quant_x86::quantizeQ4_1<Avx2>, quant_x86::quantizeNf4<Avx2>,
     quant_x86::quantizeInt8<Avx2>},
    {quant_x86::dequantizeQ8_0<Avx2>, dequantizeQ4_0, dequantizeQ4_1, dequantizeNf4, quant_x86::dequantizeInt8<Avx2>,
     kq_avx2::dequantizeQ4K, kq_avx2::dequantizeQ5K, kq_avx2::dequantizeQ6K},
    quantizeAct,
    f32ToF16Bulk,
    f16ToF32Bulk,
    &quantMatmul__avx2,
};

}  // namespace sparq
