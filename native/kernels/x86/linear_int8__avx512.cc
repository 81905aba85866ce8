// The quantized linear layer's float steps, 16 lanes with masked tails (sparq/linear_int8.h):
// bit-exact with the scalar kernel, as the AVX2 one is. Also the avx512vnni tier's.
// GCC 12 reports the deliberately undefined pass-through operand inside many AVX-512 intrinsics
// as (maybe-)uninitialized (GCC PR 105593); silence that for the intrinsics header only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>

#include "sparq/linear_int8.h"
#include "sparq/linear_int8_common.h"

namespace sparq {

namespace {

using linear::rowScale;

inline __mmask16 tailMask(int count) { return __mmask16((1u << count) - 1u); }

// clamp(roundHalfEven(x/s) + zp, 0, 255) for the given lanes, stored as bytes.
inline void storeCodes16(const float* x, __mmask16 lanes, __m512 s16, __m512 zp16, uint8_t* q) {
  __m512 v = _mm512_roundscale_ps(_mm512_div_ps(_mm512_maskz_loadu_ps(lanes, x), s16), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  v = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, zp16), _mm512_setzero_ps()), _mm512_set1_ps(255.0f));
  _mm512_mask_cvtusepi32_storeu_epi8(q, lanes, _mm512_cvtps_epu32(v));  // whole numbers in [0, 255]
}

bool quantizeRows(const float* x, int m, int k, uint8_t* q, float* scale, int32_t* zeroPoint) {
  for (int i = 0; i < m; i++) {
    const float* row = x + size_t(i) * size_t(k);
    __m512 lo16 = _mm512_setzero_ps(), hi16 = _mm512_setzero_ps();
    __mmask16 bad = 0;
    for (int p = 0; p < k; p += 16) {
      const __mmask16 lanes = k - p >= 16 ? __mmask16(0xffff) : tailMask(k - p);
      const __m512 v = _mm512_maskz_loadu_ps(lanes, row + p);  // masked-off lanes are 0: min/max unchanged
      lo16 = _mm512_min_ps(lo16, v);
      hi16 = _mm512_max_ps(hi16, v);
      bad |= _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), _mm512_setzero_ps(), _CMP_NEQ_UQ);  // ±Inf, NaN
    }
    if (bad) return false;
    const float lo = _mm512_reduce_min_ps(lo16), hi = _mm512_reduce_max_ps(hi16);
    float s, zp;
    rowScale(lo, hi, &s, &zp);
    scale[i] = s;
    zeroPoint[i] = int32_t(zp);
    uint8_t* out = q + size_t(i) * size_t(k);
    const __m512 s16 = _mm512_set1_ps(s), zp16 = _mm512_set1_ps(zp);
    for (int p = 0; p < k; p += 16) storeCodes16(row + p, k - p >= 16 ? __mmask16(0xffff) : tailMask(k - p), s16, zp16, out + p);
  }
  return true;
}

bool codeRows(const float* x, int m, int k, float scale, float zeroPoint, uint8_t* q) {
  const size_t count = size_t(m) * size_t(k);
  const __m512 s16 = _mm512_set1_ps(scale), zp16 = _mm512_set1_ps(zeroPoint);
  __mmask16 bad = 0;
  for (size_t p = 0; p < count; p += 16) {
    const __mmask16 lanes = count - p >= 16 ? __mmask16(0xffff) : tailMask(int(count - p));
    const __m512 v = _mm512_maskz_loadu_ps(lanes, x + p);
    bad |= _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), _mm512_setzero_ps(), _CMP_NEQ_UQ);  // ±Inf, NaN
    storeCodes16(x + p, lanes, s16, zp16, q + p);
  }
  return bad == 0;
}

void epilogueRow(const int32_t* acc, const int32_t* rowSums, uint32_t zeroPoint, float rowScale,
                 const float* weightScales, const float* bias, int n, float* y) {
  const __m512i zp16 = _mm512_set1_epi32(int32_t(zeroPoint));
  const __m512 sa16 = _mm512_set1_ps(rowScale);
  for (int j = 0; j < n; j += 16) {
    const __mmask16 lanes = n - j >= 16 ? __mmask16(0xffff) : tailMask(n - j);
    const __m512i offset = _mm512_mullo_epi32(zp16, _mm512_maskz_loadu_epi32(lanes, rowSums + j));
    const __m512i centred = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(lanes, acc + j), offset);
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(centred), _mm512_mul_ps(sa16, _mm512_maskz_loadu_ps(lanes, weightScales + j)));
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(lanes, bias + j));
    _mm512_mask_storeu_ps(y + j, lanes, v);
  }
}

}  // namespace

const LinearInt8Kernels linear_int8__avx512 = {"linear_int8__avx512", quantizeRows, codeRows, epilogueRow};

}  // namespace sparq
