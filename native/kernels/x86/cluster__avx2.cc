// The clustered decode and matmul, 8 lanes (sparq/cluster.h, native/kernels/cluster_impl.h).
//
// Decode, 8 indices a step: they fill exactly b bytes, copied into a 64-bit word (never reading
// past them) and broadcast to both 128-bit halves; VPSHUFB moves the two bytes that hold index i to
// the bottom of 32-bit lane i, VPSRLVD shifts by its bit offset and an AND keeps b bits. Lookup in
// registers: VPERMPS for up to 8 entries, two VPERMPS and a blend on bit 3 for 16; 32…256 entries
// are gathered from L1. Exact: the values are the codebook's own floats.
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

void decodeAvx2(const uint8_t* row, int bits, const float* codebook, size_t p0, size_t count, float* out) {
  const int entries = 1 << bits;
  alignas(32) float table[16] = {};
  std::memcpy(table, codebook, sizeof(float) * size_t(std::min(entries, 16)));
  const __m256 lo = _mm256_load_ps(table), hi = _mm256_load_ps(table + 8);
  alignas(32) uint8_t control[32];
  alignas(32) uint32_t shifts[8];
  for (int i = 0; i < 8; i++) {
    const int bit = i * bits;
    control[4 * i] = uint8_t(bit >> 3);
    control[4 * i + 1] = uint8_t((bit >> 3) + 1);  // byte b of the word at most: only read when needed, else masked off
    control[4 * i + 2] = control[4 * i + 3] = 0x80;
    shifts[i] = uint32_t(bit & 7);
  }
  // VPSHUFB indexes within each 128-bit half: the upper half's lanes read the same 8 bytes.
  const __m256i ctrl = _mm256_load_si256(reinterpret_cast<const __m256i*>(control));
  const __m256i shift = _mm256_load_si256(reinterpret_cast<const __m256i*>(shifts));
  const __m256i mask = _mm256_set1_epi32((1 << bits) - 1);
  const uint8_t* src = row + p0 / 8 * size_t(bits);
  alignas(32) float tail[8];
  for (size_t t = 0; t < count; t += 8) {
    const size_t left = std::min<size_t>(8, count - t);
    uint64_t word = 0;
    std::memcpy(&word, src + t / 8 * size_t(bits), (left * size_t(bits) + 7) / 8);
    __m256i idx = _mm256_shuffle_epi8(_mm256_set1_epi64x(int64_t(word)), ctrl);
    idx = _mm256_and_si256(_mm256_srlv_epi32(idx, shift), mask);
    __m256 v;
    if (entries <= 8) {
      v = _mm256_permutevar8x32_ps(lo, idx);
    } else if (entries <= 16) {
      const __m256 third = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28));  // bit 3 as the sign
      v = _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo, idx), _mm256_permutevar8x32_ps(hi, idx), third);
    } else {
      v = _mm256_i32gather_ps(codebook, idx, 4);
    }
    if (left == 8) {
      _mm256_storeu_ps(out + t, v);
    } else {
      _mm256_store_ps(tail, v);
      std::memcpy(out + t, tail, left * sizeof(float));
    }
  }
}

void matmulAvx2(const float* x, size_t ldx, int m, const ClusterView& w, int n0, int n1, float* y, size_t ldy) {
  clusterMatmulRows<Avx2, decodeAvx2>(x, ldx, m, w, n0, n1, y, ldy);
}

}  // namespace

const ClusterKernels cluster__avx2 = {"avx2", decodeAvx2, matmulAvx2};

}  // namespace sparq
