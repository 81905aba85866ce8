// Quantized matmul kernels, avx2 (+FMA, F16C). Layouts, the GEMV/GEMM split and the exactness
// argument are those of quant_matmul_x86.h, on ymm: GEMV groups of 8 blocks, GEMM panels of 16
// weight rows (two ymm of 8 s32 lanes per 4-byte group).
// VPMADDUBSW (u8·s8 pairs into saturating s16) is only used where it cannot saturate:
//   - q4 nibbles u ≤ 15 against |x| ≤ 127: a pair is ≤ 3810 and up to 8 pairs are added in s16
//     (≤ 30480) before VPMADDWD widens them exactly;
//   - s8 weights split into the nibbles of w + 128 = 16·hi + lo (GEMM), each as above;
//   - |w| ≤ 128 (u8) against x·sign(w), |x| ≤ 127 (GEMV): a pair is ≤ 2·128·127 = 32512.
// Every s32 block sum is < 2²⁴ in magnitude, so float(sumi) is exact.
#include "quant_matmul_x86.h"

namespace sparq {
namespace {
namespace qmm {
namespace ymm {

inline __m256i loadu(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i loadu128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline void store(void* p, __m256i v) { _mm256_store_si256(static_cast<__m256i*>(p), v); }

inline __m256i broadcast4(const void* p) {
  int32_t four;
  std::memcpy(&four, p, 4);
  return _mm256_set1_epi32(four);
}

// Lanes [0, valid) as a maskstore mask, valid clamped to [0, 8].
inline __m256i firstLanes(int valid) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(std::max(0, std::min(8, valid))), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline float sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Per 128-bit lane sums of a0…a3 (s32): element 4L + p = Σ of lane L of a_p.
inline __m256i laneSums(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  const __m256i t0 = _mm256_add_epi32(_mm256_unpacklo_epi32(a0, a1), _mm256_unpackhi_epi32(a0, a1));
  const __m256i t1 = _mm256_add_epi32(_mm256_unpacklo_epi32(a2, a3), _mm256_unpackhi_epi32(a2, a3));
  return _mm256_add_epi32(_mm256_unpacklo_epi64(t0, t1), _mm256_unpackhi_epi64(t0, t1));
}

// laneSums when every s32 lane is at most 15240 in magnitude (8 nibble products, 8·15·127): each
// level packs two vectors to s16 and adds neighbours with VPMADDWD. The packs never saturate: the
// inputs are ≤ 15240 and the first level's sums ≤ 30480 < 32767.
inline __m256i nibbleLaneSums(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i t0 = _mm256_madd_epi16(_mm256_packs_epi32(a0, a1), ones);
  const __m256i t1 = _mm256_madd_epi16(_mm256_packs_epi32(a2, a3), ones);
  return _mm256_madd_epi16(_mm256_packs_epi32(t0, t1), ones);
}

// a[t] holds block t (both lanes): the 8 block sums, in order.
inline __m256i blockSums(const __m256i* a) {
  const __m256i u0 = laneSums(a[0], a[1], a[2], a[3]), u1 = laneSums(a[4], a[5], a[6], a[7]);
  return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u0, u1, 0x31));
}

inline __m256i lanes2(const uint8_t* p0, const uint8_t* p1) {
  return _mm256_inserti128_si256(_mm256_castsi128_si256(loadu128(p0)), loadu128(p1), 1);
}

constexpr int kGemvGroup = 8;

// ---- GEMV, int8 precision ------------------------------------------------------------------

// q4_0 / q4_1: vector p of a group holds blocks 2p and 2p + 1 (one per lane); their lane sums come
// out with block 2p + L at 4L + p, the order the activations' per-block values were stored in.
template <QFormat F, int M>
void gemvNibbles(const GemvActs& acts, const QWeights& w, const Geom& g, int n0, int n1, float* y, size_t ldy) {
  constexpr size_t kBytes = F == QFormat::q4_0 ? 18 : 20, kHeader = headerBytes(F);
  constexpr size_t kGroupBytes = kGemvGroup * kBytes;
  const size_t groups = g.nb / kGemvGroup, tail = g.nb % kGemvGroup;
  const __m256i low4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
  alignas(32) uint8_t last[kGroupBytes];
  WeightPrefetch<1> prefetch(w, n0, n1, groups + (tail ? 1 : 0));
  for (int j = n0; j < n1; j++) {
    const uint8_t* row = w.data + size_t(j) * w.rowBytes;
    __m256 acc[M];
    for (int r = 0; r < M; r++) acc[r] = _mm256_setzero_ps();
    auto group = [&](const uint8_t* base, size_t gi) {
      prefetch.advance();
      __m256i lo[4], hi[4];
#pragma GCC unroll 4
      for (int p = 0; p < 4; p++) {
        const uint8_t* q = base + 2 * p * kBytes + kHeader;
        const __m256i v = lanes2(q, q + kBytes);
        lo[p] = _mm256_and_si256(v, low4);
        hi[p] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
      }
      // Position 4L + p holds block 2p + L (scalar loads: cheaper than a gather here, measured).
      auto scales = [&](size_t at) {
        return _mm256_cvtph_ps(_mm_setr_epi16(
            short(getU16(base + at)), short(getU16(base + 2 * kBytes + at)), short(getU16(base + 4 * kBytes + at)),
            short(getU16(base + 6 * kBytes + at)), short(getU16(base + kBytes + at)),
            short(getU16(base + 3 * kBytes + at)), short(getU16(base + 5 * kBytes + at)),
            short(getU16(base + 7 * kBytes + at))));
      };
      const __m256 dw = scales(0);
      const __m256 mw = F == QFormat::q4_1 ? scales(2) : dw;
#pragma GCC unroll 4
      for (int r = 0; r < M; r++) {
        const int8_t* x = acts.codes + size_t(r) * acts.rowCodes + gi * (kGemvGroup * 32);
        __m256i dot[4];
#pragma GCC unroll 4
        for (int p = 0; p < 4; p++) {
          const __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(lo[p], loadu(x + 64 * p)),
                                                 _mm256_maddubs_epi16(hi[p], loadu(x + 64 * p + 32)));
          dot[p] = _mm256_madd_epi16(pairs, ones);
        }
        __m256i sumi = nibbleLaneSums(dot[0], dot[1], dot[2], dot[3]);
        const size_t at = size_t(r) * acts.rowBlocks + gi * kGemvGroup;
        if (F == QFormat::q4_0) sumi = _mm256_sub_epi32(sumi, loadu(acts.cs + at));
        const __m256 dx = _mm256_loadu_ps(acts.dx + at);
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_mul_ps(dw, dx), acc[r]);
        if (F == QFormat::q4_1)
          acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(mw, dx), _mm256_loadu_ps(acts.sumF + at), acc[r]);
      }
    };
    for (size_t gi = 0; gi < groups; gi++) {
      group(row + gi * kGroupBytes, gi);
    }
    if (tail) {
      std::memset(last, 0, sizeof last);
      std::memcpy(last, row + groups * kGroupBytes, tail * kBytes);
      group(last, groups);
    }
    for (int r = 0; r < M; r++) y[size_t(r) * ldy + size_t(j)] = sum8(acc[r]);
  }
}

// q8_0 / int8: vector t of a group is block t; |w| (u8) times x·sign(w).
template <QFormat F, int M>
void gemvBytes(const GemvActs& acts, const QWeights& w, const Geom& g, int n0, int n1, float* y, size_t ldy,
               const int32_t* scaleAt /* int8: per sub-block offset of its absmax */) {
  const size_t groups = g.nb / kGemvGroup, tail = g.nb % kGemvGroup;
  const __m256i ones = _mm256_set1_epi16(1);
  alignas(32) uint8_t lastCodes[kGemvGroup * 32];
  alignas(32) float lastScales[kGemvGroup];
  WeightPrefetch<1> prefetch(w, n0, n1, groups + (tail ? 1 : 0));
  for (int j = n0; j < n1; j++) {
    const uint8_t* row = w.data + size_t(j) * w.rowBytes;
    __m256 acc[M];
    for (int r = 0; r < M; r++) acc[r] = _mm256_setzero_ps();
    auto group = [&](const __m256i* wv, __m256 dw, size_t gi) {
      prefetch.advance();
      __m256i u[8];
#pragma GCC unroll 8
      for (int t = 0; t < 8; t++) u[t] = _mm256_sign_epi8(wv[t], wv[t]);  // |w|; −128 stays 0x80 = 128 as u8
#pragma GCC unroll 4
      for (int r = 0; r < M; r++) {
        const int8_t* x = acts.codes + size_t(r) * acts.rowCodes + gi * (kGemvGroup * 32);
        __m256i dot[8];
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++)
          dot[t] = _mm256_madd_epi16(_mm256_maddubs_epi16(u[t], _mm256_sign_epi8(loadu(x + 32 * t), wv[t])), ones);
        const __m256i sumi = blockSums(dot);
        const size_t at = size_t(r) * acts.rowBlocks + gi * kGemvGroup;
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_mul_ps(dw, _mm256_loadu_ps(acts.dx + at)), acc[r]);
      }
    };
    for (size_t gi = 0; gi < groups; gi++) {
      const size_t e0 = gi * kGemvGroup;
      __m256i wv[8];
      __m256 dw;
      if (F == QFormat::q8_0) {
        const uint8_t* base = row + e0 * 34;
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++) wv[t] = loadu(base + 34 * t + 2);
        dw = _mm256_cvtph_ps(_mm_setr_epi16(short(getU16(base)), short(getU16(base + 34)), short(getU16(base + 68)),
                                            short(getU16(base + 102)), short(getU16(base + 136)),
                                            short(getU16(base + 170)), short(getU16(base + 204)),
                                            short(getU16(base + 238))));
      } else {
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++) wv[t] = loadu(subCodes<F>(row, g, e0 + t));
        const int32_t* at = scaleAt + e0;
        const __m256 absmax = _mm256_setr_ps(getF32(row + at[0]), getF32(row + at[1]), getF32(row + at[2]),
                                             getF32(row + at[3]), getF32(row + at[4]), getF32(row + at[5]),
                                             getF32(row + at[6]), getF32(row + at[7]));
        dw = _mm256_div_ps(absmax, _mm256_set1_ps(127.0f));
      }
      group(wv, dw, gi);
    }
    if (tail) {
      std::memset(lastCodes, 0, sizeof lastCodes);
      for (size_t t = 0; t < kGemvGroup; t++) {
        const size_t e = groups * kGemvGroup + t;
        if (t < tail) std::memcpy(lastCodes + 32 * t, subCodes<F>(row, g, e), 32);
        lastScales[t] = t < tail ? subScale<F>(row, g, e) : 0.0f;
      }
      __m256i wv[8];
#pragma GCC unroll 8
      for (int t = 0; t < 8; t++) wv[t] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lastCodes + 32 * t));
      group(wv, _mm256_load_ps(lastScales), groups);
    }
    for (int r = 0; r < M; r++) y[size_t(r) * ldy + size_t(j)] = sum8(acc[r]);
  }
}

// ---- GEMM, int8 precision ------------------------------------------------------------------

constexpr int kPanelRows = 16;  // two ymm of 8 s32 lanes per 4-byte group

// 4×4 transpose of the s32 lanes inside each 128-bit lane.
inline void transpose4(const __m256i* a, __m256i* t) {
  const __m256i u0 = _mm256_unpacklo_epi32(a[0], a[1]), u1 = _mm256_unpackhi_epi32(a[0], a[1]);
  const __m256i u2 = _mm256_unpacklo_epi32(a[2], a[3]), u3 = _mm256_unpackhi_epi32(a[2], a[3]);
  t[0] = _mm256_unpacklo_epi64(u0, u2);
  t[1] = _mm256_unpackhi_epi64(u0, u2);
  t[2] = _mm256_unpacklo_epi64(u1, u3);
  t[3] = _mm256_unpackhi_epi64(u1, u3);
}

// Sub-block e of the panel's 16 rows (layout in quant_matmul_x86.h): 8 rows at a time, row
// 4L + k in lane L of vector k, transposed so that s32 lane r of vector i is 4-byte group i of row r.
template <QFormat F>
void packBlock(const uint8_t* const* rows, const Geom& g, size_t e, uint8_t* out, float* dw, float* mw) {
  constexpr size_t kGroupStride = kPanelRows * 4;
  const __m256i low4 = _mm256_set1_epi8(15), flip = _mm256_set1_epi8(char(0x80));
  constexpr int kHalves = isNibbles(F) ? 1 : 2;
  for (int eighth = 0; eighth < 2; eighth++) {
    const uint8_t* const* r8 = rows + 8 * eighth;
    uint8_t* o = out + 32 * eighth;
#pragma GCC unroll 2
    for (int h = 0; h < kHalves; h++) {
      __m256i a[4], t[4];
#pragma GCC unroll 4
      for (int k = 0; k < 4; k++) a[k] = lanes2(subCodes<F>(r8[k], g, e) + 16 * h, subCodes<F>(r8[4 + k], g, e) + 16 * h);
      transpose4(a, t);
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++) {
        if (isNibbles(F)) {
          store(o + i * kGroupStride, _mm256_and_si256(t[i], low4));
          store(o + (4 + i) * kGroupStride, _mm256_and_si256(_mm256_srli_epi16(t[i], 4), low4));
        } else {
          store(o + (4 * h + i) * kGroupStride, _mm256_xor_si256(t[i], flip));
        }
      }
    }
  }
  if (F == QFormat::int8) {
    for (int r = 0; r < 16; r++) dw[r] = getF32(rows[r] + g.blockOf(e) * g.blockBytes) / 127.0f;
  } else {
    alignas(32) uint16_t d[16], m[16];
    for (int r = 0; r < 16; r++) {
      d[r] = getU16(rows[r] + e * g.blockBytes);
      if (F == QFormat::q4_1) m[r] = getU16(rows[r] + e * g.blockBytes + 2);
    }
    for (int half = 0; half < 2; half++) {
      _mm256_store_ps(dw + 8 * half, _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(d + 8 * half))));
      if (F == QFormat::q4_1)
        _mm256_store_ps(mw + 8 * half, _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(m + 8 * half))));
    }
  }
}

template <QFormat F>
void packPanel16(const QWeights& w, const Geom& g, int j0, int rows, const uint8_t* zeroRow, uint8_t* codes, float* dw,
                 float* mw) {
  const uint8_t* rowPtr[kPanelRows];
  for (int r = 0; r < kPanelRows; r++) rowPtr[r] = r < rows ? w.data + size_t(j0 + r) * w.rowBytes : zeroRow;
  for (size_t e = 0; e < g.nb; e++)
    packBlock<F>(rowPtr, g, e, codes + e * 8 * kPanelRows * 4, dw + e * kPanelRows, mw + e * kPanelRows);
}

// R activation rows × J ymm of panel rows, starting at ymm `first` (0 or 1) of the panel; chosen by
// measurement (m = 128).
template <QFormat F>
struct GemmShape {
  static constexpr int R = isNibbles(F) ? 3 : 2, J = isNibbles(F) ? 2 : 1;
};

struct TileArgs {
  const int8_t* x;
  size_t k;
  const float* dx;
  const int32_t* start;
  const float* sumF;
  size_t nb;
  const uint8_t* codes;
  const float* dw;
  const float* mw;
  float* y;
  size_t ldy;
  int cols;  // valid columns from the tile's first one
};

template <QFormat F, int R, int J, bool kPartial>
void gemmTile(const TileArgs& t, int first) {
  constexpr size_t kGroupBytes = kPanelRows * 4, kBlockBytes = 8 * kGroupBytes;
  const __m256i low4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1), sixteen = _mm256_set1_epi16(16);
  __m256 facc[R][J];
  for (int r = 0; r < R; r++)
    for (int j = 0; j < J; j++) facc[r][j] = _mm256_setzero_ps();
  const uint8_t* wb = t.codes + 32 * first;
  const float* dwb = t.dw + 8 * first;
  const float* mwb = t.mw + 8 * first;
  for (size_t b = 0; b < t.nb; b++, wb += kBlockBytes) {
    __m256i acc[R][J];
    if constexpr (isNibbles(F)) {
      __m256i pairs[R][J];
      for (int r = 0; r < R; r++)
        for (int j = 0; j < J; j++) pairs[r][j] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) {
        __m256i wv[J];
        for (int j = 0; j < J; j++) wv[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(wb + q * kGroupBytes + 32 * j));
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
          const __m256i xb = broadcast4(t.x + size_t(r) * t.k + b * 32 + 4 * q);
          for (int j = 0; j < J; j++) pairs[r][j] = _mm256_add_epi16(pairs[r][j], _mm256_maddubs_epi16(wv[j], xb));
        }
      }
      for (int r = 0; r < R; r++) {
        const __m256i start = _mm256_set1_epi32(t.start[size_t(r) * t.nb + b]);
        for (int j = 0; j < J; j++) acc[r][j] = _mm256_add_epi32(_mm256_madd_epi16(pairs[r][j], ones), start);
      }
    } else {
      __m256i high[R][J], low[R][J];
      for (int r = 0; r < R; r++)
        for (int j = 0; j < J; j++) high[r][j] = low[r][j] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) {
        __m256i wh[J], wl[J];
        for (int j = 0; j < J; j++) {
          const __m256i wv = _mm256_load_si256(reinterpret_cast<const __m256i*>(wb + q * kGroupBytes + 32 * j));
          wh[j] = _mm256_and_si256(_mm256_srli_epi16(wv, 4), low4);
          wl[j] = _mm256_and_si256(wv, low4);
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
          const __m256i xb = broadcast4(t.x + size_t(r) * t.k + b * 32 + 4 * q);
          for (int j = 0; j < J; j++) {
            high[r][j] = _mm256_add_epi16(high[r][j], _mm256_maddubs_epi16(wh[j], xb));
            low[r][j] = _mm256_add_epi16(low[r][j], _mm256_maddubs_epi16(wl[j], xb));
          }
        }
      }
      for (int r = 0; r < R; r++) {
        const __m256i start = _mm256_set1_epi32(t.start[size_t(r) * t.nb + b]);
        for (int j = 0; j < J; j++)
          acc[r][j] = _mm256_add_epi32(
              _mm256_add_epi32(_mm256_madd_epi16(high[r][j], sixteen), _mm256_madd_epi16(low[r][j], ones)), start);
      }
    }
    __m256 dw[J], mw[J];
    for (int j = 0; j < J; j++) {
      dw[j] = _mm256_load_ps(dwb + b * kPanelRows + 8 * j);
      if (F == QFormat::q4_1) mw[j] = _mm256_load_ps(mwb + b * kPanelRows + 8 * j);
    }
    for (int r = 0; r < R; r++) {
      const __m256 dx = _mm256_set1_ps(t.dx[size_t(r) * t.nb + b]);
      for (int j = 0; j < J; j++)
        facc[r][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][j]), _mm256_mul_ps(dw[j], dx), facc[r][j]);
      if (F == QFormat::q4_1) {
        const __m256 s = _mm256_set1_ps(t.sumF[size_t(r) * t.nb + b]);
        for (int j = 0; j < J; j++) facc[r][j] = _mm256_fmadd_ps(_mm256_mul_ps(mw[j], dx), s, facc[r][j]);
      }
    }
  }
  for (int r = 0; r < R; r++)
    for (int j = 0; j < J; j++) {
      float* out = t.y + size_t(r) * t.ldy + 8 * j;
      if (kPartial)
        _mm256_maskstore_ps(out, firstLanes(t.cols - 8 * j), facc[r][j]);
      else
        _mm256_storeu_ps(out, facc[r][j]);
    }
}

template <QFormat F, int R, int J>
void gemmTileRows(int rows, bool partial, const TileArgs& t, int first) {
  if constexpr (R > 1) {
    if (rows < R) return gemmTileRows<F, R - 1, J>(rows, partial, t, first);
  }
  if (partial)
    gemmTile<F, R, J, true>(t, first);
  else
    gemmTile<F, R, J, false>(t, first);
}

template <QFormat F>
void gemm(const ActRows& a, int m, const QWeights& w, const Geom& g, int n0, int n1, float* y, size_t ldy) {
  constexpr int R = GemmShape<F>::R, J = GemmShape<F>::J, P = kPanelRows;
  Scratch& scratch = scratchFor(Use::gemm);
  Carver carve;
  const size_t codesAt = carve.reserve<uint8_t>(g.nb * 8 * P * 4);
  const size_t dwAt = carve.reserve<float>(g.nb * P);
  const size_t mwAt = carve.reserve<float>(F == QFormat::q4_1 ? g.nb * P : 0);
  const size_t startAt = carve.reserve<int32_t>(size_t(m) * g.nb);
  const size_t sumAt = carve.reserve<float>(F == QFormat::q4_1 ? size_t(m) * g.nb : 0);
  const size_t zeroAt = carve.reserve<uint8_t>(w.rowBytes);
  void* base = scratch.get(carve.bytes());
  uint8_t* zeroRow = Carver::at<uint8_t>(base, zeroAt);
  std::memset(zeroRow, 0, w.rowBytes);
  const GemmActs acts = prepareGemmActs<F>(a, m, g.nb, base, startAt, sumAt);
  uint8_t* codes = Carver::at<uint8_t>(base, codesAt);
  float* dw = Carver::at<float>(base, dwAt);
  float* mw = Carver::at<float>(base, mwAt);
  const int tilesDown = (m + R - 1) / R;
  for (int j0 = n0; j0 < n1; j0 += P) {
    const int cols = std::min(P, n1 - j0);
    packPanel16<F>(w, g, j0, cols, zeroRow, codes, dw, mw);
    for (int first = 0; first < P / 8; first += J) {
      const int tileCols = cols - 8 * first;
      if (tileCols <= 0) break;
      for (int down = 0; down < tilesDown; down++) {
        const int i0 = m * down / tilesDown, rows = m * (down + 1) / tilesDown - i0;
        const TileArgs t{a.q + size_t(i0) * a.k, a.k, a.d + size_t(i0) * g.nb, acts.start + size_t(i0) * g.nb,
                         acts.sumF + size_t(i0) * g.nb, g.nb, codes, dw, mw,
                         y + size_t(i0) * ldy + size_t(j0 + 8 * first), ldy, tileCols};
        gemmTileRows<F, R, J>(rows, tileCols < 8 * J, t, first);
      }
    }
  }
}

constexpr int kGemvMaxRows = 4;

template <QFormat F, int M>
void gemvRows(const GemvActs& acts, const QWeights& w, const Geom& g, int n0, int n1, float* y, size_t ldy,
              const int32_t* scaleAt) {
  if (isNibbles(F))
    gemvNibbles<F, M>(acts, w, g, n0, n1, y, ldy);
  else
    gemvBytes<F, M>(acts, w, g, n0, n1, y, ldy, scaleAt);
}

template <QFormat F>
void matmulInt8(const ActRows& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  const Geom g = Geom::of<F>(w);
  if (m > kGemvMaxRows) return gemm<F>(a, m, w, g, n0, n1, y, ldy);
  Scratch& actScratch = scratchFor(Use::gemvActs);
  Scratch& tableScratch = scratchFor(Use::gemvTable);
  // The abs/sign products of the byte formats are exact as they are: no s correction.
  const GemvActs acts = prepareGemvActs(a, m, g.nb, kGemvGroup, isNibbles(F), isNibbles(F) ? correction(F) : 0, actScratch);
  int32_t* scaleAt = nullptr;
  if (F == QFormat::int8) {
    scaleAt = static_cast<int32_t*>(tableScratch.get(g.nb * sizeof(int32_t)));
    for (size_t e = 0; e < g.nb; e++) scaleAt[e] = int32_t(g.blockOf(e) * g.blockBytes);
  }
  switch (m) {
    case 1: return gemvRows<F, 1>(acts, w, g, n0, n1, y, ldy, scaleAt);
    case 2: return gemvRows<F, 2>(acts, w, g, n0, n1, y, ldy, scaleAt);
    case 3: return gemvRows<F, 3>(acts, w, g, n0, n1, y, ldy, scaleAt);
    default: return gemvRows<F, 4>(acts, w, g, n0, n1, y, ldy, scaleAt);
  }
}

// ---- f32 precision -------------------------------------------------------------------------

// 16 NF4 codes (one per s32 lane's low 4 bits) → table values: two 8-entry permutes, picked by bit 3.
inline __m256 lookup16(__m256i index, __m256 low, __m256 high) {
  const __m256 fromLow = _mm256_permutevar8x32_ps(low, index), fromHigh = _mm256_permutevar8x32_ps(high, index);
  return _mm256_blendv_ps(fromLow, fromHigh, _mm256_castsi256_ps(_mm256_slli_epi32(index, 28)));
}

// Sub-block e of a row, dequantized exactly as the scalar kernel does: 4 × 8 elements.
template <QFormat F>
inline void dequantize32(const uint8_t* row, const Geom& g, size_t e, __m256* out) {
  const uint8_t* q = subCodes<F>(row, g, e);
  if constexpr (F == QFormat::q8_0 || F == QFormat::int8) {
    const __m256 s = _mm256_set1_ps(subScale<F>(row, g, e));
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
      out[i] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + 8 * i)))), s);
  } else if constexpr (F == QFormat::nf4) {
    const __m256 absmax = _mm256_set1_ps(subScale<F>(row, g, e));
    const __m256 low = _mm256_mul_ps(_mm256_loadu_ps(kNf4Codes), absmax);
    const __m256 high = _mm256_mul_ps(_mm256_loadu_ps(kNf4Codes + 8), absmax);
    // Byte i = c[2i] << 4 | c[2i+1]: the word (b << 8) | (b >> 4) is the byte pair (c[2i], b), and b's
    // low nibble is c[2i+1]; the lookup ignores the high bits.
    const __m256i b16 = _mm256_cvtepu8_epi16(loadu128(q));
    const __m256i c8 = _mm256_or_si256(_mm256_slli_epi16(b16, 8), _mm256_srli_epi16(b16, 4));
    const __m128i c0 = _mm256_castsi256_si128(c8), c1 = _mm256_extracti128_si256(c8, 1);
    out[0] = lookup16(_mm256_cvtepu8_epi32(c0), low, high);
    out[1] = lookup16(_mm256_cvtepu8_epi32(_mm_srli_si128(c0, 8)), low, high);
    out[2] = lookup16(_mm256_cvtepu8_epi32(c1), low, high);
    out[3] = lookup16(_mm256_cvtepu8_epi32(_mm_srli_si128(c1, 8)), low, high);
  } else {
    const __m256 d = _mm256_set1_ps(subScale<F>(row, g, e));
    const __m128i raw = loadu128(q), low4 = _mm_set1_epi8(15);
    __m128i lo = _mm_and_si128(raw, low4), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), low4);
    if (F == QFormat::q4_0) {
      lo = _mm_sub_epi8(lo, _mm_set1_epi8(8));
      hi = _mm_sub_epi8(hi, _mm_set1_epi8(8));
    }
    const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
      const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[i])), d);
      out[i] = F == QFormat::q4_1 ? _mm256_add_ps(v, _mm256_set1_ps(halfToFloat(row + e * 20 + 2))) : v;  // q·d + m
    }
  }
}

template <QFormat F, int M>
void f32Gemv(const float* x, size_t ldx, const QWeights& w, const Geom& g, int n0, int n1, float* y, size_t ldy) {
  WeightPrefetch<1> prefetch(w, n0, n1, (g.nb + 1) / 2);  // advanced every 2 sub-blocks
  for (int j = n0; j < n1; j++) {
    const uint8_t* row = w.data + size_t(j) * w.rowBytes;
    __m256 acc[M][4];
    for (int r = 0; r < M; r++)
      for (int h = 0; h < 4; h++) acc[r][h] = _mm256_setzero_ps();
    for (size_t e = 0; e < g.nb; e++) {
      if (e % 2 == 0) prefetch.advance();
      __m256 wv[4];
      dequantize32<F>(row, g, e, wv);
      for (int r = 0; r < M; r++) {
        const float* xr = x + size_t(r) * ldx + e * 32;
#pragma GCC unroll 4
        for (int h = 0; h < 4; h++) acc[r][h] = _mm256_fmadd_ps(wv[h], _mm256_loadu_ps(xr + 8 * h), acc[r][h]);
      }
    }
    for (int r = 0; r < M; r++)
      y[size_t(r) * ldy + size_t(j)] =
          sum8(_mm256_add_ps(_mm256_add_ps(acc[r][0], acc[r][1]), _mm256_add_ps(acc[r][2], acc[r][3])));
  }
}

constexpr int kF32Rows = 4;         // weight rows dequantized together
constexpr int kF32Tile = 2;         // activation rows per register tile (2 × 4 accumulators)
constexpr size_t kF32Chunk = 1024;  // k elements per chunk: 4 rows of it stay in L1

template <int R>
void f32Tile(const float* x, size_t ldx, const float* wbuf, size_t kc, float* accBuf) {
  __m256 acc[R][kF32Rows];
  for (int r = 0; r < R; r++)
    for (int j = 0; j < kF32Rows; j++) acc[r][j] = _mm256_load_ps(accBuf + (r * kF32Rows + j) * 8);
  for (size_t p = 0; p < kc; p += 8) {
    __m256 wv[kF32Rows];
    for (int j = 0; j < kF32Rows; j++) wv[j] = _mm256_load_ps(wbuf + j * kF32Chunk + p);
    for (int r = 0; r < R; r++) {
      const __m256 xv = _mm256_loadu_ps(x + size_t(r) * ldx + p);
      for (int j = 0; j < kF32Rows; j++) acc[r][j] = _mm256_fmadd_ps(xv, wv[j], acc[r][j]);
    }
  }
  for (int r = 0; r < R; r++)
    for (int j = 0; j < kF32Rows; j++) _mm256_store_ps(accBuf + (r * kF32Rows + j) * 8, acc[r][j]);
}

template <QFormat F>
void f32Gemm(const float* x, size_t ldx, int m, const QWeights& w, const Geom& g, int n0, int n1, float* y,
             size_t ldy) {
  Scratch& scratch = scratchFor(Use::f32);
  Carver carve;
  const size_t wAt = carve.reserve<float>(kF32Rows * kF32Chunk);
  const size_t accAt = carve.reserve<float>(size_t(m) * kF32Rows * 8);
  void* base = scratch.get(carve.bytes());
  float* wbuf = Carver::at<float>(base, wAt);
  float* accBuf = Carver::at<float>(base, accAt);
  const int tilesDown = (m + kF32Tile - 1) / kF32Tile;
  for (int j0 = n0; j0 < n1; j0 += kF32Rows) {
    const int rows = std::min(kF32Rows, n1 - j0);
    std::memset(accBuf, 0, size_t(m) * kF32Rows * 8 * sizeof(float));
    for (size_t c0 = 0; c0 < g.k; c0 += kF32Chunk) {
      const size_t kc = std::min(kF32Chunk, g.k - c0);
      for (int j = 0; j < kF32Rows; j++) {
        float* to = wbuf + j * kF32Chunk;
        if (j >= rows) {
          std::memset(to, 0, kc * sizeof(float));
          continue;
        }
        const uint8_t* row = w.data + size_t(j0 + j) * w.rowBytes;
        for (size_t p = 0; p < kc; p += 32) {
          __m256 wv[4];
          dequantize32<F>(row, g, (c0 + p) / 32, wv);
          for (int h = 0; h < 4; h++) _mm256_store_ps(to + p + 8 * h, wv[h]);
        }
      }
      for (int down = 0; down < tilesDown; down++) {
        const int i0 = m * down / tilesDown, rows = m * (down + 1) / tilesDown - i0;
        const float* xr = x + size_t(i0) * ldx + c0;
        float* accRows = accBuf + size_t(i0) * kF32Rows * 8;
        if (rows == 1)
          f32Tile<1>(xr, ldx, wbuf, kc, accRows);
        else
          f32Tile<2>(xr, ldx, wbuf, kc, accRows);
      }
    }
    for (int i = 0; i < m; i++)
      for (int j = 0; j < rows; j++)
        y[size_t(i) * ldy + size_t(j0 + j)] = sum8(_mm256_load_ps(accBuf + (size_t(i) * kF32Rows + j) * 8));
  }
}

template <QFormat F>
void matmulF32(const float* x, size_t ldx, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  const Geom g = Geom::of<F>(w);
  switch (m) {
    case 1: return f32Gemv<F, 1>(x, ldx, w, g, n0, n1, y, ldy);
    case 2: return f32Gemv<F, 2>(x, ldx, w, g, n0, n1, y, ldy);
    default: return f32Gemm<F>(x, ldx, m, w, g, n0, n1, y, ldy);
  }
}

}  // namespace ymm
}  // namespace qmm
}  // namespace

const QuantMatmulKernels quantMatmul__avx2 = {
    {qmm::ymm::matmulInt8<QFormat::q8_0>, qmm::ymm::matmulInt8<QFormat::q4_0>, qmm::ymm::matmulInt8<QFormat::q4_1>,
     nullptr, qmm::ymm::matmulInt8<QFormat::int8>},
    {qmm::ymm::matmulF32<QFormat::q8_0>, qmm::ymm::matmulF32<QFormat::q4_0>, qmm::ymm::matmulF32<QFormat::q4_1>,
     qmm::ymm::matmulF32<QFormat::nf4>, qmm::ymm::matmulF32<QFormat::int8>},
};

}  // namespace sparq
