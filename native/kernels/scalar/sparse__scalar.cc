// CSR SpMV and SpMM, portable C++: the reference order every tier is measured against.
// Row i's sum runs over its entries in storage order, one f32 multiply and one f32 add per entry
// (built with -ffp-contract=off, so never fused), starting from +0. int8 values: the sum is taken
// over code·x, then multiplied once by the row scale. An empty row gives +0 whatever its scale.
// SpMM keeps the same order for each output column t, so C[i][t] does not depend on n.
#include <cstddef>
#include <cstdint>

#include "sparq/sparse.h"

namespace sparq {

namespace {

// The row scale of int8 values (1 for an empty row, so its +0 stays +0); f32 values have none.
template <typename Value>
float rowScale(const CsrView& a, int i) {
  if constexpr (sizeof(Value) == 1) return a.indptr[i + 1] > a.indptr[i] ? a.scales[i] : 1.0f;
  return 1.0f;
}

template <typename Value, typename Index>
void spmvRows(const CsrView& a, int r0, int r1, const float* x, float* y) {
  const Index* columns = static_cast<const Index*>(a.indices);
  const Value* values = static_cast<const Value*>(a.values);
  for (int i = r0; i < r1; i++) {
    float sum = 0.0f;
    for (int32_t j = a.indptr[i]; j < a.indptr[i + 1]; j++) sum += float(values[j]) * x[columns[j]];
    if constexpr (sizeof(Value) == 1) sum *= rowScale<Value>(a, i);
    y[i] = sum;
  }
}

template <typename Value, typename Index>
void spmmRows(const CsrView& a, int r0, int r1, const float* b, size_t ldb, int n, float* c, size_t ldc) {
  const Index* columns = static_cast<const Index*>(a.indices);
  const Value* values = static_cast<const Value*>(a.values);
  for (int i = r0; i < r1; i++) {
    float* out = c + size_t(i) * ldc;
    for (int t = 0; t < n; t++) out[t] = 0.0f;
    for (int32_t j = a.indptr[i]; j < a.indptr[i + 1]; j++) {
      const float v = float(values[j]);
      const float* bRow = b + size_t(columns[j]) * ldb;
      for (int t = 0; t < n; t++) out[t] += v * bRow[t];
    }
    if constexpr (sizeof(Value) == 1) {
      const float scale = rowScale<Value>(a, i);
      for (int t = 0; t < n; t++) out[t] *= scale;
    }
  }
}

}  // namespace

extern const SparseKernels sparse__scalar = {
    "scalar",
    {{spmvRows<float, uint32_t>, spmvRows<float, uint16_t>}, {spmvRows<int8_t, uint32_t>, spmvRows<int8_t, uint16_t>}},
    {{spmmRows<float, uint32_t>, spmmRows<float, uint16_t>}, {spmmRows<int8_t, uint32_t>, spmmRows<int8_t, uint16_t>}},
};

}  // namespace sparq
