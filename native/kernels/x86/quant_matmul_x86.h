// Shared by the x86 quantized matmul kernels (quant_matmul__avx2.cc, __avx512.cc, __avx512vnni.cc):
// block geometry, scratch, the activation and weight-panel layouts, and the zmm kernels themselves
// (the avx512 and avx512vnni tiers differ only in how they multiply u8 by s8).
// Contract: sparq/quant.h (MatmulInt8Fn, MatmulF32Fn). Weights are read in their on-disk block
// layouts, no alignment assumed. Integer block sums are exact; each int8-precision term is
// (dw·dx)·float(sumi) (FMA'd into the accumulator), f32-precision weights are dequantized exactly as
// the scalar kernel does; only the order of the f32 additions differs from it. Only
// y[0, m) × [n0, n1) is written. Activations are never read past their rows; weights at most 56
// bytes past the matrix (inside its spare zeroed line).
// Everything here has internal linkage on purpose: each tier's translation unit compiles its own
// copy with its own -m flags, so the linker can never hand the AVX2 tier a copy built for AVX-512.
// For the same reason no std:: container is instantiated here (their out-of-line members would be
// shared between translation units); scratch is a thread-local aligned buffer.
//
// Two shapes of work, chosen by the number of activation rows m of a task:
//
// GEMV (m ≤ 4): weight rows are streamed once, straight from their block layout, and each loaded
// group of G blocks (16 for zmm, 8 for ymm) serves all m activation rows. Vectors hold whole blocks
// per 128-bit lane, the integer dot products land in s32 lanes, a short add tree turns each block's
// lane partials into its exact sum (one lane per block), and the terms (dw·dx)·float(sumi) are
// FMA'd into an f32 accumulator per row. The activations are re-laid out once per call to line up
// with those lanes. With one activation row, two weight rows go side by side to share the loads of
// activations. The stream is prefetched into L2 well ahead, in consumption order (WeightPrefetch).
//
// GEMM (more rows): a panel of weight rows is unpacked into scratch as u8 codes in the VNNI layout
// [block][group of 4 k][panel row][4 bytes] with per (block, row) f32 scales, and a register tile of
// activation rows × panel rows accumulates each block in s32 (4 activation bytes broadcast against
// 4 bytes of every panel row) before converting it and FMA-ing it with dw ⊗ dx.
//
// The u8 codes: q4 nibbles as they are (0…15); s8 codes of q8_0 and int8 as w ^ 0x80 = w + 128.
// Either way Σ u·x = Σ w·x + C·s with s = Σx, C = 8 (q4_0), 0 (q4_1) or 128 (q8_0, int8), and the
// s32 accumulator starts from −C·s (or C·s is taken off the block sums), so it ends on the exact
// sumi of docs/quantization.md. Every s32 value on the way is below 32·255·127 + 128·32·127 < 2²⁴ in
// magnitude, so float(sumi) is exact.
//
// f32 precision: a few rows dequantize each weight row in registers and FMA it into all of them;
// more rows dequantize 4 weight rows a 1024-element chunk at a time into L1 scratch and run a
// register tile of activation rows × those 4 rows, lanes along k.
#pragma once
// GCC 12 reports its own "undefined" vector temporaries inside the AVX-512 intrinsics as maybe
// uninitialized (GCC PR 105593) at their lines in the intrinsic headers; keep it quiet there only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include "sparq/quant.h"
#include "sparq/quant_common.h"
#include "sparq/scratch.h"

namespace sparq {
namespace {
namespace qmm {

using quant::getF32;
using quant::getU16;

// ---------------------------------------------------------------------------------------------
// Scratch and geometry

// The calling thread's scratch buffers, one per use, shared by every format of the tier.
enum class Use { gemvActs, gemvTable, gemm, f32 };
inline Scratch& scratchFor(Use use) {
  thread_local Scratch buffers[4];
  return buffers[int(use)];
}

// Hands out 64-byte aligned slices of one scratch allocation.
class Carver {
 public:
  template <typename T>
  size_t reserve(size_t count) {
    const size_t at = used_;
    used_ += (count * sizeof(T) + 63) / 64 * 64;
    return at;
  }
  size_t bytes() const { return used_; }
  template <typename T>
  static T* at(void* base, size_t offset) {
    return reinterpret_cast<T*>(static_cast<uint8_t*>(base) + offset);
  }

 private:
  size_t used_ = 0;
};

inline size_t roundUp(size_t x, size_t to) { return (x + to - 1) / to * to; }

constexpr bool isNibbles(QFormat f) { return f == QFormat::q4_0 || f == QFormat::q4_1; }
// Σ u·x = Σ w·x + C·s for the u8 codes above.
constexpr int correction(QFormat f) { return f == QFormat::q4_0 ? 8 : f == QFormat::q4_1 ? 0 : 128; }
// Bytes before the codes in a block.
constexpr size_t headerBytes(QFormat f) { return f == QFormat::q8_0 || f == QFormat::q4_0 ? 2 : 4; }

// Where 32-element sub-block e of a row lives: ggml formats have one block per sub-block; nf4 and
// int8 blocks hold `per` = blockSize/32 of them (a power of two).
struct Geom {
  size_t k, nb, blockBytes;
  int perShift;
  template <QFormat F>
  static Geom of(const QWeights& w) {
    Geom g{w.k, w.k / kActBlock, sparq::blockBytes(F, w.blockSize), 0};
    while ((kActBlock << g.perShift) < w.blockSize) g.perShift++;
    return g;
  }
  size_t blockOf(size_t e) const { return e >> perShift; }
  size_t subOf(size_t e) const { return e & ((size_t(1) << perShift) - 1); }
};

template <QFormat F>
inline const uint8_t* subCodes(const uint8_t* row, const Geom& g, size_t e) {
  if (F == QFormat::int8) return row + g.blockOf(e) * g.blockBytes + 4 + g.subOf(e) * 32;
  if (F == QFormat::nf4) return row + g.blockOf(e) * g.blockBytes + 4 + g.subOf(e) * 16;
  return row + e * g.blockBytes + headerBytes(F);
}

inline float halfToFloat(const uint8_t* p) { return _cvtsh_ss(getU16(p)); }  // exact, as f16ToF32

// The weight scale of sub-block e: dw (ggml), absmax/127 (int8), absmax (nf4).
template <QFormat F>
inline float subScale(const uint8_t* row, const Geom& g, size_t e) {
  if (F == QFormat::int8) return getF32(row + g.blockOf(e) * g.blockBytes) / 127.0f;
  if (F == QFormat::nf4) return getF32(row + g.blockOf(e) * g.blockBytes);
  return halfToFloat(row + e * g.blockBytes);
}

// ---------------------------------------------------------------------------------------------
// GEMM: weight panels and per-row activation sums

// A panel of P weight rows, all of k, as each tier packs it: codes [nb][8][P][4] (u8 codes as
// above, 4-byte group q of sub-block e of panel row r at ((e·8 + q)·P + r)·4), dw and mw [nb][P].
// Rows past the last real one are read from a zero row: codes 0, scales 0, so their lanes compute 0.

// Per (activation row, block): the s32 start −C·s and, for q4_1, float(s).
struct GemmActs {
  const int32_t* start;
  const float* sumF;
};

template <QFormat F>
GemmActs prepareGemmActs(const ActRows& a, int m, size_t nb, void* base, size_t startAt, size_t sumAt) {
  int32_t* start = Carver::at<int32_t>(base, startAt);
  float* sumF = Carver::at<float>(base, sumAt);
  const int32_t c = correction(F);
  for (size_t i = 0; i < size_t(m) * nb; i++) {
    start[i] = -c * a.s[i];
    if (F == QFormat::q4_1) sumF[i] = float(a.s[i]);
  }
  return {start, sumF};
}

// ---------------------------------------------------------------------------------------------
// GEMV: the weight stream

// Prefetches the weight rows [row, end) into L2 (PREFETCHT1) in the order a GEMV consumes them:
// NR rows side by side, `step` bytes of each per call, kAheadBytes of consumption ahead.
// (Measured on Zen 4: L1 prefetches leave the stream at ~65% of a plain read, as too few L1 misses
// can be in flight; T1 prefetches 8–16 KB ahead of consumption reach 80–90%. "Ahead" has to follow
// the consumption order: with rows interleaved, a plain address offset lands in rows being read.
// Every line is needed, the partial last group of a row included: a gap costs a DRAM latency.)
// The caller advances it `callsPerRow` times per row (per NR rows), which moves it by a whole row.
template <int NR>
class WeightPrefetch {
 public:
  static constexpr size_t kAheadBytes = 16384;
  WeightPrefetch(const QWeights& w, int row, int end, size_t callsPerRow)
      : rowBytes_(w.rowBytes), step_((w.rowBytes + callsPerRow - 1) / callsPerRow),
        at_(w.data + size_t(row) * w.rowBytes), rowEnd_(at_ + w.rowBytes), end_(w.data + size_t(end) * w.rowBytes) {
    for (size_t ahead = 0; ahead < kAheadBytes; ahead += NR * step_) advance(false);
  }
  void advance(bool fetch = true) {
    if (at_ >= end_) return;
    if (fetch) {
#pragma GCC unroll 4
      for (int n = 0; n < NR; n++)
        for (size_t line = 0; line < step_; line += 64)
          _mm_prefetch(reinterpret_cast<const char*>(at_ + n * rowBytes_ + line), _MM_HINT_T1);
    }
    at_ += step_;
    if (at_ >= rowEnd_) {  // on to the next NR rows (past the last row: lines that are never read)
      rowEnd_ += NR * rowBytes_;
      at_ = rowEnd_ - rowBytes_;
    }
  }

 private:
  size_t rowBytes_, step_;
  const uint8_t* at_;      // frontier in the first of the NR rows
  const uint8_t* rowEnd_;  // end of that row
  const uint8_t* end_;     // end of the last row
};

// ---------------------------------------------------------------------------------------------
// GEMV: activations re-laid out to match the weight vectors

// Per activation row, groups of G blocks (zero past the last block):
//   nibble formats: the G·32 code bytes of a group as 4 pairs of vectors (lo, hi) of G·4 bytes;
//     lane L (16 bytes) of pair p holds elements 0…15 (lo) or 16…31 (hi) of block p·G/4 + L.
//     The lane sums of the 4 pairs come out with block p·G/4 + L at position 4L + p, and the
//     per-block values below are stored in that order;
//   byte formats: codes as they are, per-block values in block order.
//   Per block: dx, C·s and float(s).
struct GemvActs {
  const int8_t* codes;
  const float* dx;
  const int32_t* cs;
  const float* sumF;
  size_t rowCodes, rowBlocks;  // strides between activation rows
};

inline GemvActs prepareGemvActs(const ActRows& a, int m, size_t nb, int G, bool nibbles, int c, Scratch& scratch) {
  const size_t nbPad = roundUp(nb, size_t(G));
  Carver carve;
  const size_t codesAt = carve.reserve<int8_t>(size_t(m) * nbPad * 32);
  const size_t dxAt = carve.reserve<float>(size_t(m) * nbPad);
  const size_t csAt = carve.reserve<int32_t>(size_t(m) * nbPad);
  const size_t sumAt = carve.reserve<float>(size_t(m) * nbPad);
  void* base = scratch.get(carve.bytes());
  int8_t* codes = Carver::at<int8_t>(base, codesAt);
  float* dx = Carver::at<float>(base, dxAt);
  int32_t* cs = Carver::at<int32_t>(base, csAt);
  float* sumF = Carver::at<float>(base, sumAt);
  const size_t lanes = size_t(G) / 4, vec = lanes * 16;  // lanes and bytes of one nibble vector
  for (int i = 0; i < m; i++) {
    const int8_t* q = a.q + size_t(i) * a.k;
    int8_t* out = codes + size_t(i) * nbPad * 32;
    for (size_t e = 0; e < nbPad; e++) {
      const bool real = e < nb;
      const size_t t = e % size_t(G), p = t / lanes, lane = t % lanes;
      size_t at = e;
      if (nibbles) {
        int8_t* group = out + (e - t) * 32 + p * 2 * vec + lane * 16;
        if (real) {
          std::memcpy(group, q + e * 32, 16);
          std::memcpy(group + vec, q + e * 32 + 16, 16);
        } else {
          std::memset(group, 0, 16);
          std::memset(group + vec, 0, 16);
        }
        at = e - t + 4 * lane + p;
      } else if (real) {
        std::memcpy(out + e * 32, q + e * 32, 32);
      } else {
        std::memset(out + e * 32, 0, 32);
      }
      const size_t r = size_t(i) * nbPad + at;
      const int32_t s = real ? a.s[size_t(i) * nb + e] : 0;
      dx[r] = real ? a.d[size_t(i) * nb + e] : 0.0f;
      cs[r] = c * s;
      sumF[r] = float(s);
    }
  }
  return {codes, dx, cs, sumF, nbPad * 32, nbPad};
}

}  // namespace qmm
}  // namespace
}  // namespace sparq

// =============================================================================================
// zmm kernels, for the avx512 and avx512vnni tiers (kVnni selects VPDPBUSD).
//
// Without VNNI the u8·s8 products go through VPMADDUBSW, whose s16 pair sums saturate at ±32767.
// It is only used where that cannot happen:
//   - q4 nibbles u ≤ 15 against |x| ≤ 127: a pair is ≤ 2·15·127 = 3810, and up to 8 pairs are
//     added in s16 (≤ 30480) before VPMADDWD widens them exactly to s32;
//   - s8 weights w split into nibbles of u = w + 128 = 16·hi + lo (GEMM), each as above;
//   - s8 weights w against x with the abs/sign trick (GEMV): |w| ≤ 128 as u8 times x·sign(w),
//     |x| ≤ 127, so a pair is ≤ 2·128·127 = 32512, widened to s32 at once.
// VPDPBUSD adds its 4 products to s32 without saturation. Every s32 sum here is ≤ 32·255·127 < 2²⁴,
// so float(sumi) is exact.
// =============================================================================================
#ifdef __AVX512F__
namespace sparq {
namespace {
namespace qmm {
namespace zmm {

inline __m512i loadu(const void* p) { return _mm512_loadu_si512(p); }
inline __m128i loadu128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i loadu256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// The 4 bytes at p in every s32 lane.
inline __m512i broadcast4(const void* p) {
  int32_t four;
  std::memcpy(&four, p, 4);
  return _mm512_set1_epi32(four);
}

inline __mmask16 firstLanes(int valid) { return __mmask16((1u << std::max(0, std::min(16, valid))) - 1u); }

// Per 128-bit lane sums of a0…a3 (s32): element 4L + p = Σ of lane L of a_p.
inline __m512i laneSums(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
  const __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
  const __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
  return _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
}

// laneSums when every s32 lane is at most 15240 in magnitude (8 nibble products, 8·15·127): each
// level packs two vectors to s16 and adds neighbours with VPMADDWD, 2 ops instead of 3. The packs
// never saturate: the inputs are ≤ 15240 and the first level's sums ≤ 30480 < 32767.
inline __m512i nibbleLaneSums(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
  const __m512i ones = _mm512_set1_epi16(1);
  const __m512i t0 = _mm512_madd_epi16(_mm512_packs_epi32(a0, a1), ones);  // lane: Σ½a0 Σ½a0 Σ½a1 Σ½a1
  const __m512i t1 = _mm512_madd_epi16(_mm512_packs_epi32(a2, a3), ones);
  return _mm512_madd_epi16(_mm512_packs_epi32(t0, t1), ones);
}

// a[t] holds block 2t in lanes 0–1 and block 2t + 1 in lanes 2–3: the 16 block sums, in order.
inline __m512i pairSums(const __m512i* a) {
  const __m512i u0 = laneSums(a[0], a[1], a[2], a[3]), u1 = laneSums(a[4], a[5], a[6], a[7]);
  // Lane 0 of s: blocks 0 2 4 6; lane 1: 1 3 5 7; lane 2: 8 10 12 14; lane 3: 9 11 13 15.
  const __m512i s = _mm512_add_epi32(_mm512_shuffle_i32x4(u0, u1, _MM_SHUFFLE(2, 0, 2, 0)),
                                     _mm512_shuffle_i32x4(u0, u1, _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15), s);
}

// Four 16-byte rows side by side.
inline __m512i lanes4(const uint8_t* p0, const uint8_t* p1, const uint8_t* p2, const uint8_t* p3) {
  __m512i v = _mm512_castsi128_si512(loadu128(p0));
  v = _mm512_inserti32x4(v, loadu128(p1), 1);
  v = _mm512_inserti32x4(v, loadu128(p2), 2);
  return _mm512_inserti32x4(v, loadu128(p3), 3);
}

inline __m512i halves(const uint8_t* p0, const uint8_t* p1) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(loadu256(p0)), loadu256(p1), 1);
}

constexpr int kGemvGroup = 16;           // blocks per GEMV step

// ---- GEMV, int8 precision ------------------------------------------------------------------

// q4_0 / q4_1. A group is 16 blocks (288 or 320 bytes). Window p is the 128 bytes from the start
// of block 4p (two vectors; the last one reaches 56 or 48 bytes past the group, which the spare line
// after the matrix covers). Every block starts on an even byte, so one VPERMT2W index picks the
// nibble bytes of blocks 4p … 4p + 3 out of window p into the lanes of vector p, and a few more
// collect the f16 scales (and q4_1 minimums) of all 16 blocks from the windows, in the order the
// lane sums come out (block 4p + L at 4L + p).
template <QFormat F>
struct NibbleGroup {
  static constexpr size_t kBytes = F == QFormat::q4_0 ? 18 : 20, kHeader = headerBytes(F);
  static constexpr size_t kWindowStride = 4 * kBytes;
  // Window w supplies the scale words of blocks [kFirst[w], kFirst[w + 1]).
  static constexpr int kScaleWindows = F == QFormat::q4_0 ? 2 : 4;
  static constexpr int kWindow[4] = {0, F == QFormat::q4_0 ? 2 : 1, 2, 3};
  static constexpr int kFirst[5] = {0, F == QFormat::q4_0 ? 8 : 7, F == QFormat::q4_0 ? 16 : 11, 15, 16};

  __m512i codeIndex, scaleIndex[4];
  __mmask32 scaleMask[4];

  NibbleGroup() {
    alignas(64) int16_t idx[32];
    for (int lane = 0; lane < 4; lane++)
      for (int c = 0; c < 8; c++) idx[8 * lane + c] = int16_t((lane * int(kBytes) + int(kHeader)) / 2 + c);
    codeIndex = _mm512_load_si512(idx);
    for (int wi = 0; wi < kScaleWindows; wi++) {
      uint32_t mask = 0;
      for (int e = 0; e < 16; e++) {  // position e = 4L + p holds block 4p + L
        const int block = 4 * (e % 4) + e / 4;
        const bool here = block >= kFirst[wi] && block < kFirst[wi + 1];
        const int word = (block * int(kBytes) - kWindow[wi] * int(kWindowStride)) / 2;
        idx[e] = int16_t(here ? word : 0);
        idx[16 + e] = int16_t(here ? word + 1 : 0);  // q4_1: m follows d
        if (here) mask |= (1u << e) | (1u << (16 + e));
      }
      scaleIndex[wi] = _mm512_load_si512(idx);
      scaleMask[wi] = __mmask32(mask);
    }
  }

  // Nibble bytes of vector p (blocks 4p…4p+3) and the f16 scale words (d in words 0–15, m in 16–31).
  // kTail: only the first `valid` bytes exist (the row's last, partial group); the rest reads as 0.
  template <bool kTail>
  void load(const uint8_t* base, size_t valid, __m512i* codes, __m512i* scales) const {
    auto at = [&](size_t offset) {
      if (!kTail) return loadu(base + offset);
      const size_t n = valid > offset ? std::min<size_t>(64, valid - offset) : 0;
      return _mm512_maskz_loadu_epi8(n == 64 ? ~__mmask64(0) : (__mmask64(1) << n) - 1, base + offset);
    };
    __m512i window[4][2];
#pragma GCC unroll 4
    for (int p = 0; p < 4; p++) {
      window[p][0] = at(kWindowStride * p);
      window[p][1] = at(kWindowStride * p + 64);
      codes[p] = _mm512_permutex2var_epi16(window[p][0], codeIndex, window[p][1]);
    }
    __m512i s = _mm512_permutex2var_epi16(window[0][0], scaleIndex[0], window[0][1]);
#pragma GCC unroll 3
    for (int wi = 1; wi < kScaleWindows; wi++)
      s = _mm512_mask_mov_epi16(
          s, scaleMask[wi],
          _mm512_permutex2var_epi16(window[kWindow[wi]][0], scaleIndex[wi], window[kWindow[wi]][1]));
    *scales = s;
  }
};

// NR weight rows side by side: every activation vector loaded (512 bytes per group and activation
// row) serves all of them, and the two rows' independent work keeps more of the core busy.
template <QFormat F, bool kVnni, int M, int NR, class Prefetch>
void gemvNibbleRows(const NibbleGroup<F>& layout, const GemvActs& acts, const uint8_t* const* rows, size_t groups,
                    size_t tail, Prefetch& prefetch, float* y, size_t ldy) {
  constexpr size_t kGroupBytes = kGemvGroup * NibbleGroup<F>::kBytes;
  const __m512i low4 = _mm512_set1_epi8(15), ones = _mm512_set1_epi16(1);
  __m512 acc[M][NR];
#pragma GCC unroll 8
  for (int r = 0; r < M; r++)
#pragma GCC unroll 2
    for (int n = 0; n < NR; n++) acc[r][n] = _mm512_setzero_ps();
  auto group = [&](auto tailGroup, size_t gi, size_t valid) {
    prefetch.advance();
    __m512i lo[NR][4], hi[NR][4];
    __m512 dw[NR], mw[NR];
#pragma GCC unroll 2
    for (int n = 0; n < NR; n++) {
      const uint8_t* base = rows[n] + gi * kGroupBytes;
      __m512i nibbles[4], scales;
      layout.template load<decltype(tailGroup)::value>(base, valid, nibbles, &scales);
#pragma GCC unroll 4
      for (int p = 0; p < 4; p++) {
        lo[n][p] = _mm512_and_si512(nibbles[p], low4);
        hi[n][p] = _mm512_and_si512(_mm512_srli_epi16(nibbles[p], 4), low4);
      }
      dw[n] = _mm512_cvtph_ps(_mm512_castsi512_si256(scales));
      mw[n] = F == QFormat::q4_1 ? _mm512_cvtph_ps(_mm512_extracti64x4_epi64(scales, 1)) : dw[n];
    }
#pragma GCC unroll 8
    for (int r = 0; r < M; r++) {
      const int8_t* x = acts.codes + size_t(r) * acts.rowCodes + gi * (kGemvGroup * 32);
      __m512i dot[NR][4];
#pragma GCC unroll 4
      for (int p = 0; p < 4; p++) {
        __m512i xlo = loadu(x + 128 * p), xhi = loadu(x + 128 * p + 64);
        if (NR > 1) asm("" : "+v"(xlo), "+v"(xhi));  // one load for all rows: keep GCC from folding it into each
#pragma GCC unroll 2
        for (int n = 0; n < NR; n++) {
          if constexpr (kVnni) {
            dot[n][p] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[n][p], xlo), hi[n][p], xhi);
          } else {
            const __m512i pairs =
                _mm512_add_epi16(_mm512_maddubs_epi16(lo[n][p], xlo), _mm512_maddubs_epi16(hi[n][p], xhi));
            dot[n][p] = _mm512_madd_epi16(pairs, ones);
          }
        }
      }
      const size_t at = size_t(r) * acts.rowBlocks + gi * kGemvGroup;
      const __m512 dx = _mm512_loadu_ps(acts.dx + at);
#pragma GCC unroll 2
      for (int n = 0; n < NR; n++) {
        __m512i sumi = nibbleLaneSums(dot[n][0], dot[n][1], dot[n][2], dot[n][3]);
        if (F == QFormat::q4_0) sumi = _mm512_sub_epi32(sumi, loadu(acts.cs + at));
        acc[r][n] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi), _mm512_mul_ps(dw[n], dx), acc[r][n]);
        if (F == QFormat::q4_1)
          acc[r][n] = _mm512_fmadd_ps(_mm512_mul_ps(mw[n], dx), _mm512_loadu_ps(acts.sumF + at), acc[r][n]);
      }
    }
  };
  for (size_t gi = 0; gi < groups; gi++) group(std::false_type{}, gi, kGroupBytes);
  if (tail) group(std::true_type{}, groups, tail * NibbleGroup<F>::kBytes);
#pragma GCC unroll 8
  for (int r = 0; r < M; r++)
#pragma GCC unroll 2
    for (int n = 0; n < NR; n++) y[size_t(r) * ldy + size_t(n)] = _mm512_reduce_add_ps(acc[r][n]);
}

template <QFormat F, bool kVnni, int M>
void gemvNibbles(const GemvActs& acts, const QWeights& w, const Geom& g, int n0, int n1, float* y, size_t ldy) {
  const NibbleGroup<F> layout;
  const size_t groups = g.nb / kGemvGroup, tail = g.nb % kGemvGroup;
  // With one activation row, two weight rows at a time share every activation load (with more, the
  // registers run out: measured slower).
  constexpr int NR = M == 1 ? 2 : 1;
  const int pairedEnd = n0 + (n1 - n0) / NR * NR;
  WeightPrefetch<NR> prefetch(w, n0, n1, groups + (tail ? 1 : 0));
  int j = n0;
  for (; j < pairedEnd; j += NR) {
    const uint8_t* rows[NR];
    for (int n = 0; n < NR; n++) rows[n] = w.data + size_t(j + n) * w.rowBytes;
    gemvNibbleRows<F, kVnni, M, NR>(layout, acts, rows, groups, tail, prefetch, y + j, ldy);
  }
  for (; j < n1; j++) {
    const uint8_t* row = w.data + size_t(j) * w.rowBytes;
    gemvNibbleRows<F, kVnni, M, 1>(layout, acts, &row, groups, tail, prefetch, y + j, ldy);
  }
}

// q8_0 / int8: vector t of a group holds blocks 2t and 2t + 1. VNNI multiplies w + 128 (u8) by x
// and takes 128·s off; without VNNI, |w| by x·sign(w).
template <QFormat F, bool kVnni, int M>
void gemvBytes(const GemvActs& acts, const QWeights& w, const Geom& g, int n0, int n1, float* y, size_t ldy,
               const int32_t* scaleAt /* int8: per sub-block offset of its absmax */) {
  const size_t groups = g.nb / kGemvGroup, tail = g.nb % kGemvGroup;
  const __m512i flip = _mm512_set1_epi8(char(0x80)), ones = _mm512_set1_epi16(1);
  alignas(64) uint8_t lastCodes[kGemvGroup * 32];
  alignas(64) float lastScales[kGemvGroup];
  WeightPrefetch<1> prefetch(w, n0, n1, groups + (tail ? 1 : 0));
  for (int j = n0; j < n1; j++) {
    const uint8_t* row = w.data + size_t(j) * w.rowBytes;
    __m512 acc[M];
#pragma GCC unroll 8
    for (int r = 0; r < M; r++) acc[r] = _mm512_setzero_ps();
    auto group = [&](const __m512i* wv, __m512 dw, size_t gi) {
      prefetch.advance();
      __m512i u[8];  // VNNI: w + 128; otherwise |w|
#pragma GCC unroll 8
      for (int t = 0; t < 8; t++) u[t] = kVnni ? _mm512_xor_si512(wv[t], flip) : _mm512_abs_epi8(wv[t]);
#pragma GCC unroll 8
      for (int r = 0; r < M; r++) {
        const int8_t* x = acts.codes + size_t(r) * acts.rowCodes + gi * (kGemvGroup * 32);
        __m512i dot[8];
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++) {
          const __m512i xv = loadu(x + 64 * t);
          if constexpr (kVnni) {
            dot[t] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[t], xv);
          } else {
            const __m512i xs = _mm512_mask_sub_epi8(xv, _mm512_movepi8_mask(wv[t]), _mm512_setzero_si512(), xv);
            dot[t] = _mm512_madd_epi16(_mm512_maddubs_epi16(u[t], xs), ones);
          }
        }
        __m512i sumi = pairSums(dot);
        const size_t at = size_t(r) * acts.rowBlocks + gi * kGemvGroup;
        if (kVnni) sumi = _mm512_sub_epi32(sumi, loadu(acts.cs + at));
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi), _mm512_mul_ps(dw, _mm512_loadu_ps(acts.dx + at)), acc[r]);
      }
    };
    for (size_t gi = 0; gi < groups; gi++) {
      const size_t e0 = gi * kGemvGroup;
      __m512i wv[8];
      __m512 dw;
      if (F == QFormat::q8_0) {
        const uint8_t* base = row + e0 * 34;
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++) wv[t] = halves(base + 68 * t + 2, base + 68 * t + 36);
        alignas(32) uint16_t half[kGemvGroup];  // scalar loads: cheaper than a gather here (measured)
#pragma GCC unroll 16
        for (int e = 0; e < kGemvGroup; e++) half[e] = getU16(base + 34 * e);
        dw = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(half)));
      } else {
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++) {
          wv[t] = loadu(subCodes<F>(row, g, e0 + 2 * t));  // 2 sub-blocks of one block: blockSize ≥ 64
        }
        alignas(64) float absmax[kGemvGroup];
#pragma GCC unroll 16
        for (int e = 0; e < kGemvGroup; e++) absmax[e] = getF32(row + scaleAt[e0 + e]);
        dw = _mm512_div_ps(_mm512_load_ps(absmax), _mm512_set1_ps(127.0f));
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
      __m512i wv[8];
#pragma GCC unroll 8
      for (int t = 0; t < 8; t++) wv[t] = _mm512_load_si512(lastCodes + 64 * t);
      group(wv, _mm512_load_ps(lastScales), groups);
    }
#pragma GCC unroll 8
    for (int r = 0; r < M; r++) y[size_t(r) * ldy + size_t(j)] = _mm512_reduce_add_ps(acc[r]);
  }
}

// ---- GEMM, int8 precision ------------------------------------------------------------------

// 4×4 transpose of the s32 lanes inside every 128-bit lane: t[i] lane L element k = a[k] lane L element i.
inline void transpose4(const __m512i* a, __m512i* t) {
  const __m512i u0 = _mm512_unpacklo_epi32(a[0], a[1]), u1 = _mm512_unpackhi_epi32(a[0], a[1]);
  const __m512i u2 = _mm512_unpacklo_epi32(a[2], a[3]), u3 = _mm512_unpackhi_epi32(a[2], a[3]);
  t[0] = _mm512_unpacklo_epi64(u0, u2);
  t[1] = _mm512_unpackhi_epi64(u0, u2);
  t[2] = _mm512_unpacklo_epi64(u1, u3);
  t[3] = _mm512_unpackhi_epi64(u1, u3);
}

// Sub-block e of 16 weight rows into the panel (layout above): 16 bytes of each row per 128-bit
// lane, 4 rows a vector (row 4L + k in lane L of vector k), then transposed so that s32 lane r of
// vector i is 4-byte group i of row r.
template <QFormat F>
inline void packBlock16(const uint8_t* const* rows, const Geom& g, size_t e, uint8_t* out, size_t groupStride,
                        float* dw, float* mw) {
  const __m512i low4 = _mm512_set1_epi8(15), flip = _mm512_set1_epi8(char(0x80));
  constexpr int kHalves = isNibbles(F) ? 1 : 2;  // 16 nibble bytes, or 32 code bytes
#pragma GCC unroll 2
  for (int h = 0; h < kHalves; h++) {
    __m512i a[4], t[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++)
      a[k] = lanes4(subCodes<F>(rows[k], g, e) + 16 * h, subCodes<F>(rows[4 + k], g, e) + 16 * h,
                    subCodes<F>(rows[8 + k], g, e) + 16 * h, subCodes<F>(rows[12 + k], g, e) + 16 * h);
    transpose4(a, t);
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
      if (isNibbles(F)) {
        _mm512_store_si512(out + i * groupStride, _mm512_and_si512(t[i], low4));
        _mm512_store_si512(out + (4 + i) * groupStride, _mm512_and_si512(_mm512_srli_epi16(t[i], 4), low4));
      } else {
        _mm512_store_si512(out + (4 * h + i) * groupStride, _mm512_xor_si512(t[i], flip));
      }
    }
  }
  if (F == QFormat::int8) {
    alignas(64) float absmax[16];
    for (int r = 0; r < 16; r++) absmax[r] = getF32(rows[r] + g.blockOf(e) * g.blockBytes);
    _mm512_store_ps(dw, _mm512_div_ps(_mm512_load_ps(absmax), _mm512_set1_ps(127.0f)));
  } else {
    alignas(32) uint16_t d[16], m[16];
    for (int r = 0; r < 16; r++) {
      d[r] = getU16(rows[r] + e * g.blockBytes);
      if (F == QFormat::q4_1) m[r] = getU16(rows[r] + e * g.blockBytes + 2);
    }
    _mm512_store_ps(dw, _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(d))));
    if (F == QFormat::q4_1) _mm512_store_ps(mw, _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(m))));
  }
}

// The panel of P = 16·J rows [j0, j0 + rows); rows past the last real one read `zeroRow` (all zero
// bytes: codes 0, scales 0), so their lanes compute 0 and are never stored.
template <QFormat F, int J>
void packPanelZmm(const QWeights& w, const Geom& g, int j0, int rows, const uint8_t* zeroRow, uint8_t* codes, float* dw,
                  float* mw) {
  constexpr int P = 16 * J;
  const size_t groupStride = size_t(P) * 4, blockStride = 8 * groupStride;
  const uint8_t* rowPtr[P];
  for (int r = 0; r < P; r++) rowPtr[r] = r < rows ? w.data + size_t(j0 + r) * w.rowBytes : zeroRow;
  for (size_t e = 0; e < g.nb; e++)
#pragma GCC unroll 4
    for (int h = 0; h < J; h++)
      packBlock16<F>(rowPtr + 16 * h, g, e, codes + e * blockStride + 64 * size_t(h), groupStride,
                     dw + e * P + 16 * h, mw + e * P + 16 * h);
}

template <bool kVnni, QFormat F>
struct GemmShape;  // R activation rows × J zmm of 16 panel rows, chosen by measurement (m = 128)
template <QFormat F>
struct GemmShape<true, F> {
  static constexpr int R = 4, J = 2;
};
template <QFormat F>
struct GemmShape<false, F> {
  static constexpr int R = isNibbles(F) ? 6 : 4, J = 1;
};

struct TileArgs {
  const int8_t* x;   // activation codes of the tile's first row; rows k apart
  size_t k;
  const float* dx;   // per (row, block), rows nb apart
  const int32_t* start;
  const float* sumF;
  size_t nb;
  const uint8_t* codes;  // the panel
  const float* dw;
  const float* mw;
  float* y;
  size_t ldy;
  int cols;  // valid panel rows
};

// One register tile over all of k. acc[r][j] lane c sums block b of activation row r against panel
// row 16j + c; after the block it is converted and FMA'd with dw ⊗ dx into facc.
template <QFormat F, bool kVnni, int R, int J, bool kPartial>
void gemmTile(const TileArgs& t) {
  constexpr int P = 16 * J;
  constexpr size_t kGroupBytes = size_t(P) * 4, kBlockBytes = 8 * kGroupBytes;
  const __m512i low4 = _mm512_set1_epi8(15), ones = _mm512_set1_epi16(1), sixteen = _mm512_set1_epi16(16);
  __m512 facc[R][J];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int j = 0; j < J; j++) facc[r][j] = _mm512_setzero_ps();
  const uint8_t* wb = t.codes;
  for (size_t b = 0; b < t.nb; b++, wb += kBlockBytes) {
    __m512i acc[R][J];
    if constexpr (kVnni) {
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) {
        const __m512i start = _mm512_set1_epi32(t.start[size_t(r) * t.nb + b]);
#pragma GCC unroll 4
        for (int j = 0; j < J; j++) acc[r][j] = start;
      }
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) {
        __m512i wv[J];
#pragma GCC unroll 4
        for (int j = 0; j < J; j++) wv[j] = _mm512_load_si512(wb + q * kGroupBytes + 64 * j);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
          const __m512i xb = broadcast4(t.x + size_t(r) * t.k + b * 32 + 4 * q);
#pragma GCC unroll 4
          for (int j = 0; j < J; j++) acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], wv[j], xb);
        }
      }
    } else if constexpr (isNibbles(F)) {
      __m512i pairs[R][J];
#pragma GCC unroll 8
      for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int j = 0; j < J; j++) pairs[r][j] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) {
        __m512i wv[J];
#pragma GCC unroll 4
        for (int j = 0; j < J; j++) wv[j] = _mm512_load_si512(wb + q * kGroupBytes + 64 * j);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
          const __m512i xb = broadcast4(t.x + size_t(r) * t.k + b * 32 + 4 * q);
#pragma GCC unroll 4
          for (int j = 0; j < J; j++) pairs[r][j] = _mm512_add_epi16(pairs[r][j], _mm512_maddubs_epi16(wv[j], xb));
        }
      }
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) {
        const __m512i start = _mm512_set1_epi32(t.start[size_t(r) * t.nb + b]);
#pragma GCC unroll 4
        for (int j = 0; j < J; j++) acc[r][j] = _mm512_add_epi32(_mm512_madd_epi16(pairs[r][j], ones), start);
      }
    } else {
      __m512i high[R][J], low[R][J];
#pragma GCC unroll 8
      for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int j = 0; j < J; j++) high[r][j] = low[r][j] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) {
        __m512i wh[J], wl[J];
#pragma GCC unroll 4
        for (int j = 0; j < J; j++) {
          const __m512i wv = _mm512_load_si512(wb + q * kGroupBytes + 64 * j);
          wh[j] = _mm512_and_si512(_mm512_srli_epi16(wv, 4), low4);
          wl[j] = _mm512_and_si512(wv, low4);
        }
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
          const __m512i xb = broadcast4(t.x + size_t(r) * t.k + b * 32 + 4 * q);
#pragma GCC unroll 4
          for (int j = 0; j < J; j++) {
            high[r][j] = _mm512_add_epi16(high[r][j], _mm512_maddubs_epi16(wh[j], xb));
            low[r][j] = _mm512_add_epi16(low[r][j], _mm512_maddubs_epi16(wl[j], xb));
          }
        }
      }
#pragma GCC unroll 8
      for (int r = 0; r < R; r++) {
        const __m512i start = _mm512_set1_epi32(t.start[size_t(r) * t.nb + b]);
#pragma GCC unroll 4
        for (int j = 0; j < J; j++)
          acc[r][j] = _mm512_add_epi32(
              _mm512_add_epi32(_mm512_madd_epi16(high[r][j], sixteen), _mm512_madd_epi16(low[r][j], ones)), start);
      }
    }
    __m512 dw[J], mw[J];
#pragma GCC unroll 4
    for (int j = 0; j < J; j++) {
      dw[j] = _mm512_load_ps(t.dw + b * P + 16 * j);
      if (F == QFormat::q4_1) mw[j] = _mm512_load_ps(t.mw + b * P + 16 * j);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const __m512 dx = _mm512_set1_ps(t.dx[size_t(r) * t.nb + b]);
#pragma GCC unroll 4
      for (int j = 0; j < J; j++)
        facc[r][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][j]), _mm512_mul_ps(dw[j], dx), facc[r][j]);
      if (F == QFormat::q4_1) {
        const __m512 s = _mm512_set1_ps(t.sumF[size_t(r) * t.nb + b]);
#pragma GCC unroll 4
        for (int j = 0; j < J; j++) facc[r][j] = _mm512_fmadd_ps(_mm512_mul_ps(mw[j], dx), s, facc[r][j]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int j = 0; j < J; j++) {
      float* out = t.y + size_t(r) * t.ldy + 16 * j;
      if (kPartial)
        _mm512_mask_storeu_ps(out, firstLanes(t.cols - 16 * j), facc[r][j]);
      else
        _mm512_storeu_ps(out, facc[r][j]);
    }
}

template <QFormat F, bool kVnni, int R, int J>
void gemmTileRows(int rows, bool partial, const TileArgs& t) {
  if constexpr (R > 1) {
    if (rows < R) return gemmTileRows<F, kVnni, R - 1, J>(rows, partial, t);
  }
  if (partial)
    gemmTile<F, kVnni, R, J, true>(t);
  else
    gemmTile<F, kVnni, R, J, false>(t);
}

template <QFormat F, bool kVnni>
void gemm(const ActRows& a, int m, const QWeights& w, const Geom& g, int n0, int n1, float* y, size_t ldy) {
  constexpr int R = GemmShape<kVnni, F>::R, J = GemmShape<kVnni, F>::J, P = 16 * J;
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
    packPanelZmm<F, J>(w, g, j0, cols, zeroRow, codes, dw, mw);
    for (int down = 0; down < tilesDown; down++) {
      // Rows spread evenly over the tiles (17 rows: 4 4 3 3 3, not 4 4 4 4 1).
      const int i0 = m * down / tilesDown, rows = m * (down + 1) / tilesDown - i0;
      const TileArgs t{a.q + size_t(i0) * a.k, a.k, a.d + size_t(i0) * g.nb, acts.start + size_t(i0) * g.nb,
                       acts.sumF + size_t(i0) * g.nb, g.nb, codes, dw, mw, y + size_t(i0) * ldy + size_t(j0),
                       ldy, cols};
      gemmTileRows<F, kVnni, R, J>(rows, cols < P, t);
    }
  }
}

constexpr int kGemvMaxRows = 4;  // above this many activation rows the panel GEMM is faster (measured)

template <QFormat F, bool kVnni, int M>
void gemvRows(const GemvActs& acts, const QWeights& w, const Geom& g, int n0, int n1, float* y, size_t ldy,
              const int32_t* scaleAt) {
  if (isNibbles(F))
    gemvNibbles<F, kVnni, M>(acts, w, g, n0, n1, y, ldy);
  else
    gemvBytes<F, kVnni, M>(acts, w, g, n0, n1, y, ldy, scaleAt);
}

template <QFormat F, bool kVnni>
void matmulInt8(const ActRows& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  const Geom g = Geom::of<F>(w);
  if (m > kGemvMaxRows) return gemm<F, kVnni>(a, m, w, g, n0, n1, y, ldy);
  Scratch& actScratch = scratchFor(Use::gemvActs);
  Scratch& tableScratch = scratchFor(Use::gemvTable);
  // Byte formats need the s correction only with VNNI (w + 128); the abs/sign path is exact as is.
  const int c = isNibbles(F) || kVnni ? correction(F) : 0;
  const GemvActs acts = prepareGemvActs(a, m, g.nb, kGemvGroup, isNibbles(F), c, actScratch);
  int32_t* scaleAt = nullptr;
  if (F == QFormat::int8) {
    scaleAt = static_cast<int32_t*>(tableScratch.get(g.nb * sizeof(int32_t)));
    for (size_t e = 0; e < g.nb; e++) scaleAt[e] = int32_t(g.blockOf(e) * g.blockBytes);
  }
  switch (m) {
    case 1: return gemvRows<F, kVnni, 1>(acts, w, g, n0, n1, y, ldy, scaleAt);
    case 2: return gemvRows<F, kVnni, 2>(acts, w, g, n0, n1, y, ldy, scaleAt);
    case 3: return gemvRows<F, kVnni, 3>(acts, w, g, n0, n1, y, ldy, scaleAt);
    default: return gemvRows<F, kVnni, 4>(acts, w, g, n0, n1, y, ldy, scaleAt);
  }
}

// ---- f32 precision -------------------------------------------------------------------------

// Sub-block e of a row, dequantized exactly as the scalar kernel does: elements 0…15 and 16…31.
// q4 and nf4 go through a 16-entry table of the block's values (table[c] is the same f32 product
// the scalar kernel computes for code c), looked up by VPERMPS on the low 4 bits of each index.
template <QFormat F>
inline void dequantize32(const uint8_t* row, const Geom& g, size_t e, __m512& w0, __m512& w1) {
  const uint8_t* q = subCodes<F>(row, g, e);
  if constexpr (F == QFormat::q8_0 || F == QFormat::int8) {
    const __m512 s = _mm512_set1_ps(subScale<F>(row, g, e));
    w0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(loadu128(q))), s);
    w1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(loadu128(q + 16))), s);
  } else if constexpr (F == QFormat::nf4) {
    const __m512 table = _mm512_mul_ps(_mm512_loadu_ps(kNf4Codes), _mm512_set1_ps(subScale<F>(row, g, e)));
    // Byte i = c[2i] << 4 | c[2i+1]: the word (b << 8) | (b >> 4) is the byte pair (c[2i], b), and b's
    // low nibble is c[2i+1]; the lookup ignores the high bits.
    const __m256i b16 = _mm256_cvtepu8_epi16(loadu128(q));
    const __m256i c8 = _mm256_or_si256(_mm256_slli_epi16(b16, 8), _mm256_srli_epi16(b16, 4));
    w0 = _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(_mm256_castsi256_si128(c8)), table);
    w1 = _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(_mm256_extracti128_si256(c8, 1)), table);
  } else {
    const float d = subScale<F>(row, g, e);
    __m512 table;
    if (F == QFormat::q4_0) {
      table = _mm512_mul_ps(_mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7), _mm512_set1_ps(d));
    } else {  // q·d + m: two roundings, never an FMA
      table = _mm512_add_ps(_mm512_mul_ps(_mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_ps(d)),
                            _mm512_set1_ps(halfToFloat(row + e * 20 + 2)));
    }
    const __m512i b = _mm512_cvtepu8_epi32(loadu128(q));
    w0 = _mm512_permutexvar_ps(b, table);
    w1 = _mm512_permutexvar_ps(_mm512_srli_epi32(b, 4), table);
  }
}

// A few activation rows: each weight row is dequantized once, in registers, for all of them.
template <QFormat F, int M>
void f32Gemv(const float* x, size_t ldx, const QWeights& w, const Geom& g, int n0, int n1, float* y, size_t ldy) {
  WeightPrefetch<1> prefetch(w, n0, n1, (g.nb + 1) / 2);  // advanced every 2 sub-blocks
  for (int j = n0; j < n1; j++) {
    const uint8_t* row = w.data + size_t(j) * w.rowBytes;
    __m512 acc[M][4];
#pragma GCC unroll 8
    for (int r = 0; r < M; r++)
#pragma GCC unroll 4
      for (int h = 0; h < 4; h++) acc[r][h] = _mm512_setzero_ps();
    size_t e = 0;
    auto step = [&](size_t e, int h) {
      __m512 w0, w1;
      dequantize32<F>(row, g, e, w0, w1);
#pragma GCC unroll 8
      for (int r = 0; r < M; r++) {
        const float* xr = x + size_t(r) * ldx + e * 32;
        acc[r][h] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xr), acc[r][h]);
        acc[r][h + 1] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xr + 16), acc[r][h + 1]);
      }
    };
    for (; e + 2 <= g.nb; e += 2) {
      prefetch.advance();
      step(e, 0);
      step(e + 1, 2);
    }
    if (e < g.nb) {
      prefetch.advance();
      step(e, 0);
    }
#pragma GCC unroll 8
    for (int r = 0; r < M; r++)
      y[size_t(r) * ldy + size_t(j)] = _mm512_reduce_add_ps(
          _mm512_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]), _mm512_add_ps(acc[r][2], acc[r][3])));
  }
}

constexpr int kF32Rows = 4;       // weight rows dequantized together
constexpr int kF32Tile = 4;       // activation rows per register tile (4 × 4 accumulators)
constexpr size_t kF32Chunk = 1024;  // k elements per chunk: 4 rows of it stay in L1

// acc[r][j] (lanes along k) += x[r][p…] · w[j][p…] over one chunk; kept in accBuf between chunks.
template <int R>
void f32Tile(const float* x, size_t ldx, const float* wbuf, size_t kc, float* accBuf) {
  __m512 acc[R][kF32Rows];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int j = 0; j < kF32Rows; j++) acc[r][j] = _mm512_load_ps(accBuf + (r * kF32Rows + j) * 16);
  for (size_t p = 0; p < kc; p += 16) {
    __m512 wv[kF32Rows];
#pragma GCC unroll 4
    for (int j = 0; j < kF32Rows; j++) wv[j] = _mm512_load_ps(wbuf + j * kF32Chunk + p);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const __m512 xv = _mm512_loadu_ps(x + size_t(r) * ldx + p);
#pragma GCC unroll 4
      for (int j = 0; j < kF32Rows; j++) acc[r][j] = _mm512_fmadd_ps(xv, wv[j], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int j = 0; j < kF32Rows; j++) _mm512_store_ps(accBuf + (r * kF32Rows + j) * 16, acc[r][j]);
}

template <QFormat F>
void f32Gemm(const float* x, size_t ldx, int m, const QWeights& w, const Geom& g, int n0, int n1, float* y,
             size_t ldy) {
  Scratch& scratch = scratchFor(Use::f32);
  Carver carve;
  const size_t wAt = carve.reserve<float>(kF32Rows * kF32Chunk);
  const size_t accAt = carve.reserve<float>(size_t(m) * kF32Rows * 16);
  void* base = scratch.get(carve.bytes());
  float* wbuf = Carver::at<float>(base, wAt);
  float* accBuf = Carver::at<float>(base, accAt);
  const int tilesDown = (m + kF32Tile - 1) / kF32Tile;
  for (int j0 = n0; j0 < n1; j0 += kF32Rows) {
    const int rows = std::min(kF32Rows, n1 - j0);
    std::memset(accBuf, 0, size_t(m) * kF32Rows * 16 * sizeof(float));
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
          __m512 w0, w1;
          dequantize32<F>(row, g, (c0 + p) / 32, w0, w1);
          _mm512_store_ps(to + p, w0);
          _mm512_store_ps(to + p + 16, w1);
        }
      }
      for (int down = 0; down < tilesDown; down++) {
        const int i0 = m * down / tilesDown, rows = m * (down + 1) / tilesDown - i0;
        const float* xr = x + size_t(i0) * ldx + c0;
        float* accRows = accBuf + size_t(i0) * kF32Rows * 16;
        switch (rows) {
          case 1: f32Tile<1>(xr, ldx, wbuf, kc, accRows); break;
          case 2: f32Tile<2>(xr, ldx, wbuf, kc, accRows); break;
          case 3: f32Tile<3>(xr, ldx, wbuf, kc, accRows); break;
          default: f32Tile<4>(xr, ldx, wbuf, kc, accRows); break;
        }
      }
    }
    for (int i = 0; i < m; i++)
      for (int j = 0; j < rows; j++)
        y[size_t(i) * ldy + size_t(j0 + j)] = _mm512_reduce_add_ps(_mm512_load_ps(accBuf + (size_t(i) * kF32Rows + j) * 16));
  }
}

constexpr int kF32GemvMaxRows = 4;

template <QFormat F>
void matmulF32(const float* x, size_t ldx, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  const Geom g = Geom::of<F>(w);
  switch (m) {
    case 1: return f32Gemv<F, 1>(x, ldx, w, g, n0, n1, y, ldy);
    case 2: return f32Gemv<F, 2>(x, ldx, w, g, n0, n1, y, ldy);
    case 3: return f32Gemv<F, 3>(x, ldx, w, g, n0, n1, y, ldy);
    case 4: return f32Gemv<F, 4>(x, ldx, w, g, n0, n1, y, ldy);
    default: return f32Gemm<F>(x, ldx, m, w, g, n0, n1, y, ldy);
  }
}

template <bool kVnni>
constexpr QuantMatmulKernels kernels() {
  return {
      {matmulInt8<QFormat::q8_0, kVnni>, matmulInt8<QFormat::q4_0, kVnni>, matmulInt8<QFormat::q4_1, kVnni>, nullptr,
       matmulInt8<QFormat::int8, kVnni>},
      {matmulF32<QFormat::q8_0>, matmulF32<QFormat::q4_0>, matmulF32<QFormat::q4_1>, matmulF32<QFormat::nf4>,
       matmulF32<QFormat::int8>},
  };
}

}  // namespace zmm
}  // namespace qmm
}  // namespace
}  // namespace sparq
#endif  // __AVX512F__
