// The clustered decode and matmul, 16 lanes (sparq/cluster.h, native/kernels/cluster_impl.h).
//
// Indices, 16 a step: they fill exactly 2b bytes. The 16 bytes from there are broadcast to each
// 128-bit lane (a full load; the matrix keeps 64 zero bytes of slack after its indices, and the
// last step of a row loads only its own bytes under a mask), VPSHUFB moves the two bytes that hold
// index i to the bottom of 32-bit lane i, VPSRLVD shifts by its bit offset and an AND keeps b bits.
// The lookup keeps the codebook in registers: VPERMPS for up to 16 entries, VPERMI2PS for 32, two
// of those and a blend on bit 5 for 64; 128 and 256 entries are gathered from L1. Exact: the values
// are the codebook's own floats.
//
// Up to 4 activation rows (GEMV and small batches) use each decoded vector straight from registers;
// more go through the shared path (rows decoded into L1 once per 64 activation rows).
// GCC 12 reports the _mm512_undefined_* inside its own intrinsics as uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "../cluster_impl.h"

namespace sparq {
namespace {

struct Avx512 {
  using T = __m512;
  static constexpr int W = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static T fma(T a, T b, T acc) { return _mm512_fmadd_ps(a, b, acc); }
  static float sum(T a) { return _mm512_reduce_add_ps(a); }
};

enum Lookup { kPerm16, kPerm32, kPerm64, kGather };

inline Lookup lookupOf(int bits) { return bits <= 4 ? kPerm16 : bits == 5 ? kPerm32 : bits == 6 ? kPerm64 : kGather; }

// What every step of one b needs: where index i's bytes are and how far to shift them.
struct Unpack {
  __m512i ctrl, shift, mask;
  int bits;
  explicit Unpack(int b) : bits(b) {
    alignas(64) uint8_t control[64];
    alignas(64) uint32_t shifts[16];
    for (int i = 0; i < 16; i++) {
      const int bit = i * b;
      control[4 * i] = uint8_t(bit >> 3);
      control[4 * i + 1] = uint8_t(std::min((bit >> 3) + 1, 15));  // only read when the index spans two bytes
      control[4 * i + 2] = control[4 * i + 3] = 0x80;
      shifts[i] = uint32_t(bit & 7);
    }
    ctrl = _mm512_load_si512(control);
    shift = _mm512_load_si512(shifts);
    mask = _mm512_set1_epi32((1 << b) - 1);
  }
  __m512i indices(__m128i raw) const {
    return _mm512_and_si512(_mm512_srlv_epi32(_mm512_shuffle_epi8(_mm512_broadcast_i32x4(raw), ctrl), shift), mask);
  }
};

// A codebook in registers (up to 64 entries) or its address.
struct Table {
  __m512 t[4];
  const float* codebook = nullptr;
  Table() = default;
  Table(const float* c, int bits) { init(c, bits); }
  void init(const float* c, int bits) {
    codebook = c;
    const int entries = 1 << bits;
    for (int q = 0; q < 4; q++) {
      const int have = std::max(0, std::min(16, entries - 16 * q));
      t[q] = _mm512_maskz_loadu_ps(__mmask16((1u << have) - 1u), c + 16 * q);
    }
  }
  template <Lookup L>
  __m512 at(__m512i idx) const {
    if (L == kPerm16) return _mm512_permutexvar_ps(idx, t[0]);
    if (L == kPerm32) return _mm512_permutex2var_ps(t[0], idx, t[1]);
    if (L == kPerm64) {
      const __m512 low = _mm512_permutex2var_ps(t[0], idx, t[1]), high = _mm512_permutex2var_ps(t[2], idx, t[3]);
      return _mm512_mask_blend_ps(_mm512_test_epi32_mask(idx, _mm512_set1_epi32(32)), low, high);
    }
    return _mm512_i32gather_ps(idx, codebook, 4);
  }
};

// The bytes of indices [p, p + left) (left ≤ 16) of a row, p a multiple of 16.
inline __m128i rawAt(const uint8_t* row, int bits, size_t p, size_t left) {
  const uint8_t* src = row + p / 8 * size_t(bits);
  if (left == 16) return _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
  return _mm_maskz_loadu_epi8(__mmask16((1u << ((left * size_t(bits) + 7) / 8)) - 1u), src);
}

template <Lookup L>
void decodeWith(const uint8_t* row, const Unpack& u, const Table& t, size_t p0, size_t count, float* out) {
  for (size_t q = 0; q < count; q += 16) {
    const size_t left = std::min<size_t>(16, count - q);
    const __m512 v = t.at<L>(u.indices(rawAt(row, u.bits, p0 + q, left)));
    _mm512_mask_storeu_ps(out + q, __mmask16((1u << left) - 1u), v);
  }
}

void decodeAvx512(const uint8_t* row, int bits, const float* codebook, size_t p0, size_t count, float* out) {
  const Unpack u(bits);
  const Table t(codebook, bits);
  switch (lookupOf(bits)) {
    case kPerm16: return decodeWith<kPerm16>(row, u, t, p0, count, out);
    case kPerm32: return decodeWith<kPerm32>(row, u, t, p0, count, out);
    case kPerm64: return decodeWith<kPerm64>(row, u, t, p0, count, out);
    default: return decodeWith<kGather>(row, u, t, p0, count, out);
  }
}

// y[i·ldy + j] for MI activation rows and R weight rows from j0, each decoded vector used at once
// (R·MI independent accumulators, so the FMA latency is hidden even for one activation row).
// Shared: the R rows have one codebook (then one set of table registers serves them all).
template <Lookup L, int MI, int R, bool Shared>
void fusedRows(const float* x, size_t ldx, const ClusterView& w, const Unpack& u, int j0, float* y, size_t ldy) {
  const size_t k = w.k, full = k / 16 * 16;
  const __mmask16 tail = __mmask16((1u << (k - full)) - 1u);
  constexpr int kTables = Shared ? 1 : R;
  Table t[kTables];
  for (int r = 0; r < kTables; r++) t[r].init(w.codebook(j0 + r), w.bits);
  const uint8_t* rows[R];
  for (int r = 0; r < R; r++) rows[r] = w.row(j0 + r);
  __m512 acc[MI][R];
  for (int i = 0; i < MI; i++)
    for (int r = 0; r < R; r++) acc[i][r] = _mm512_setzero_ps();
  const size_t step = 2 * size_t(w.bits);  // bytes per 16 indices
  for (size_t p = 0, at = 0; p < full; p += 16, at += step) {
    __m512 v[R];
    for (int r = 0; r < R; r++) v[r] = t[Shared ? 0 : r].template at<L>(u.indices(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[r] + at))));
    for (int i = 0; i < MI; i++) {
      const __m512 xv = _mm512_loadu_ps(x + i * ldx + p);
      for (int r = 0; r < R; r++) acc[i][r] = _mm512_fmadd_ps(xv, v[r], acc[i][r]);
    }
  }
  if (tail) {
    for (int r = 0; r < R; r++) {
      const __m512 v = t[Shared ? 0 : r].template at<L>(u.indices(rawAt(rows[r], w.bits, full, k - full)));
      for (int i = 0; i < MI; i++) acc[i][r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, x + i * ldx + full), v, acc[i][r]);
    }
  }
  for (int i = 0; i < MI; i++)
    for (int r = 0; r < R; r++) y[i * ldy + size_t(j0 + r)] = _mm512_reduce_add_ps(acc[i][r]);
}

// b = 2, 4, 8 (indices that tile a byte), with the activations pre-permuted: 16 bytes hold
// G = 16·(8/b) indices, and VPMOVZXBD spreads them over 16 lanes, lane t holding byte t; plane s
// (the s-th b bits of every byte) is then one AND and one shift away, and holds the indices
// t·(8/b) + s. `xp` holds each activation row with every block of G permuted to match:
// xp[s·16 + t] = x[t·(8/b) + s]. The rest of a row (k % G) goes by the general path.
template <Lookup L, int MI, int R, bool Shared, int B>
void planeRows(const float* x, size_t ldx, const float* xp, size_t ldxp, const ClusterView& w, const Unpack& u, int j0, float* y, size_t ldy) {
  constexpr int kPlanes = 8 / B;
  constexpr size_t kGroup = 16 * kPlanes;
  const size_t k = w.k, blocks = k / kGroup, done = blocks * kGroup;
  constexpr int kTables = Shared ? 1 : R;
  Table t[kTables];
  for (int r = 0; r < kTables; r++) t[r].init(w.codebook(j0 + r), w.bits);
  const uint8_t* rows[R];
  for (int r = 0; r < R; r++) rows[r] = w.row(j0 + r);
  const __m512i mask = _mm512_set1_epi32((1 << B) - 1);
  __m512 acc[MI][R];
  for (int i = 0; i < MI; i++)
    for (int r = 0; r < R; r++) acc[i][r] = _mm512_setzero_ps();
  for (size_t g = 0; g < blocks; g++) {
    __m512i bytes[R];
    for (int r = 0; r < R; r++) bytes[r] = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[r] + 16 * g)));
    for (int s = 0; s < kPlanes; s++) {
      __m512 v[R];
      for (int r = 0; r < R; r++) {
        const __m512i idx = B == 8 ? bytes[r] : _mm512_and_si512(_mm512_srli_epi32(bytes[r], unsigned(s * B)), mask);
        v[r] = t[Shared ? 0 : r].template at<L>(idx);
      }
      for (int i = 0; i < MI; i++) {
        const __m512 xv = _mm512_loadu_ps(xp + i * ldxp + g * kGroup + size_t(s) * 16);
        for (int r = 0; r < R; r++) acc[i][r] = _mm512_fmadd_ps(xv, v[r], acc[i][r]);
      }
    }
  }
  for (size_t p = done; p < k; p += 16) {
    const size_t left = std::min<size_t>(16, k - p);
    const __mmask16 lanes = __mmask16((1u << left) - 1u);
    for (int r = 0; r < R; r++) {
      const __m512 v = t[Shared ? 0 : r].template at<L>(u.indices(rawAt(rows[r], B, p, left)));
      for (int i = 0; i < MI; i++) acc[i][r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, x + i * ldx + p), v, acc[i][r]);
    }
  }
  for (int i = 0; i < MI; i++)
    for (int r = 0; r < R; r++) y[i * ldy + size_t(j0 + r)] = _mm512_reduce_add_ps(acc[i][r]);
}

template <Lookup L, int MI, int B>
void planeAll(const float* x, size_t ldx, const ClusterView& w, const Unpack& u, int n0, int n1, float* y, size_t ldy) {
  constexpr int kPlanes = 8 / B;
  constexpr size_t kGroup = 16 * kPlanes;
  const size_t done = w.k / kGroup * kGroup;
  thread_local Scratch scratch;
  float* xp = static_cast<float*>(scratch.get(size_t(MI) * (done + 16) * sizeof(float)));
  for (int i = 0; i < MI; i++)
    for (size_t g = 0; g < done; g += kGroup)
      for (int s = 0; s < kPlanes; s++)
        for (int t = 0; t < 16; t++) xp[size_t(i) * done + g + size_t(s) * 16 + size_t(t)] = x[i * ldx + g + size_t(t) * kPlanes + size_t(s)];
  int j = n0;
  for (; j + 4 <= n1; j += 4) {
    if (j / w.groupRows == (j + 3) / w.groupRows) planeRows<L, MI, 4, true, B>(x, ldx, xp, done, w, u, j, y, ldy);
    else planeRows<L, MI, 4, false, B>(x, ldx, xp, done, w, u, j, y, ldy);
  }
  for (; j < n1; j++) planeRows<L, MI, 1, true, B>(x, ldx, xp, done, w, u, j, y, ldy);
}

template <Lookup L, int MI>
void fusedAll(const float* x, size_t ldx, const ClusterView& w, const Unpack& u, int n0, int n1, float* y, size_t ldy) {
  int j = n0;
  for (; j + 4 <= n1; j += 4) {
    if (j / w.groupRows == (j + 3) / w.groupRows) fusedRows<L, MI, 4, true>(x, ldx, w, u, j, y, ldy);
    else fusedRows<L, MI, 4, false>(x, ldx, w, u, j, y, ldy);
  }
  for (; j < n1; j++) fusedRows<L, MI, 1, true>(x, ldx, w, u, j, y, ldy);
}

template <Lookup L, int B>
void planes(const float* x, size_t ldx, int m, const ClusterView& w, int n0, int n1, float* y, size_t ldy) {
  const Unpack u(w.bits);
  switch (m) {
    case 1: return planeAll<L, 1, B>(x, ldx, w, u, n0, n1, y, ldy);
    case 2: return planeAll<L, 2, B>(x, ldx, w, u, n0, n1, y, ldy);
    case 3: return planeAll<L, 3, B>(x, ldx, w, u, n0, n1, y, ldy);
    default: return planeAll<L, 4, B>(x, ldx, w, u, n0, n1, y, ldy);
  }
}

template <Lookup L>
void fused(const float* x, size_t ldx, int m, const ClusterView& w, int n0, int n1, float* y, size_t ldy) {
  const Unpack u(w.bits);
  switch (m) {
    case 1: return fusedAll<L, 1>(x, ldx, w, u, n0, n1, y, ldy);
    case 2: return fusedAll<L, 2>(x, ldx, w, u, n0, n1, y, ldy);
    case 3: return fusedAll<L, 3>(x, ldx, w, u, n0, n1, y, ldy);
    default: return fusedAll<L, 4>(x, ldx, w, u, n0, n1, y, ldy);
  }
}

void matmulAvx512(const float* x, size_t ldx, int m, const ClusterView& w, int n0, int n1, float* y, size_t ldy) {
  if (m > 4) return clusterMatmulRows<Avx512, decodeAvx512>(x, ldx, m, w, n0, n1, y, ldy);
  if (w.bits == 2) return planes<kPerm16, 2>(x, ldx, m, w, n0, n1, y, ldy);
  if (w.bits == 4) return planes<kPerm16, 4>(x, ldx, m, w, n0, n1, y, ldy);
  if (w.bits == 8) return planes<kGather, 8>(x, ldx, m, w, n0, n1, y, ldy);
  switch (lookupOf(w.bits)) {
    case kPerm16: return fused<kPerm16>(x, ldx, m, w, n0, n1, y, ldy);
    case kPerm32: return fused<kPerm32>(x, ldx, m, w, n0, n1, y, ldy);
    case kPerm64: return fused<kPerm64>(x, ldx, m, w, n0, n1, y, ldy);
    default: return fused<kGather>(x, ldx, m, w, n0, n1, y, ldy);
  }
}

}  // namespace

const ClusterKernels cluster__avx512 = {"avx512", decodeAvx512, matmulAvx512};

}  // namespace sparq
