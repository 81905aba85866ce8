// Sparse CSR × dense on ARMv8 NEON; the neon, neondot and i8mm tiers all use these kernels.
//
// spmv, y[i] = Σ_j v_j·x[c_j]: NEON has no gather, so each x[c_j] is loaded into its lane on its
// own, the column read as a scalar (a zero-extending LDRH for u16, which beats widening a vector
// of indices and moving every lane out again). Products go into two 4-lane FMA accumulators,
// 8 entries per step, then one step of 4; the 0–3 entries left are added to the lane sum by
// scalar FMAs. A reordered float reduction, within docs/sparse.md's bound.
// spmm, C[i][t] = Σ_j v_j·B[c_j][t]: vectorised over t. Every output is one FMA chain in entry
// order from +0, whether its column falls in a 64-wide register block (16 accumulators), a 16-
// or 4-wide block or the scalar tail (std::fma), so C[i][t] does not depend on n.
// int8 values: codes widened s8→s16→s32→f32 (exact), summed like f32 values, and the row's sum
// multiplied by the row's scale once. An empty row gives +0 whatever its scale.
// A row's results depend only on that row, never on r0 or r1. Reads: the row's own entries (the
// 4-entry int8 step loads 8 code bytes, at most 4 past the row, inside the 64 bytes of slack the
// matrix guarantees), x at the stored columns, B's rows at the stored columns and columns [0, n).
// Writes: y[r0, r1), or C's rows [r0, r1) × columns [0, n). No alignment assumed.
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "sparq/sparse.h"

namespace sparq {
namespace {

constexpr int kWideVectors = 16;  // spmm register block: 16 × 4 = 64 columns of C
constexpr int kMidVectors = 4;    // then 16 columns, then 4, then the scalar tail

// --- Values as f32 lanes ---------------------------------------------------------------------

inline float32x4_t widenCodes(int16x4_t codes) { return vcvtq_f32_s32(vmovl_s16(codes)); }

// values[0, 4).
inline float32x4_t load4(const float* values) { return vld1q_f32(values); }
inline float32x4_t load4(const int8_t* values) {  // loads 8 bytes, see the header comment
  return widenCodes(vget_low_s16(vmovl_s8(vld1_s8(values))));
}

// values[0, 8) as two halves.
inline void load8(const float* values, float32x4_t& low, float32x4_t& high) {
  low = vld1q_f32(values);
  high = vld1q_f32(values + 4);
}
inline void load8(const int8_t* values, float32x4_t& low, float32x4_t& high) {
  const int16x8_t codes = vmovl_s8(vld1_s8(values));
  low = widenCodes(vget_low_s16(codes));
  high = widenCodes(vget_high_s16(codes));
}

// The row's sum times its scale (int8 values); f32 values have no scale.
template <typename Value>
inline float rowScale(const CsrView& a, int row) {
  if constexpr (std::is_same_v<Value, int8_t>) return a.scales[row];
  return 1.0f;
}
template <typename Value>
inline float scaled(float sum, float scale) {
  if constexpr (std::is_same_v<Value, int8_t>) return sum * scale;
  return sum;
}
template <typename Value>
inline float32x4_t scaled(float32x4_t sum, float scale) {
  if constexpr (std::is_same_v<Value, int8_t>) return vmulq_n_f32(sum, scale);
  return sum;
}

// --- spmv ------------------------------------------------------------------------------------

// x at four stored columns, one lane each.
template <typename Index>
inline float32x4_t gather4(const float* x, const Index* columns) {
  float32x4_t lanes = vld1q_dup_f32(x + columns[0]);
  lanes = vld1q_lane_f32(x + columns[1], lanes, 1);
  lanes = vld1q_lane_f32(x + columns[2], lanes, 2);
  return vld1q_lane_f32(x + columns[3], lanes, 3);
}

// Σ v_j·x[c_j] over entries [begin, end), before any scale.
template <typename Value, typename Index>
float rowDot(const Value* values, const Index* columns, size_t begin, size_t end, const float* x) {
  float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = acc0;
  size_t j = begin;
  for (; j + 8 <= end; j += 8) {
    float32x4_t low, high;
    load8(values + j, low, high);
    acc0 = vfmaq_f32(acc0, low, gather4(x, columns + j));
    acc1 = vfmaq_f32(acc1, high, gather4(x, columns + j + 4));
  }
  if (j + 4 <= end) {
    acc0 = vfmaq_f32(acc0, load4(values + j), gather4(x, columns + j));
    j += 4;
  }
  float sum = vaddvq_f32(vaddq_f32(acc0, acc1));
  for (; j < end; j++) sum = std::fma(float(values[j]), x[columns[j]], sum);
  return sum;
}

template <typename Value, typename Index>
void spmv(const CsrView& a, int r0, int r1, const float* x, float* y) {
  const auto* columns = static_cast<const Index*>(a.indices);
  const auto* values = static_cast<const Value*>(a.values);
  for (int i = r0; i < r1; i++) {
    const size_t begin = size_t(a.indptr[i]), end = size_t(a.indptr[i + 1]);
    y[i] = begin == end ? 0.0f : scaled<Value>(rowDot(values, columns, begin, end, x), rowScale<Value>(a, i));
  }
}

// --- spmm ------------------------------------------------------------------------------------

// acc[q] += B row [4q, 4q + 4)·value for q < Vectors. Whole multiples of 16 floats are loaded 64
// bytes at a time (LD1 of four registers), which also keeps the address arithmetic to one add each.
template <int Vectors>
[[gnu::always_inline]] inline void fmaRow(float32x4_t (&acc)[Vectors], const float* bRow, float value) {
  if constexpr (Vectors % 4 == 0) {
    for (int g = 0; g < Vectors / 4; g++) {
      const float32x4x4_t bv = vld1q_f32_x4(bRow + 16 * g);
      for (int q = 0; q < 4; q++) acc[4 * g + q] = vfmaq_n_f32(acc[4 * g + q], bv.val[q], value);
    }
  } else {
    for (int q = 0; q < Vectors; q++) acc[q] = vfmaq_n_f32(acc[q], vld1q_f32(bRow + 4 * q), value);
  }
}

// C row [0, 4·Vectors) = Σ_j v_j·B[c_j][0, 4·Vectors) (× scale), `b` and `cRow` already offset to
// the block's first column. The accumulators stay in registers across the row's entries.
template <int Vectors, typename Value, typename Index>
[[gnu::always_inline]] inline void rowBlock(const Value* values, const Index* columns, size_t begin, size_t end,
                                            float scale, const float* b, size_t ldb, float* cRow) {
  float32x4_t acc[Vectors];
  for (int q = 0; q < Vectors; q++) acc[q] = vdupq_n_f32(0.0f);
  for (size_t j = begin; j < end; j++) fmaRow(acc, b + size_t(columns[j]) * ldb, float(values[j]));
  for (int q = 0; q < Vectors; q++) vst1q_f32(cRow + 4 * q, scaled<Value>(acc[q], scale));
}

// The last `width` < 4 columns, the same chains with scalar FMAs.
template <typename Value, typename Index>
void rowTail(const Value* values, const Index* columns, size_t begin, size_t end, float scale, const float* b,
             size_t ldb, int width, float* cRow) {
  float acc[3] = {0.0f, 0.0f, 0.0f};
  for (size_t j = begin; j < end; j++) {
    const float value = float(values[j]);
    const float* bRow = b + size_t(columns[j]) * ldb;
    for (int t = 0; t < width; t++) acc[t] = std::fma(value, bRow[t], acc[t]);
  }
  for (int t = 0; t < width; t++) cRow[t] = scaled<Value>(acc[t], scale);
}

template <typename Value, typename Index>
void spmm(const CsrView& a, int r0, int r1, const float* b, size_t ldb, int n, float* c, size_t ldc) {
  const auto* columns = static_cast<const Index*>(a.indices);
  const auto* values = static_cast<const Value*>(a.values);
  for (int i = r0; i < r1; i++) {
    const size_t begin = size_t(a.indptr[i]), end = size_t(a.indptr[i + 1]);
    float* cRow = c + size_t(i) * ldc;
    if (begin == end) {
      std::fill(cRow, cRow + n, 0.0f);
      continue;
    }
    const float scale = rowScale<Value>(a, i);
    int t = 0;
    for (; t + 4 * kWideVectors <= n; t += 4 * kWideVectors)
      rowBlock<kWideVectors>(values, columns, begin, end, scale, b + t, ldb, cRow + t);
    for (; t + 4 * kMidVectors <= n; t += 4 * kMidVectors)
      rowBlock<kMidVectors>(values, columns, begin, end, scale, b + t, ldb, cRow + t);
    for (; t + 4 <= n; t += 4) rowBlock<1>(values, columns, begin, end, scale, b + t, ldb, cRow + t);
    if (t < n) rowTail(values, columns, begin, end, scale, b + t, ldb, n - t, cRow + t);
  }
}

}  // namespace

const SparseKernels sparse__neon = {
    "neon",
    {{spmv<float, uint32_t>, spmv<float, uint16_t>}, {spmv<int8_t, uint32_t>, spmv<int8_t, uint16_t>}},
    {{spmm<float, uint32_t>, spmm<float, uint16_t>}, {spmm<int8_t, uint32_t>, spmm<int8_t, uint16_t>}},
};

}  // namespace sparq
