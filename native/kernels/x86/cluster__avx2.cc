// The clustered decode and matmul, 8 lanes (sparq/cluster.h, native/kernels/cluster_impl.h).
//
// Indices, 8 a step: they fill exactly b bytes, loaded as a 64-bit word (8 bytes; sparq/cluster.h
// says why the rest may be read; a row's last, partial step copies only its own bytes) and
// broadcast to both 128-bit halves. VPSHUFB moves the two bytes that hold index i to the bottom of
// 32-bit lane i, VPSRLVD shifts by its bit offset and an AND keeps b bits. Lookup in registers:
// VPERMPS for up to 8 entries, two VPERMPS and a blend on bit 3 for 16; 32…256 entries are
// gathered from L1. Exact: the values are the codebook's own floats.
//
// Up to 4 activation rows use each decoded vector straight from registers, 4 weight rows at a
// time. For b = 2, 4, 8 the indices come by byte planes instead: VPMOVZXBD spreads 8 bytes over 8
// lanes and each plane is a shift and an AND away, with the activations permuted once per call to
// match (as on AVX-512). More rows go through the shared path.
#include <immintrin.h>

#include "../cluster_impl.h"

namespace sparq {
namespace {

struct Avx2 {
  using T = __m256;
  static constexpr int W = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static T fma(T a, T b, T acc) { return _mm256_fmadd_ps(a, b, acc); }
  static float sum(T a) {
    const __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
  }
};

enum Lookup { kPerm8, kPerm16, kGather };

inline Lookup lookupOf(int bits) { return bits <= 3 ? kPerm8 : bits == 4 ? kPerm16 : kGather; }

// What every step of one b needs: where index i's bytes are and how far to shift them.
struct Unpack {
  __m256i ctrl, shift, mask;
  int bits;
  explicit Unpack(int b) : bits(b) {
    alignas(32) uint8_t control[32];
    alignas(32) uint32_t shifts[8];
    for (int i = 0; i < 8; i++) {
      const int bit = i * b;
      control[4 * i] = uint8_t(bit >> 3);
      control[4 * i + 1] = uint8_t((bit >> 3) + 1);  // read only when the index spans two bytes
      control[4 * i + 2] = control[4 * i + 3] = 0x80;
      shifts[i] = uint32_t(bit & 7);
    }
    // VPSHUFB indexes within each 128-bit half: the upper half's lanes read the same 8 bytes.
    ctrl = _mm256_load_si256(reinterpret_cast<const __m256i*>(control));
    shift = _mm256_load_si256(reinterpret_cast<const __m256i*>(shifts));
    mask = _mm256_set1_epi32((1 << b) - 1);
  }
  // The 8 indices from p (a multiple of 8) of a row; `left` < 8 for a row's last, partial step.
  __m256i at(const uint8_t* row, size_t p, size_t left) const {
    const uint8_t* src = row + p / 8 * size_t(bits);
    uint64_t word = 0;
    if (left >= 8) std::memcpy(&word, src, 8);
    else std::memcpy(&word, src, (left * size_t(bits) + 7) / 8);
    return _mm256_and_si256(_mm256_srlv_epi32(_mm256_shuffle_epi8(_mm256_set1_epi64x(int64_t(word)), ctrl), shift), mask);
  }
};

// A codebook in registers (up to 16 entries) or its address.
struct Table {
  __m256 lo, hi;
  const float* codebook = nullptr;
  void init(const float* c, int bits) {
    codebook = c;
    alignas(32) float table[16] = {};
    std::memcpy(table, c, sizeof(float) * size_t(std::min(1 << bits, 16)));
    lo = _mm256_load_ps(table);
    hi = _mm256_load_ps(table + 8);
  }
  template <Lookup L>
  __m256 at(__m256i idx) const {
    if (L == kPerm8) return _mm256_permutevar8x32_ps(lo, idx);
    if (L == kPerm16) {
      const __m256 third = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28));  // bit 3 as the sign
      return _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo, idx), _mm256_permutevar8x32_ps(hi, idx), third);
    }
    return _mm256_i32gather_ps(codebook, idx, 4);
  }
};

template <Lookup L>
void decodeWith(const uint8_t* row, const Unpack& u, const Table& t, size_t p0, size_t count, float* out) {
  alignas(32) float tail[8];
  for (size_t q = 0; q < count; q += 8) {
    const size_t left = std::min<size_t>(8, count - q);
    const __m256 v = t.at<L>(u.at(row, p0 + q, left));
    if (left == 8) {
      _mm256_storeu_ps(out + q, v);
    } else {
      _mm256_store_ps(tail, v);
      std::memcpy(out + q, tail, left * sizeof(float));
    }
  }
}

void decodeAvx2(const uint8_t* row, int bits, const float* codebook, size_t p0, size_t count, float* out) {
  const Unpack u(bits);
  Table t;
  t.init(codebook, bits);
  switch (lookupOf(bits)) {
    case kPerm8: return decodeWith<kPerm8>(row, u, t, p0, count, out);
    case kPerm16: return decodeWith<kPerm16>(row, u, t, p0, count, out);
    default: return decodeWith<kGather>(row, u, t, p0, count, out);
  }
}

inline __m256 maskedLoad(const float* p, size_t left) {
  alignas(32) float buffer[8] = {};
  std::memcpy(buffer, p, left * sizeof(float));
  return _mm256_load_ps(buffer);
}

// MI activation rows × R weight rows from j0. B = 0: the general unpacking on `x`; B = 2, 4, 8:
// byte planes on `xp` (each block of G = 8·(8/B) activations permuted: xp[s·8 + t] = x[t·(8/B) + s]),
// then the general unpacking for the k % G rest.
template <Lookup L, int MI, int R, bool Shared, int B>
void fusedRows(const float* x, size_t ldx, const float* xp, size_t ldxp, const ClusterView& w, const Unpack& u, int j0, float* y, size_t ldy) {
  const size_t k = w.k;
  constexpr int kPlanes = B ? 8 / B : 1;
  constexpr size_t kGroup = 8 * size_t(kPlanes);
  const size_t done = B ? k / kGroup * kGroup : 0;
  constexpr int kTables = Shared ? 1 : R;
  Table t[kTables];
  for (int r = 0; r < kTables; r++) t[r].init(w.codebook(j0 + r), w.bits);
  const uint8_t* rows[R];
  for (int r = 0; r < R; r++) rows[r] = w.row(j0 + r);
  __m256 acc[MI][R];
  for (int i = 0; i < MI; i++)
    for (int r = 0; r < R; r++) acc[i][r] = _mm256_setzero_ps();
  if (B) {
    const __m256i mask = _mm256_set1_epi32((1 << (B ? B : 1)) - 1);
    for (size_t g = 0; g < done / kGroup; g++) {
      __m256i bytes[R];
      for (int r = 0; r < R; r++) bytes[r] = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(rows[r] + 8 * g)));
      for (int s = 0; s < kPlanes; s++) {
        __m256 v[R];
        for (int r = 0; r < R; r++) {
          const __m256i idx = B == 8 ? bytes[r] : _mm256_and_si256(_mm256_srli_epi32(bytes[r], s * B), mask);
          v[r] = t[Shared ? 0 : r].template at<L>(idx);
        }
        for (int i = 0; i < MI; i++) {
          const __m256 xv = _mm256_loadu_ps(xp + i * ldxp + g * kGroup + size_t(s) * 8);
          for (int r = 0; r < R; r++) acc[i][r] = _mm256_fmadd_ps(xv, v[r], acc[i][r]);
        }
      }
    }
  }
  for (size_t p = done; p < k; p += 8) {
    const size_t left = std::min<size_t>(8, k - p);
    __m256 v[R];
    for (int r = 0; r < R; r++) v[r] = t[Shared ? 0 : r].template at<L>(u.at(rows[r], p, left));
    for (int i = 0; i < MI; i++) {
      const __m256 xv = left == 8 ? _mm256_loadu_ps(x + i * ldx + p) : maskedLoad(x + i * ldx + p, left);
      for (int r = 0; r < R; r++) acc[i][r] = _mm256_fmadd_ps(xv, v[r], acc[i][r]);
    }
  }
  for (int i = 0; i < MI; i++)
    for (int r = 0; r < R; r++) y[i * ldy + size_t(j0 + r)] = Avx2::sum(acc[i][r]);
}

template <Lookup L, int MI, int B>
void fusedAll(const float* x, size_t ldx, const ClusterView& w, int n0, int n1, float* y, size_t ldy) {
  const Unpack u(w.bits);
  const float* xp = nullptr;
  size_t done = 0;
  if (B) {
    constexpr int kPlanes = B ? 8 / B : 1;
    constexpr size_t kGroup = 8 * size_t(kPlanes);
    done = w.k / kGroup * kGroup;
    thread_local Scratch scratch;
    float* permuted = static_cast<float*>(scratch.get(size_t(MI) * (done + 8) * sizeof(float)));
    for (int i = 0; i < MI; i++)
      for (size_t g = 0; g < done; g += kGroup)
        for (int s = 0; s < kPlanes; s++)
          for (int t = 0; t < 8; t++) permuted[size_t(i) * done + g + size_t(s) * 8 + size_t(t)] = x[i * ldx + g + size_t(t) * kPlanes + size_t(s)];
    xp = permuted;
  }
  int j = n0;
  for (; j + 4 <= n1; j += 4) {
    if (j / w.groupRows == (j + 3) / w.groupRows) fusedRows<L, MI, 4, true, B>(x, ldx, xp, done, w, u, j, y, ldy);
    else fusedRows<L, MI, 4, false, B>(x, ldx, xp, done, w, u, j, y, ldy);
  }
  for (; j < n1; j++) fusedRows<L, MI, 1, true, B>(x, ldx, xp, done, w, u, j, y, ldy);
}

template <Lookup L, int B>
void fused(const float* x, size_t ldx, int m, const ClusterView& w, int n0, int n1, float* y, size_t ldy) {
  switch (m) {
    case 1: return fusedAll<L, 1, B>(x, ldx, w, n0, n1, y, ldy);
    case 2: return fusedAll<L, 2, B>(x, ldx, w, n0, n1, y, ldy);
    case 3: return fusedAll<L, 3, B>(x, ldx, w, n0, n1, y, ldy);
    default: return fusedAll<L, 4, B>(x, ldx, w, n0, n1, y, ldy);
  }
}

void matmulAvx2(const float* x, size_t ldx, int m, const ClusterView& w, int n0, int n1, float* y, size_t ldy) {
  if (m > 4) return clusterMatmulRows<Avx2, decodeAvx2>(x, ldx, m, w, n0, n1, y, ldy);
  switch (w.bits) {
    case 2: return fused<kPerm8, 2>(x, ldx, m, w, n0, n1, y, ldy);
    case 3: return fused<kPerm8, 0>(x, ldx, m, w, n0, n1, y, ldy);
    case 4: return fused<kPerm16, 4>(x, ldx, m, w, n0, n1, y, ldy);
    case 8: return fused<kGather, 8>(x, ldx, m, w, n0, n1, y, ldy);
    default: return fused<kGather, 0>(x, ldx, m, w, n0, n1, y, ldy);
  }
}

}  // namespace

const ClusterKernels cluster__avx2 = {"avx2", decodeAvx2, matmulAvx2};

}  // namespace sparq
