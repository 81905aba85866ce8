// CSR SpMV / SpMM on AVX2 + FMA: 8 f32 lanes (the algorithms are in sparse_x86.h).
// SpMV gathers x with vgatherdps (u16 columns widened with vpmovzxwd); the partial last vector
// uses a masked gather. SpMM's n tail uses vmaskmovps for B loads and C stores, so no byte outside
// [0, n) of a B or C row is read or written. No alignment assumed.
#include "sparse_x86.h"

namespace sparq {

namespace {

struct Avx2 {
  using Vec = __m256;
  using Mask = __m256i;  // lanes < count all ones
  static constexpr int kLanes = 8;
  static constexpr int kRowsPerVector = 8;  // SpMM rows interleaved when a row takes one vector
  using Narrow = Avx2;                      // no narrower vectors for short chunks

  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static Vec broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static Vec broadcast1(float v) { return _mm256_set1_ps(v); }
  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static Vec loadTail(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  static void storeTail(float* p, Vec v, Mask m) { _mm256_maskstore_ps(p, m, v); }
  static Mask tailMask(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }

  // 16 int8 codes → 16 f32.
  static void widen16(const int8_t* q, float* out) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    _mm256_store_ps(out, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes)));
    _mm256_store_ps(out + 8, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(bytes, bytes))));
  }

  template <typename Index>
  static __m256i columns(const void* indices, size_t j) {
    if constexpr (sizeof(Index) == 2)
      return _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(indices) + j)));
    else
      return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint32_t*>(indices) + j));
  }
  template <typename Value>
  static Vec values(const void* values, size_t j) {
    if constexpr (sizeof(Value) == 1)
      return _mm256_cvtepi32_ps(
          _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(static_cast<const int8_t*>(values) + j))));
    else
      return _mm256_loadu_ps(static_cast<const float*>(values) + j);
  }
  static Vec gather(const float* x, __m256i columns) { return _mm256_i32gather_ps(x, columns, 4); }
  static Vec gatherPartial(const float* x, __m256i columns, int count) {
    return _mm256_mask_i32gather_ps(zero(), x, columns, _mm256_castsi256_ps(tailMask(count)), 4);
  }
  static float sum(Vec v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

}  // namespace

extern const SparseKernels sparse__avx2 = sparse_x86::kernelTable<Avx2>("avx2");

}  // namespace sparq
