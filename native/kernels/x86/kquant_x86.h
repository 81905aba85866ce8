// The K-quant matmul on x86 (kquant__avx2.cc, __avx512.cc, __avx512vnni.cc). Contract: sparq/kquant.h.
//
// A weight super-block is unpacked in registers into its 256 codes as u8 (q4_K 0…15, q5_K 0…31,
// q6_K 0…63) and, per 16 elements, its scale as s16 lanes. Against 256 q8_K activations,
// vpmaddubsw gives s16 pair sums (at most 2·63·127 = 16002, so it cannot saturate) and vpmaddwd
// (or VNNI's vpdpwssd) multiplies them by the scales into s32 lanes: the super-block's
// Σ sc·Σ q·a, exact. The min term Σ mn·bsum is one vpmaddwd of the 16 activation sums with the 16
// mins (q6_K's 32·sc, taken off the same sum). Four such sums are reduced together, exactly, into
// the four lanes of one vector, and each lane's f32 term is added to its output in super-block
// order, with the scalar kernel's own operations, (d·da)·float(isum) then −(dmin·da)·float(msum):
// the results equal the scalar kernel's bit for bit.
//
// Two tile shapes: with 4 or more activation rows, each weight super-block is unpacked once and
// serves every row of the task, 4 rows per reduction; with fewer, 4 weight rows share each
// reduction. Loads stay inside the blocks; activations are never read past their rows.
//
// Internal linkage throughout (each tier's file compiles its own copy with its own -m flags), and
// no std:: containers; scratch is thread-local.
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
#include "sparq/scratch.h"

namespace sparq {
namespace {
namespace kqx {

using quant::getU16;

inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline float half(const uint8_t* p) { return _cvtsh_ss(getU16(p)); }  // exact, as f16ToF32

// q4_K/q5_K: the 8 six-bit scales then the 8 six-bit mins, as 16 bytes (layout: kquant.ts).
inline __m128i scalesMins(const uint8_t* s) {
  uint32_t w[3];
  std::memcpy(w, s, 12);
  const uint32_t low6 = 0x3f3f3f3fu, low4 = 0x0f0f0f0fu, two = 0x03030303u;
  return _mm_set_epi32(int(((w[2] >> 4) & low4) | (((w[1] >> 6) & two) << 4)), int(w[1] & low6),
                       int((w[2] & low4) | (((w[0] >> 6) & two) << 4)), int(w[0] & low6));
}

// Bytes b0…b15 each repeated `times` (8 or 16) times from index `first`, as a shuffle control.
inline __m128i repeatIndex(int first, int times) {
  alignas(16) int8_t idx[16];
  for (int t = 0; t < 16; t++) idx[t] = int8_t(first + t / times);
  return load128(idx);
}

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

// Per-16 scales as 16 bytes (q4_K/q5_K: each sub-block's scale twice; q6_K: the s8 scales), the
// 16 mins as s16 (q6_K: 32·sc) and the two f16 factors.
template <QFormat F>
inline void groupScales(const uint8_t* p, __m128i* sc, __m256i* mn, float* dA, float* dB) {
  if constexpr (F == QFormat::q6_K) {
    *sc = load128(p + 192);
    *mn = _mm256_slli_epi16(_mm256_cvtepi8_epi16(*sc), 5);
    *dA = *dB = half(p + 208);
  } else {
    const __m128i sm = scalesMins(p + 4);
    *sc = _mm_shuffle_epi8(sm, repeatIndex(0, 2));
    *mn = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm, repeatIndex(8, 2)));
    *dA = half(p);
    *dB = half(p + 2);
  }
}

// Four s32 vectors of 8 lanes → their four totals, in lane order.
inline __m128i reduce4(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  const __m256i t = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
  return _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
}

// ---------------------------------------------------------------------------------------------
// The two register layouts of an unpacked super-block.

// ymm (AVX2): 8 registers of 32 codes; the scale of each register's 2 groups as s16.
struct Ymm {
  struct Block {
    __m256i q[8], sc[8];
    __m256i mn;
    float dA, dB;
  };
  template <QFormat F>
  static void unpack(const uint8_t* p, Block& b) {
    codes256<F>(p, b.q);
    __m128i sc;
    groupScales<F>(p, &sc, &b.mn, &b.dA, &b.dB);
    for (int r = 0; r < 8; r++) b.sc[r] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc, repeatIndex(2 * r, 8)));
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
// zmm (AVX-512): 4 registers of 64 codes; VNNI fuses the scale multiply and the add.
template <bool Vnni>
struct Zmm {
  struct Block {
    __m512i q[4], sc[4];
    __m256i mn;
    float dA, dB;
  };
  template <QFormat F>
  static void unpack(const uint8_t* p, Block& b) {
    __m256i q[8];
    codes256<F>(p, q);
    for (int r = 0; r < 4; r++) b.q[r] = _mm512_inserti64x4(_mm512_castsi256_si512(q[2 * r]), q[2 * r + 1], 1);
    __m128i sc;
    groupScales<F>(p, &sc, &b.mn, &b.dA, &b.dB);
    const __m256i both = _mm256_broadcastsi128_si256(sc);
    for (int r = 0; r < 4; r++) {
      const __m256i idx = _mm256_set_m128i(repeatIndex(4 * r + 2, 8), repeatIndex(4 * r, 8));
      b.sc[r] = _mm512_cvtepi8_epi16(_mm256_shuffle_epi8(both, idx));
    }
  }
  static __m256i dot(const Block& b, const int8_t* a) {
    __m512i acc = _mm512_setzero_si512();
    for (int r = 0; r < 4; r++) {
      const __m512i pairs = _mm512_maddubs_epi16(b.q[r], _mm512_loadu_si512(a + 64 * r));
      if constexpr (Vnni)
        acc = _mm512_dpwssd_epi32(acc, pairs, b.sc[r]);
      else
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, b.sc[r]));
    }
    return _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
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

// ---------------------------------------------------------------------------------------------
// Drivers

// Adds one super-block's terms to four outputs (lanes), exactly as the scalar kernel does.
template <QFormat F>
inline __m128 addTerms(__m128 acc, __m128 dA, __m128 dB, __m128 da, __m128i isum, __m128i msum) {
  if constexpr (F == QFormat::q6_K) {
    return _mm_add_ps(acc, _mm_mul_ps(_mm_mul_ps(dA, da), _mm_cvtepi32_ps(_mm_sub_epi32(isum, msum))));
  } else {
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_mul_ps(dA, da), _mm_cvtepi32_ps(isum)));
    return _mm_sub_ps(acc, _mm_mul_ps(_mm_mul_ps(dB, da), _mm_cvtepi32_ps(msum)));
  }
}

inline __m256i minSum(const __m256i& mn, const int16_t* bsums) { return _mm256_madd_epi16(load256(bsums), mn); }

// Fewer than 4 activation rows: for each row, 4 weight rows per reduction.
template <class V, QFormat F>
void gemv(const ActRowsK& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  const size_t blocks = a.k / kSuperBlock, bytes = blockBytes(F, kSuperBlock);
  typename V::Block wb[4];
  for (int i = 0; i < m; i++) {
    const int8_t* q = a.q + size_t(i) * a.k;
    const float* da = a.d + size_t(i) * blocks;
    const int16_t* bs = a.bsums + size_t(i) * blocks * kKGroups;
    for (int j = n0; j < n1; j += 4) {
      const int J = std::min(4, n1 - j);
      __m128 acc = _mm_setzero_ps();
      for (size_t b = 0; b < blocks; b++) {
        __m256i dots[4], mins[4];
        alignas(16) float dA[4] = {0, 0, 0, 0}, dB[4] = {0, 0, 0, 0};
        for (int t = 0; t < 4; t++) {
          if (t < J) {
            V::template unpack<F>(w.data + size_t(j + t) * w.rowBytes + b * bytes, wb[t]);
            dots[t] = V::dot(wb[t], q + b * kSuperBlock);
            mins[t] = minSum(wb[t].mn, bs + b * kKGroups);
            dA[t] = wb[t].dA, dB[t] = wb[t].dB;
          } else {
            dots[t] = mins[t] = _mm256_setzero_si256();
          }
        }
        acc = addTerms<F>(acc, _mm_load_ps(dA), _mm_load_ps(dB), _mm_set1_ps(da[b]),
                          reduce4(dots[0], dots[1], dots[2], dots[3]), reduce4(mins[0], mins[1], mins[2], mins[3]));
      }
      alignas(16) float out[4];
      _mm_store_ps(out, acc);
      for (int t = 0; t < J; t++) y[size_t(i) * ldy + size_t(j + t)] = out[t];
    }
  }
}

// 4 or more activation rows: each weight super-block unpacked once for all of them.
template <class V, QFormat F>
void gemm(const ActRowsK& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  const size_t blocks = a.k / kSuperBlock, bytes = blockBytes(F, kSuperBlock);
  const int groups = (m + 3) / 4;
  thread_local Scratch scratch;  // counted in nativeMemory().scratch
  // Per group of 4 rows: the running sums, then the activation scales transposed [block][row].
  auto* acc = static_cast<__m128*>(scratch.get(size_t(groups) * (1 + blocks) * sizeof(__m128)));
  float* daT = reinterpret_cast<float*>(acc + groups);
  for (int g = 0; g < groups; g++)
    for (size_t b = 0; b < blocks; b++)
      for (int t = 0; t < 4; t++) {
        const int i = std::min(m - 1, 4 * g + t);
        daT[(size_t(g) * blocks + b) * 4 + size_t(t)] = a.d[size_t(i) * blocks + b];
      }
  typename V::Block wb;
  for (int j = n0; j < n1; j++) {
    for (int g = 0; g < groups; g++) acc[g] = _mm_setzero_ps();
    const uint8_t* row = w.data + size_t(j) * w.rowBytes;
    for (size_t b = 0; b < blocks; b++) {
      V::template unpack<F>(row + b * bytes, wb);
      const __m128 dA = _mm_set1_ps(wb.dA), dB = _mm_set1_ps(wb.dB);
      for (int g = 0; g < groups; g++) {
        __m256i dots[4], mins[4];
        for (int t = 0; t < 4; t++) {
          const int i = std::min(m - 1, 4 * g + t);  // a repeated last row fills the tile; its lane is dropped
          dots[t] = V::dot(wb, a.q + size_t(i) * a.k + b * kSuperBlock);
          mins[t] = minSum(wb.mn, a.bsums + (size_t(i) * blocks + b) * kKGroups);
        }
        acc[g] = addTerms<F>(acc[g], dA, dB, _mm_load_ps(daT + (size_t(g) * blocks + b) * 4),
                             reduce4(dots[0], dots[1], dots[2], dots[3]), reduce4(mins[0], mins[1], mins[2], mins[3]));
      }
    }
    for (int g = 0; g < groups; g++) {
      alignas(16) float out[4];
      _mm_store_ps(out, acc[g]);
      for (int t = 0; t < 4 && 4 * g + t < m; t++) y[size_t(4 * g + t) * ldy + size_t(j)] = out[t];
    }
  }
}

template <class V, QFormat F>
void matmulInt8(const ActRowsK& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  if (m < 4)
    gemv<V, F>(a, m, w, n0, n1, y, ldy);
  else
    gemm<V, F>(a, m, w, n0, n1, y, ldy);
}

// f32 precision: each weight row dequantized once by the scalar dequantizer (exact, and cheap next
// to the m dot products it serves), then SIMD dot products with FMA (reordered within DESIGN §3).
template <class V, QFormat F>
void matmulF32(const float* x, size_t ldx, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  constexpr DequantizeRowFn dequantize =
      F == QFormat::q4_K ? kq::dequantizeQ4K : F == QFormat::q5_K ? kq::dequantizeQ5K : kq::dequantizeQ6K;
  thread_local Scratch rowScratch;  // counted in nativeMemory().scratch
  auto* row = static_cast<float*>(rowScratch.get(w.k * sizeof(float)));
  for (int j = n0; j < n1; j++) {
    dequantize(w.data + size_t(j) * w.rowBytes, w.k, kSuperBlock, row);
    for (int i = 0; i < m; i++) y[size_t(i) * ldy + size_t(j)] = V::dotF32(row, x + size_t(i) * ldx, w.k);
  }
}

template <class V>
constexpr KQuantKernels kernels(const char* tier) {
  return {tier,
          {matmulInt8<V, QFormat::q4_K>, matmulInt8<V, QFormat::q5_K>, matmulInt8<V, QFormat::q6_K>},
          {matmulF32<V, QFormat::q4_K>, matmulF32<V, QFormat::q5_K>, matmulF32<V, QFormat::q6_K>}};
}

}  // namespace kqx
}  // namespace
}  // namespace sparq
