// The quantized linear layer's float steps, one element at a time: the semantics every tier's
// kernel matches bit for bit (sparq/linear_int8.h).
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

bool quantizeRows(const float* x, int m, int k, uint8_t* q, float* scale, int32_t* zeroPoint) {
  for (int i = 0; i < m; i++) {
    const float* row = x + size_t(i) * size_t(k);
    float lo = 0.0f, hi = 0.0f;
    if (!extendRange(row, 0, k, &lo, &hi)) return false;
    float s, zp;
    rowScale(lo, hi, &s, &zp);
    scale[i] = s;
    zeroPoint[i] = int32_t(zp);
    uint8_t* out = q + size_t(i) * size_t(k);
    for (int p = 0; p < k; p++) out[p] = code(row[p], s, zp);
  }
  return true;
}

bool codeRows(const float* x, int m, int k, float scale, float zeroPoint, uint8_t* q) {
  const size_t count = size_t(m) * size_t(k);
  for (size_t p = 0; p < count; p++) {
    if (!std::isfinite(x[p])) return false;
    q[p] = code(x[p], scale, zeroPoint);
  }
  return true;
}

void epilogueRow(const int32_t* acc, const int32_t* rowSums, uint32_t zeroPoint, float rowScale,
                 const float* weightScales, const float* bias, int n, float* y) {
  for (int j = 0; j < n; j++) y[j] = epilogue(acc[j], rowSums[j], zeroPoint, rowScale, weightScales[j], bias ? bias + j : nullptr);
}

}  // namespace

const LinearInt8Kernels linear_int8__scalar = {"linear_int8__scalar", quantizeRows, codeRows, epilogueRow};

}  // namespace sparq
