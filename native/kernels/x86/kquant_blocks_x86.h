// K-quant super-blocks in x86 registers (kquant_x86.h's kernels, and kquant_dp_x86.h's tiles):
// the packed scale decoding, the codes as u8 in element order (codes256), the f16 factors, and the
// two register layouts of an unpacked super-block, Ymm (AVX2) and Zmm (AVX-512). Loads stay inside
// the block. Internal linkage: each tier's file compiles its own copy with its own -m flags.
#pragma once
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "sparq/kquant.h"
#include "sparq/quant_common.h"

namespace sparq {
namespace {
namespace kqx {

using quant::getU16;

inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline float half(const uint8_t* p) { return _cvtsh_ss(getU16(p)); }  // exact, as f16ToF32

// q4_K/q5_K: the 8 six-bit scales then the 8 six-bit mins, as 16 bytes (layout: kquant.ts), from
// the 12 packed bytes at s (16 are read; s is inside a block, so the 4 past them are too):
//   j < 4: sc = s[j] & 63,                      mn = s[j+4] & 63
//   j ≥ 4: sc = (s[j+4] & 15) | (s[j−4] >> 6) << 4,   mn = (s[j+4] >> 4) | (s[j] >> 6) << 4
alignas(16) constexpr int8_t kSmLow[16] = {0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11};
alignas(16) constexpr int8_t kSmHigh[16] = {-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7};
inline __m128i scalesMins(const uint8_t* s) {
  const __m128i raw = load128(s);
  const __m128i lowBytes = _mm_shuffle_epi8(raw, load128(kSmLow)), highBytes = _mm_shuffle_epi8(raw, load128(kSmHigh));
  const __m128i six = _mm_set_epi32(0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f);
  const __m128i low = _mm_blend_epi32(_mm_and_si128(lowBytes, six),
                                      _mm_and_si128(_mm_srli_epi16(lowBytes, 4), _mm_set1_epi8(0x0f)), 0x8);
  return _mm_or_si128(low, _mm_and_si128(_mm_srli_epi16(highBytes, 2), _mm_set1_epi8(0x30)));
}

// Each of 8 bytes twice: q4_K/q5_K's sub-block scales (bytes 0–7) or mins (8–15) per group of 16.
alignas(16) constexpr int8_t kTwiceIndex[2][16] = {{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7},
                                                   {8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15}};

// Shuffle controls over the 16 per-group scale bytes: ymm register r's s16 lanes, 8 per group, take
// groups 2r and 2r+1 from kScaleIndex[r / 2] + 16·(r % 2).
alignas(32) constexpr int8_t kScaleIndex[4][32] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
    {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15},
};
// The 256 codes of a super-block as 8 ymm of u8, element order, 32 elements each.
template <QFormat F>
inline void codes256(const uint8_t* p, __m256i* q) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  if constexpr (F == QFormat::q6_K) {
    const __m256i high2 = _mm256_set1_epi8(0x30);
    for (int h = 0; h < 2; h++) {
      const __m256i l0 = load256(p + 64 * h), l1 = load256(p + 64 * h + 32), hb = load256(p + 128 + 32 * h);
      q[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), high2));
      q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), high2));
      q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(hb, high2));
      q[4 * h + 3] =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4), _mm256_and_si256(_mm256_srli_epi16(hb, 2), high2));
    }
  } else {
    const uint8_t* qs = p + (F == QFormat::q5_K ? 48 : 16);
    const __m256i one = _mm256_set1_epi8(1);
    const __m256i qh = F == QFormat::q5_K ? load256(p + 16) : _mm256_setzero_si256();
    for (int g = 0; g < 4; g++) {
      const __m256i raw = load256(qs + 32 * g);
      __m256i lo = _mm256_and_si256(raw, low4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
      if constexpr (F == QFormat::q5_K) {
        const __m256i bitLo = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * g)), one);
        const __m256i bitHi = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * g + 1)), one);
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(bitLo, 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(bitHi, 4));
      }
      q[2 * g] = lo;
      q[2 * g + 1] = hi;
    }
  }
}

// Per-16 scales as 16 bytes (q4_K/q5_K: each sub-block's scale twice; q6_K: the s8 scales) and
// the 16 mins as s16 (q6_K: 32·sc).
template <QFormat F>
inline void groupScales(const uint8_t* p, __m128i* sc, __m256i* mn) {
  if constexpr (F == QFormat::q6_K) {
    *sc = load128(p + 192);
    *mn = _mm256_slli_epi16(_mm256_cvtepi8_epi16(*sc), 5);
  } else {
    const __m128i sm = scalesMins(p + 4);
    *sc = _mm_shuffle_epi8(sm, load128(kTwiceIndex[0]));
    *mn = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm, load128(kTwiceIndex[1])));
  }
}

// The block's two f16 factors: d and dmin (q6_K: d twice).
template <QFormat F>
inline void factors(const uint8_t* p, float* dA, float* dB) {
  *dA = half(F == QFormat::q6_K ? p + 208 : p);
  *dB = F == QFormat::q6_K ? *dA : half(p + 2);
}

// The factors of the blocks at rows[t] + offset, t = 0…3, as lanes.
template <QFormat F>
inline void factors4(const uint8_t* const* rows, size_t offset, __m128* dA, __m128* dB) {
  if constexpr (F == QFormat::q6_K) {
    const __m128i h = _mm_setr_epi16(short(getU16(rows[0] + offset + 208)), short(getU16(rows[1] + offset + 208)),
                                     short(getU16(rows[2] + offset + 208)), short(getU16(rows[3] + offset + 208)), 0, 0, 0, 0);
    *dA = *dB = _mm_cvtph_ps(h);
  } else {
    uint32_t w[4];
    for (int t = 0; t < 4; t++) std::memcpy(&w[t], rows[t] + offset, 4);
    const __m256 both = _mm256_cvtph_ps(_mm_setr_epi32(int(w[0]), int(w[1]), int(w[2]), int(w[3])));  // d0 m0 d1 m1 …
    const __m256 split = _mm256_permutevar8x32_ps(both, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
    *dA = _mm256_castps256_ps128(split);
    *dB = _mm256_extractf128_ps(split, 1);
  }
}

// ---------------------------------------------------------------------------------------------
// The two register layouts of an unpacked super-block.

// ymm (AVX2): 8 registers of 32 codes; the scale of each register's 2 groups as s16.
struct Ymm {
  static constexpr int kPair = 1;  // 16 ymm hold one unpacked super-block
  template <QFormat F>
  static constexpr bool kReordered = false;  // element order: no kPieces
  struct Block {
    __m256i q[8], sc[8];
    __m256i mn;
  };
  template <QFormat F>
  static void unpack(const uint8_t* p, Block& b) {
    codes256<F>(p, b.q);
    __m128i sc;
    groupScales<F>(p, &sc, &b.mn);
    for (int r = 0; r < 8; r++) b.sc[r] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc, load128(kScaleIndex[r >> 1] + 16 * (r & 1))));
  }
  // Σ over the block of sc·q·a as s32 lanes.
  static __m256i dot(const Block& b, const int8_t* a) {
    __m256i acc = _mm256_setzero_si256();
    for (int r = 0; r < 8; r++) {
      const __m256i pairs = _mm256_maddubs_epi16(b.q[r], load256(a + 32 * r));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, b.sc[r]));
    }
    return acc;
  }
  static float dotF32(const float* w, const float* x, size_t k) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t p = 0; p < k; p += 32) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + p), _mm256_loadu_ps(x + p), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + p + 8), _mm256_loadu_ps(x + p + 8), a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + p + 16), _mm256_loadu_ps(x + p + 16), a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + p + 24), _mm256_loadu_ps(x + p + 24), a3);
    }
    const __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    t = _mm_add_ps(t, _mm_movehl_ps(t, t));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
  }
};

#ifdef __AVX512BW__
// Words 0–15 of a zmm set to a, words 16–31 to b.
inline __m512i halves16(short a, short b) {
  return _mm512_inserti64x4(_mm512_set1_epi16(a), _mm256_set1_epi16(b), 1);
}

// vpermw controls over the 16 per-group scale words (q4_K/q5_K: 8 scales then 8 mins; q6_K: 16
// scales), one per zmm register of codes. q4_K/q5_K register r holds sub-blocks kZmmPieces[2r]
// and [2r+1] (the low, then the high nibbles of 64 packed bytes), 16 words each; q6_K's registers
// hold 64 elements in order, 8 words per group of 16.
alignas(64) constexpr int16_t kZmmScale[2][4][32] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2},
     {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
     {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6},
     {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}},
    {{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
     {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
     {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
     {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15}}};
// q4_K/q5_K: each min twice, per group of 16 activations.
alignas(32) constexpr int16_t kZmmMins[16] = {8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15};

// zmm (AVX-512): 4 registers of 64 codes, each loaded whole from the block; VNNI fuses the scale
// multiply and the add. For q4_K/q5_K that puts sub-blocks in the order kZmmPieces, and the
// activations are laid out to match (orderCodes).
template <bool Vnni>
struct Zmm {
  static constexpr int kPair = 2;  // two unpacked super-blocks fit in 32 zmm
  static constexpr int kPieces[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  template <QFormat F>
  static constexpr bool kReordered = F != QFormat::q6_K;
  struct Block {
    __m512i q[4], sc[4];
    __m256i mn;
  };
  template <QFormat F>
  static void unpack(const uint8_t* p, Block& b) {
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    __m256i words;
    if constexpr (F == QFormat::q6_K) {
      // Register 2h: elements 128h + 0…63, low nibbles of ql with qh bits 0–1 (first 32) and 2–3
      // (next 32) at bits 4–5; register 2h+1: 128h + 64…127, high nibbles with bits 4–5 and 6–7.
      const __m512i high2 = _mm512_set1_epi8(0x30);
      for (int h = 0; h < 2; h++) {
        const __m512i l = _mm512_loadu_si512(p + 64 * h);
        const __m256i hb = load256(p + 128 + 32 * h);
        const __m512i hx = _mm512_inserti64x4(_mm512_castsi256_si512(hb), hb, 1);
        const __m512i upA = _mm512_sllv_epi16(hx, halves16(4, 2)), upB = _mm512_srlv_epi16(hx, halves16(0, 2));
        b.q[2 * h] = _mm512_ternarylogic_epi32(_mm512_and_si512(l, low4), upA, high2, 0xf8);  // A | (B & C)
        b.q[2 * h + 1] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(l, 4), low4), upB, high2, 0xf8);
      }
      words = _mm256_cvtepi8_epi16(load128(p + 192));
      b.mn = _mm256_slli_epi16(words, 5);
    } else {
      const uint8_t* qs = p + (F == QFormat::q5_K ? 48 : 16);
      for (int l = 0; l < 2; l++) {
        const __m512i raw = _mm512_loadu_si512(qs + 64 * l);
        b.q[2 * l] = _mm512_and_si512(raw, low4);
        b.q[2 * l + 1] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
      }
      if constexpr (F == QFormat::q5_K) {
        // Sub-block s's fifth bit is bit s of qh's byte t; moved to bit 4 with word shifts (bits
        // that cross from the neighbouring byte never land on bit 4).
        const __m256i qh = load256(p + 16);
        const __m512i hx = _mm512_inserti64x4(_mm512_castsi256_si512(qh), qh, 1), bit4 = _mm512_set1_epi8(0x10);
        const __m512i up[4] = {_mm512_sllv_epi16(hx, halves16(4, 2)), _mm512_sllv_epi16(hx, halves16(3, 1)),
                               _mm512_srlv_epi16(hx, halves16(0, 2)), _mm512_srlv_epi16(hx, halves16(1, 3))};
        for (int r = 0; r < 4; r++) b.q[r] = _mm512_ternarylogic_epi32(b.q[r], up[r], bit4, 0xf8);
      }
      words = _mm256_cvtepu8_epi16(scalesMins(p + 4));
      b.mn = _mm256_permutexvar_epi16(load256(kZmmMins), words);
    }
    const __m512i all = _mm512_castsi256_si512(words);
    for (int r = 0; r < 4; r++)
      b.sc[r] = _mm512_permutexvar_epi16(_mm512_load_si512(kZmmScale[F == QFormat::q6_K][r]), all);
  }
  // vpmaddubsw, then the scales by vpdpwssd (VNNI) or vpmaddwd, in two chains so consecutive
  // rows' dots overlap. (vpdpbusd per register, vpackssdw by pairs and one vpdpwssd per pair
  // needs fewer multiplies but measured slower on Zen 5: 130 against 170 GOP/s at m = 128.)
  static __m256i dot(const Block& b, const int8_t* a) {
    __m512i acc[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
    for (int r = 0; r < 4; r++) {
      const __m512i pairs = _mm512_maddubs_epi16(b.q[r], _mm512_loadu_si512(a + 64 * r));
      if constexpr (Vnni)
        acc[r & 1] = _mm512_dpwssd_epi32(acc[r & 1], pairs, b.sc[r]);
      else
        acc[r & 1] = _mm512_add_epi32(acc[r & 1], _mm512_madd_epi16(pairs, b.sc[r]));
    }
    const __m512i sum = _mm512_add_epi32(acc[0], acc[1]);
    return _mm256_add_epi32(_mm512_castsi512_si256(sum), _mm512_extracti64x4_epi64(sum, 1));
  }
  static float dotF32(const float* w, const float* x, size_t k) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t p = 0; p < k; p += 64) {
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + p), _mm512_loadu_ps(x + p), a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + p + 16), _mm512_loadu_ps(x + p + 16), a1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w + p + 32), _mm512_loadu_ps(x + p + 32), a2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w + p + 48), _mm512_loadu_ps(x + p + 48), a3);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  }
};
#endif

}  // namespace kqx
}  // namespace
}  // namespace sparq
