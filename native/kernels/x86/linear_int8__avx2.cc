// The quantized linear layer's float steps, 8 lanes (sparq/linear_int8.h): bit-exact with the
// scalar kernel. min/max are order-free; vdivps is IEEE division; vroundps rounds half to even; the
// epilogue is one vcvtdq2ps, vmulps and vaddps per lane, as the scalar code rounds them. Tails run
// the same formulas one element at a time.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "sparq/linear_int8.h"
#include "sparq/linear_int8_common.h"

namespace sparq {

namespace {

using linear::code;
using linear::extendRange;
using linear::epilogue;
using linear::rowScale;

inline float horizontalMin(__m256 v) {
  __m128 h = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_min_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_min_ss(h, _mm_shuffle_ps(h, h, 1)));
}

inline float horizontalMax(__m256 v) {
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_max_ss(h, _mm_shuffle_ps(h, h, 1)));
}

// q = clamp(roundHalfEven(x/s) + zp, 0, 255) for 8 values, as 8 bytes.
inline void storeCodes8(const float* x, __m256 s, __m256 zp, uint8_t* q) {
  __m256 v = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(x), s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  v = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, zp), _mm256_setzero_ps()), _mm256_set1_ps(255.0f));
  const __m256i i32 = _mm256_cvtps_epi32(v);  // whole numbers in [0, 255]: exact
  const __m128i u16 = _mm_packus_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(q), _mm_packus_epi16(u16, u16));
}

bool quantizeRows(const float* x, int m, int k, uint8_t* q, float* scale, int32_t* zeroPoint) {
  for (int i = 0; i < m; i++) {
    const float* row = x + size_t(i) * size_t(k);
    __m256 lo8 = _mm256_setzero_ps(), hi8 = _mm256_setzero_ps(), bad8 = _mm256_setzero_ps();
    int p = 0;
    for (; p + 8 <= k; p += 8) {
      const __m256 v = _mm256_loadu_ps(row + p);
      lo8 = _mm256_min_ps(lo8, v);
      hi8 = _mm256_max_ps(hi8, v);
      bad8 = _mm256_or_ps(bad8, _mm256_cmp_ps(_mm256_sub_ps(v, v), _mm256_setzero_ps(), _CMP_NEQ_UQ));  // ±Inf, NaN
    }
    bool finite = _mm256_movemask_ps(bad8) == 0;
    float lo = horizontalMin(lo8), hi = horizontalMax(hi8);
    if (!extendRange(row, p, k, &lo, &hi) || !finite) return false;
    float s, zp;
    rowScale(lo, hi, &s, &zp);
    scale[i] = s;
    zeroPoint[i] = int32_t(zp);
    uint8_t* out = q + size_t(i) * size_t(k);
    const __m256 s8 = _mm256_set1_ps(s), zp8 = _mm256_set1_ps(zp);
    for (p = 0; p + 8 <= k; p += 8) storeCodes8(row + p, s8, zp8, out + p);
    for (; p < k; p++) out[p] = code(row[p], s, zp);
  }
  return true;
}

bool codeRows(const float* x, int m, int k, float scale, float zeroPoint, uint8_t* q) {
  const size_t count = size_t(m) * size_t(k);
  const __m256 s8 = _mm256_set1_ps(scale), zp8 = _mm256_set1_ps(zeroPoint);
  __m256 bad8 = _mm256_setzero_ps();
  size_t p = 0;
  for (; p + 8 <= count; p += 8) {
    const __m256 v = _mm256_loadu_ps(x + p);
    bad8 = _mm256_or_ps(bad8, _mm256_cmp_ps(_mm256_sub_ps(v, v), _mm256_setzero_ps(), _CMP_NEQ_UQ));  // ±Inf, NaN
    storeCodes8(x + p, s8, zp8, q + p);
  }
  if (_mm256_movemask_ps(bad8) != 0) return false;
  for (; p < count; p++) {
    if (!std::isfinite(x[p])) return false;
    q[p] = code(x[p], scale, zeroPoint);
  }
  return true;
}

void epilogueRow(const int32_t* acc, const int32_t* rowSums, uint32_t zeroPoint, float rowScale,
                 const float* weightScales, const float* bias, int n, float* y) {
  const __m256i zp8 = _mm256_set1_epi32(int32_t(zeroPoint));
  const __m256 sa8 = _mm256_set1_ps(rowScale);
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256i offset = _mm256_mullo_epi32(zp8, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rowSums + j)));
    const __m256i centred = _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + j)), offset);
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(centred), _mm256_mul_ps(sa8, _mm256_loadu_ps(weightScales + j)));
    if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
    _mm256_storeu_ps(y + j, v);
  }
  for (; j < n; j++) y[j] = epilogue(acc[j], rowSums[j], zeroPoint, rowScale, weightScales[j], bias ? bias + j : nullptr);
}

}  // namespace

const LinearInt8Kernels linear_int8__avx2 = {"linear_int8__avx2", quantizeRows, codeRows, epilogueRow};

}  // namespace sparq
