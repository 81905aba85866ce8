// The K-quant GEMM of the avx512vnni tier (included by kquant_x86.h; contract: sparq/kquant.h).
//
// With many activation rows the products dominate, and kquant_x86.h's kernel spends two
// multiplies per 64 weights (vpmaddubsw, then the scales by vpdpwssd). Here the weights are laid
// out so that zmm lanes are weight rows: a tile of 32 rows × one super-block becomes 64 steps of
// 4 codes per row (u8), and each step is one vpdpbusd per 16 rows against 4 activation codes
// broadcast. A group's sums (32 elements for q4_K/q5_K, 16 for q6_K) are then scaled per lane with
// one vpmulld: 1 + 1/8 (q6_K 1 + 1/4) multiplies per 64 weights. Mins take one vpdpwssd per two
// groups against the activations' pair sums. Every sum is an exact integer, and each super-block's
// f32 terms are the scalar kernel's own operations in its order, so the results equal it bit for
// bit.
//
// Laying out a tile (unpacking 32 rows and transposing them by 16 × 16 dwords) costs about as much
// as 8 activation rows' products, so this kernel serves m ≥ kDpMinRows, where it measured ahead
// on Zen 5 (m = 32: 200 against 174 GOP/s for q4_K; m = 128: 319 against 200); fewer rows take
// kquant_x86.h's gemm.
#pragma once

namespace sparq {
namespace {
namespace kqx {

constexpr int kDpMinRows = 24;
constexpr int kDpTile = 32;  // weight rows per tile: two zmm of s32 lanes

// 16 zmm of 16 dwords, transposed in place: r[i] lane j ↔ r[j] lane i.
inline void transpose16(__m512i* r) {
  __m512i a[16], b[16];
  for (int i = 0; i < 8; i++) {
    a[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    a[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {  // b[4i + c], 128-bit lane L: column 4L + c of rows 4i…4i+3
    b[4 * i + 0] = _mm512_unpacklo_epi64(a[4 * i], a[4 * i + 2]);
    b[4 * i + 1] = _mm512_unpackhi_epi64(a[4 * i], a[4 * i + 2]);
    b[4 * i + 2] = _mm512_unpacklo_epi64(a[4 * i + 1], a[4 * i + 3]);
    b[4 * i + 3] = _mm512_unpackhi_epi64(a[4 * i + 1], a[4 * i + 3]);
  }
  for (int c = 0; c < 4; c++) {  // a 4 × 4 transpose of 128-bit lanes over b[c], b[4 + c], b[8 + c], b[12 + c]
    const __m512i x0 = _mm512_shuffle_i32x4(b[c], b[4 + c], 0x88), x1 = _mm512_shuffle_i32x4(b[c], b[4 + c], 0xdd);
    const __m512i x2 = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0x88), x3 = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0xdd);
    r[c] = _mm512_shuffle_i32x4(x0, x2, 0x88);
    r[8 + c] = _mm512_shuffle_i32x4(x0, x2, 0xdd);
    r[4 + c] = _mm512_shuffle_i32x4(x1, x3, 0x88);
    r[12 + c] = _mm512_shuffle_i32x4(x1, x3, 0xdd);
  }
}

// One super-block of kDpTile weight rows, lanes = rows (two zmm: rows 0–15, 16–31).
struct DpTile {
  __m512i codes[64][2];  // step c: each row's elements 4c…4c+3 as u8
  __m512i sc[16][2];     // group g's scale (q4_K/q5_K: 8 groups of 32; q6_K: 16 of 16)
  __m512i mins[8][2];    // s16 pairs for vpdpwssd: (m_2p, m_2p+1); q6_K (32·sc_2p, 32·sc_2p+1)
  __m512 dA[2], dB[2];
};

template <QFormat F>
void layTile(const uint8_t* const* rows, size_t offset, DpTile& t) {
  for (int g = 0; g < 2; g++) {
    // Each row unpacked once, its 4 parts of 64 elements staged untransposed (part p of row j at
    // codes[16p + j]); then each 16 × 16 block of dwords transposed in place.
    for (int j = 0; j < 16; j++) {
      __m256i q[8];
      codes256<F>(rows[16 * g + j] + offset, q);
      for (int part = 0; part < 4; part++)
        t.codes[16 * part + j][g] = _mm512_inserti64x4(_mm512_castsi256_si512(q[2 * part]), q[2 * part + 1], 1);
    }
    __m512i r[16];
    for (int part = 0; part < 4; part++) {
      for (int c = 0; c < 16; c++) r[c] = t.codes[16 * part + c][g];
      transpose16(r);
      for (int c = 0; c < 16; c++) t.codes[16 * part + c][g] = r[c];
    }
    alignas(64) float dA[16], dB[16];
    for (int j = 0; j < 16; j++) {
      const uint8_t* p = rows[16 * g + j] + offset;
      factors<F>(p, &dA[j], &dB[j]);
      r[j] = F == QFormat::q6_K ? _mm512_cvtepi8_epi32(load128(p + 192)) : _mm512_cvtepu8_epi32(scalesMins(p + 4));
    }
    t.dA[g] = _mm512_load_ps(dA);
    t.dB[g] = _mm512_load_ps(dB);
    transpose16(r);  // r[s]: scale (or min) word s of the 16 rows
    if constexpr (F == QFormat::q6_K) {
      for (int s = 0; s < 16; s++) t.sc[s][g] = r[s];
      const __m512i low16 = _mm512_set1_epi32(0xffff);
      for (int p = 0; p < 8; p++)
        t.mins[p][g] = _mm512_or_si512(_mm512_and_si512(_mm512_slli_epi32(r[2 * p], 5), low16), _mm512_slli_epi32(r[2 * p + 1], 21));
    } else {
      for (int s = 0; s < 8; s++) t.sc[s][g] = r[s];
      for (int p = 0; p < 4; p++) t.mins[p][g] = _mm512_or_si512(r[8 + 2 * p], _mm512_slli_epi32(r[9 + 2 * p], 16));
    }
  }
}

// m ≥ kDpMinRows activation rows over weight rows [n0, n1), tiles of 4 activation rows × 32
// weight rows. Activations are first copied block-major (as gemm does) with their pair sums.
template <QFormat F>
void gemmDp(const ActRowsK& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  constexpr int groups = F == QFormat::q6_K ? 16 : 8, steps = 64 / groups, pairs = groups / 2;
  const size_t blocks = a.k / kSuperBlock, bytes = blockBytes(F, kSuperBlock);
  const int quads = (m + 3) / 4, rows = 4 * quads;
  thread_local Scratch scratch;  // counted in nativeMemory().scratch
  const size_t codesBytes = blocks * size_t(rows) * kSuperBlock, pairBytes = blocks * size_t(rows) * pairs * 4;
  auto* tile = static_cast<DpTile*>(scratch.get(sizeof(DpTile) + size_t(rows) * kDpTile * 4 + blocks * size_t(rows) * 4 +
                                                codesBytes + pairBytes));
  float* acc = reinterpret_cast<float*>(tile + 1);                  // [row][32]
  float* daT = acc + size_t(rows) * kDpTile;                         // [block][row]
  int8_t* codes = reinterpret_cast<int8_t*>(daT + blocks * rows);    // [block][row][256]
  int32_t* pairSums = reinterpret_cast<int32_t*>(codes + codesBytes);  // [block][row][pairs], s16 pairs
  for (size_t b = 0; b < blocks; b++) {
    for (int t = 0; t < rows; t++) {
      const size_t i = size_t(std::min(m - 1, t)), at = b * size_t(rows) + size_t(t);
      daT[at] = a.d[i * blocks + b];
      std::memcpy(codes + at * kSuperBlock, a.q + i * a.k + b * kSuperBlock, kSuperBlock);
      const int16_t* bs = a.bsums + (i * blocks + b) * kKGroups;
      for (int p = 0; p < pairs; p++) {
        // q6_K pairs its 16 group sums; q4_K/q5_K pair the sums of its 32-element groups.
        const int lo = F == QFormat::q6_K ? bs[2 * p] : bs[4 * p] + bs[4 * p + 1];
        const int hi = F == QFormat::q6_K ? bs[2 * p + 1] : bs[4 * p + 2] + bs[4 * p + 3];
        pairSums[at * pairs + size_t(p)] = int32_t(uint32_t(uint16_t(lo)) | (uint32_t(uint16_t(hi)) << 16));
      }
    }
  }
  for (int j0 = n0; j0 < n1; j0 += kDpTile) {
    const uint8_t* wrows[kDpTile];
    for (int u = 0; u < kDpTile; u++) wrows[u] = w.data + size_t(std::min(j0 + u, n1 - 1)) * w.rowBytes;  // the last row pads
    std::memset(acc, 0, size_t(rows) * kDpTile * sizeof(float));
    for (size_t b = 0; b < blocks; b++) {
      layTile<F>(wrows, b * bytes, *tile);
      const DpTile& t = *tile;
      for (int quad = 0; quad < quads; quad++) {
        const size_t at = b * size_t(rows) + size_t(4 * quad);
        const int8_t* q = codes + at * kSuperBlock;
        __m512i isum[4][2], msum[4][2];
        for (int r = 0; r < 4; r++) isum[r][0] = isum[r][1] = _mm512_setzero_si512();
        for (int g = 0; g < groups; g++) {
          __m512i part[4][2];
          for (int r = 0; r < 4; r++) part[r][0] = part[r][1] = _mm512_setzero_si512();
          for (int c = g * steps; c < (g + 1) * steps; c++) {
            for (int r = 0; r < 4; r++) {
              int32_t four;
              std::memcpy(&four, q + r * kSuperBlock + 4 * c, 4);
              const __m512i x = _mm512_set1_epi32(four);
              part[r][0] = _mm512_dpbusd_epi32(part[r][0], t.codes[c][0], x);
              part[r][1] = _mm512_dpbusd_epi32(part[r][1], t.codes[c][1], x);
            }
          }
          for (int r = 0; r < 4; r++)
            for (int h = 0; h < 2; h++) isum[r][h] = _mm512_add_epi32(isum[r][h], _mm512_mullo_epi32(part[r][h], t.sc[g][h]));
        }
        for (int r = 0; r < 4; r++) {
          msum[r][0] = msum[r][1] = _mm512_setzero_si512();
          for (int p = 0; p < pairs; p++) {
            const __m512i x = _mm512_set1_epi32(pairSums[(at + size_t(r)) * pairs + size_t(p)]);
            msum[r][0] = _mm512_dpwssd_epi32(msum[r][0], t.mins[p][0], x);
            msum[r][1] = _mm512_dpwssd_epi32(msum[r][1], t.mins[p][1], x);
          }
        }
        for (int r = 0; r < 4; r++) {
          const __m512 da = _mm512_set1_ps(daT[at + size_t(r)]);
          for (int h = 0; h < 2; h++) {
            float* out = acc + size_t(4 * quad + r) * kDpTile + 16 * h;
            __m512 v = _mm512_load_ps(out);
            if constexpr (F == QFormat::q6_K) {
              v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_mul_ps(t.dA[h], da), _mm512_cvtepi32_ps(_mm512_sub_epi32(isum[r][h], msum[r][h]))));
            } else {
              v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_mul_ps(t.dA[h], da), _mm512_cvtepi32_ps(isum[r][h])));
              v = _mm512_sub_ps(v, _mm512_mul_ps(_mm512_mul_ps(t.dB[h], da), _mm512_cvtepi32_ps(msum[r][h])));
            }
            _mm512_store_ps(out, v);
          }
        }
      }
    }
    for (int i = 0; i < m; i++)
      for (int u = 0; u < kDpTile && j0 + u < n1; u++) y[size_t(i) * ldy + size_t(j0 + u)] = acc[size_t(i) * kDpTile + size_t(u)];
  }
}

}  // namespace kqx
}  // namespace
}  // namespace sparq
