// CSR SpMV / SpMM on AVX-512 (F, BW, VL, DQ): 16 f32 lanes (the algorithms are in sparse_x86.h).
// SpMV gathers x with vgatherdps zmm (u16 columns widened with vpmovzxwd); the partial last
// vector uses a k-masked gather. SpMM's n tail uses k-masked B loads and C stores, so no byte
// outside [0, n) of a B or C row is read or written. No alignment assumed.
#include "sparse_x86.h"

namespace sparq {

namespace {

// 256-bit vectors with AVX-512 masks, for SpMM chunks of ≤ 8 columns: Zen 4 splits a 512-bit
// operation in two, so a half-empty zmm costs twice a ymm.
struct Avx512Narrow {
  using Vec = __m256;
  using Mask = __mmask8;
  using Narrow = Avx512Narrow;
  static constexpr int kLanes = 8;
  static constexpr int kRowsPerVector = 8;

  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static Vec broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static Vec broadcast1(float v) { return _mm256_set1_ps(v); }
  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static Vec loadTail(const float* p, Mask m) { return _mm256_maskz_loadu_ps(m, p); }
  static void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  static void storeTail(float* p, Vec v, Mask m) { _mm256_mask_storeu_ps(p, m, v); }
  static Mask tailMask(int count) { return Mask((1u << count) - 1u); }
  static void widen16(const int8_t* q, float* out) {
    _mm512_store_ps(out, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)))));
  }
};

struct Avx512 {
  using Vec = __m512;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;
  static constexpr int kRowsPerVector = 4;
  using Narrow = Avx512Narrow;

  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static Vec broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static Vec broadcast1(float v) { return _mm512_set1_ps(v); }
  static Vec load(const float* p) { return _mm512_loadu_ps(p); }
  static Vec loadTail(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
  static void storeTail(float* p, Vec v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
  static Mask tailMask(int count) { return Mask((1u << count) - 1u); }

  static void widen16(const int8_t* q, float* out) {
    _mm512_store_ps(out, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)))));
  }

  template <typename Index>
  static __m512i columns(const void* indices, size_t j) {
    if constexpr (sizeof(Index) == 2)
      return _mm512_cvtepu16_epi32(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(indices) + j)));
    else
      return _mm512_loadu_si512(static_cast<const uint32_t*>(indices) + j);
  }
  template <typename Value>
  static Vec values(const void* values, size_t j) {
    if constexpr (sizeof(Value) == 1)
      return _mm512_cvtepi32_ps(
          _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const int8_t*>(values) + j))));
    else
      return _mm512_loadu_ps(static_cast<const float*>(values) + j);
  }
  static Vec gather(const float* x, __m512i columns) { return _mm512_i32gather_ps(columns, x, 4); }
  static Vec gatherPartial(const float* x, __m512i columns, int count) {
    return _mm512_mask_i32gather_ps(zero(), tailMask(count), columns, x, 4);
  }
  static float sum(Vec v) {
    const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

}  // namespace

extern const SparseKernels sparse__avx512 = sparse_x86::kernelTable<Avx512>("avx512");

}  // namespace sparq
