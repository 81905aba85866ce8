// The K-quant matmul on x86 (kquant__avx2.cc, __avx512.cc, __avx512vnni.cc). Contract: sparq/kquant.h.
//
// A weight super-block is unpacked in registers (kquant_blocks_x86.h) into its 256 codes as u8
// (q4_K 0…15, q5_K 0…31, q6_K 0…63) and, per register, its scales as s16 lanes. Against 256 q8_K
// activations, vpmaddubsw gives s16 pair sums (at most 2·63·127 = 16002, so it cannot saturate)
// and vpmaddwd (or VNNI's vpdpwssd) multiplies them by the scales into s32 lanes: the
// super-block's Σ sc·Σ q·a, exact. The min term Σ mn·bsum is one vpmaddwd of the 16 activation
// sums with the 16 mins (q6_K's 32·sc, taken off the same sum). Sums are reduced together,
// exactly, and each output's f32 terms are added in super-block order with the scalar kernel's own
// operations, (d·da)·float(isum) then −(dmin·da)·float(msum): the results equal the scalar
// kernel's bit for bit.
//
// Tile shapes: below 4 activation rows (the GEMV), 4 weight rows share each reduction; from 4,
// each weight super-block is unpacked once and serves every row of the task; on VNNI from
// kDpMinRows rows, kquant_dp_x86.h's vpdpbusd kernel. Activations are never read past their rows.
//
// Internal linkage throughout (each tier's file compiles its own copy with its own -m flags), and
// no std:: containers; scratch is thread-local.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kquant_blocks_x86.h"
#include "sparq/kquant.h"
#include "sparq/scratch.h"

namespace sparq {
namespace {
namespace kqx {

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

// Eight s32 vectors → their totals: [a0…a3 | b0…b3].
inline __m256i reduce8(const __m256i* a, const __m256i* b) {
  const __m256i lo = _mm256_hadd_epi32(_mm256_hadd_epi32(a[0], a[1]), _mm256_hadd_epi32(a[2], a[3]));
  const __m256i hi = _mm256_hadd_epi32(_mm256_hadd_epi32(b[0], b[1]), _mm256_hadd_epi32(b[2], b[3]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, 0x20), _mm256_permute2x128_si256(lo, hi, 0x31));
}

// One super-block of activation codes in the order the kernel's registers take them (pieces of 32).
template <class V, QFormat F>
inline void orderCodes(const int8_t* from, int8_t* to) {
  if constexpr (V::template kReordered<F>) {
    for (int i = 0; i < 8; i++) std::memcpy(to + 32 * i, from + 32 * V::kPieces[i], 32);
  } else {
    std::memcpy(to, from, kSuperBlock);
  }
}

// Fewer than 4 activation rows: for each row, 4 weight rows per reduction, each super-block
// unpacked and used at once (it stays in registers). A task's last quad repeats its last weight
// row to fill the tile; those lanes are dropped.
template <class V, QFormat F>
void gemv(const ActRowsK& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  const size_t blocks = a.k / kSuperBlock, bytes = blockBytes(F, kSuperBlock);
  thread_local Scratch scratch;  // counted in nativeMemory().scratch
  auto* ordered = static_cast<int8_t*>(scratch.get(a.k));
  for (int i = 0; i < m; i++) {
    for (size_t b = 0; b < blocks; b++) orderCodes<V, F>(a.q + size_t(i) * a.k + b * kSuperBlock, ordered + b * kSuperBlock);
    const float* da = a.d + size_t(i) * blocks;
    const int16_t* bs = a.bsums + size_t(i) * blocks * kKGroups;
    for (int j = n0; j < n1; j += 4) {
      const uint8_t* rows[4];
      for (int t = 0; t < 4; t++) rows[t] = w.data + size_t(std::min(j + t, n1 - 1)) * w.rowBytes;
      __m128 acc = _mm_setzero_ps();
      for (size_t b = 0; b < blocks; b++) {
        // Weights come straight from memory (often DRAM): the next quad of rows (contiguous) is
        // fetched a slice per super-block step, so it is in cache when its turn comes.
        if (j + 4 < n1) {
          const uint8_t* next = w.data + size_t(j + 4) * w.rowBytes + b * 4 * bytes;
          for (size_t o = 0; o < 4 * bytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(next + o), _MM_HINT_T0);
        }
        __m256i dots[4], mins[4];
        for (int t = 0; t < 4; t++) {
          typename V::Block wb;
          V::template unpack<F>(rows[t] + b * bytes, wb);
          dots[t] = V::dot(wb, ordered + b * kSuperBlock);
          mins[t] = minSum(wb.mn, bs + b * kKGroups);
        }
        __m128 dA, dB;
        factors4<F>(rows, b * bytes, &dA, &dB);
        const __m256i sums = reduce8(dots, mins);
        acc = addTerms<F>(acc, dA, dB, _mm_set1_ps(da[b]), _mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
      }
      alignas(16) float out[4];
      _mm_store_ps(out, acc);
      for (int t = 0; t < 4 && j + t < n1; t++) y[size_t(i) * ldy + size_t(j + t)] = out[t];
    }
  }
}

// addTerms over 8 outputs at once (4 rows × 2 weight rows), the same operations lane by lane.
template <QFormat F>
inline __m256 addTerms8(__m256 acc, __m256 dA, __m256 dB, __m256 da, __m256i isum, __m256i msum) {
  if constexpr (F == QFormat::q6_K) {
    return _mm256_add_ps(acc, _mm256_mul_ps(_mm256_mul_ps(dA, da), _mm256_cvtepi32_ps(_mm256_sub_epi32(isum, msum))));
  } else {
    acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_mul_ps(dA, da), _mm256_cvtepi32_ps(isum)));
    return _mm256_sub_ps(acc, _mm256_mul_ps(_mm256_mul_ps(dB, da), _mm256_cvtepi32_ps(msum)));
  }
}

// 4 or more activation rows: each weight super-block is unpacked once for all of them, and a
// tile is 4 activation rows × P weight rows (P = 2 where registers allow: zmm). The task's
// activations are first copied block-major ([block][row], the row count rounded up to 4 by
// repeating the last row), so the rows that meet one weight super-block sit together in L1
// instead of a row stride apart (which would map them all to the same cache sets).
template <class V, QFormat F>
void gemm(const ActRowsK& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  constexpr int P = V::kPair;
  const size_t blocks = a.k / kSuperBlock, bytes = blockBytes(F, kSuperBlock);
  const int groups = (m + 3) / 4, rows = 4 * groups;
  thread_local Scratch scratch;  // counted in nativeMemory().scratch
  const size_t codesBytes = blocks * size_t(rows) * kSuperBlock, sumsBytes = blocks * size_t(rows) * kKGroups * 2;
  auto* acc = static_cast<__m256*>(scratch.get(size_t(groups) * sizeof(__m256) + blocks * size_t(rows) * 4 + codesBytes + sumsBytes));
  float* daT = reinterpret_cast<float*>(acc + groups);            // [block][row]
  int8_t* codes = reinterpret_cast<int8_t*>(daT + blocks * rows);  // [block][row][256]
  int16_t* sums = reinterpret_cast<int16_t*>(codes + codesBytes);  // [block][row][16]
  for (size_t b = 0; b < blocks; b++) {
    for (int t = 0; t < rows; t++) {
      const size_t i = size_t(std::min(m - 1, t)), at = b * size_t(rows) + size_t(t);
      daT[at] = a.d[i * blocks + b];
      orderCodes<V, F>(a.q + i * a.k + b * kSuperBlock, codes + at * kSuperBlock);
      std::memcpy(sums + at * kKGroups, a.bsums + (i * blocks + b) * kKGroups, kKGroups * 2);
    }
  }
  typename V::Block wb[P];
  for (int j = n0; j < n1; j += P) {
    for (int g = 0; g < groups; g++) acc[g] = _mm256_setzero_ps();
    const uint8_t* row[P];
    for (int u = 0; u < P; u++) row[u] = w.data + size_t(std::min(j + u, n1 - 1)) * w.rowBytes;  // a repeated last row pads the pair
    for (size_t b = 0; b < blocks; b++) {
      float fA[P], fB[P];
      for (int u = 0; u < P; u++) {
        V::template unpack<F>(row[u] + b * bytes, wb[u]);
        factors<F>(row[u] + b * bytes, &fA[u], &fB[u]);
      }
      const __m256 dA = _mm256_setr_m128(_mm_set1_ps(fA[0]), _mm_set1_ps(fA[P - 1]));
      const __m256 dB = _mm256_setr_m128(_mm_set1_ps(fB[0]), _mm_set1_ps(fB[P - 1]));
      const int8_t* q = codes + b * size_t(rows) * kSuperBlock;
      const int16_t* bs = sums + b * size_t(rows) * kKGroups;
      for (int g = 0; g < groups; g++) {
        __m256i dots[P][4], mins[P][4];
        for (int t = 0; t < 4; t++) {
          for (int u = 0; u < P; u++) {
            dots[u][t] = V::dot(wb[u], q + size_t(4 * g + t) * kSuperBlock);
            mins[u][t] = minSum(wb[u].mn, bs + size_t(4 * g + t) * kKGroups);
          }
        }
        const __m256 da = _mm256_broadcast_ps(reinterpret_cast<const __m128*>(daT + b * size_t(rows) + size_t(4 * g)));
        acc[g] = addTerms8<F>(acc[g], dA, dB, da, reduce8(dots[0], dots[P - 1]), reduce8(mins[0], mins[P - 1]));
      }
    }
    for (int g = 0; g < groups; g++) {
      alignas(32) float out[8];
      _mm256_store_ps(out, acc[g]);
      for (int u = 0; u < P && j + u < n1; u++)
        for (int t = 0; t < 4 && 4 * g + t < m; t++) y[size_t(4 * g + t) * ldy + size_t(j + u)] = out[4 * u + t];
    }
  }
}

}  // namespace kqx
}  // namespace
}  // namespace sparq

#ifdef __AVX512VNNI__
#include "kquant_dp_x86.h"
#endif

namespace sparq {
namespace {
namespace kqx {

template <class V, QFormat F>
void matmulInt8(const ActRowsK& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
#ifdef __AVX512VNNI__
  if (m >= kDpMinRows) return gemmDp<F>(a, m, w, n0, n1, y, ldy);
#endif
  if (m < 4)
    gemv<V, F>(a, m, w, n0, n1, y, ldy);
  else
    gemm<V, F>(a, m, w, n0, n1, y, ldy);
}

// Dequantization, 8 values per ymm: the scalar kernel's operations, d1 = d·sc and m1 = dmin·m
// (q6_K: d·sc), then d1·q − m1 (q6_K: d1·(q − 32)). Both products are exact in f32 (f16 × 6 bits
// × 6 bits), so each value rounds once and equals the scalar kernel's bits.
template <QFormat F>
void dequantize(const uint8_t* in, size_t k, int, float* out) {
  const size_t bytes = blockBytes(F, kSuperBlock);
  for (size_t b = 0; b < k / kSuperBlock; b++) {
    const uint8_t* p = in + b * bytes;
    __m256i q[8];
    codes256<F>(p, q);
    float dA, dB;
    factors<F>(p, &dA, &dB);
    alignas(16) uint8_t sm[16];  // q4_K/q5_K: 8 scales, 8 mins (one each per 32); q6_K: 16 s8 scales
    _mm_store_si128(reinterpret_cast<__m128i*>(sm), F == QFormat::q6_K ? load128(p + 192) : scalesMins(p + 4));
    float* y = out + b * kSuperBlock;
    for (int g = 0; g < 16; g++) {  // groups of 16: register g / 2, its half g % 2
      const __m128i codes = g % 2 ? _mm256_extracti128_si256(q[g / 2], 1) : _mm256_castsi256_si128(q[g / 2]);
      for (int h = 0; h < 2; h++) {
        const __m256i v = _mm256_cvtepu8_epi32(h ? _mm_srli_si128(codes, 8) : codes);
        __m256 r;
        if constexpr (F == QFormat::q6_K) {
          const __m256 ds = _mm256_set1_ps(dA * float(int8_t(sm[g])));
          r = _mm256_mul_ps(ds, _mm256_cvtepi32_ps(_mm256_sub_epi32(v, _mm256_set1_epi32(32))));
        } else {
          const __m256 d1 = _mm256_set1_ps(dA * float(sm[g / 2])), m1 = _mm256_set1_ps(dB * float(sm[8 + g / 2]));
          r = _mm256_sub_ps(_mm256_mul_ps(d1, _mm256_cvtepi32_ps(v)), m1);
        }
        _mm256_storeu_ps(y + 16 * g + 8 * h, r);
      }
    }
  }
}

// f32 precision: each weight row dequantized once (exact, and cheap next to the m dot products it
// serves), then SIMD dot products with FMA (reordered within DESIGN §3).
template <class V, QFormat F>
void matmulF32(const float* x, size_t ldx, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  thread_local Scratch rowScratch;  // counted in nativeMemory().scratch
  auto* row = static_cast<float*>(rowScratch.get(w.k * sizeof(float)));
  for (int j = n0; j < n1; j++) {
    dequantize<F>(w.data + size_t(j) * w.rowBytes, w.k, kSuperBlock, row);
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
