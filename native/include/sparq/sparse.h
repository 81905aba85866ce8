// Sparse CSR matrices: the kernel contract every tier implements, the native-owned CsrMatrix the
// binding hands to JS, its builders and the dispatching entry points. Plain C++, no Node-API.
// The rules (structure, canonical form, value types, numerics) are in docs/sparse.md.
//
// A CSR matrix A [rows×cols]: indptr[rows+1] (starts at 0, non-decreasing, ends at nnz),
// indices[nnz] (the column of each value, strictly increasing within a row), values[nnz].
// Values are f32, or int8 codes with one f32 scale per row (value = code·scale[row]).
// Column indices are stored as u32, or as u16 when the matrix was built with 16-bit indices
// (cols ≤ 65536). indptr is always int32, so nnz ≤ 2³¹ − 1.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sparq {

enum class SparseValues : int { f32 = 0, i8 = 1 };
enum class SparseIndex : int { u32 = 0, u16 = 1 };

// What a kernel reads. `indices` points at uint32_t or uint16_t, `values` at float or int8_t,
// as the table slot the kernel sits in says; `scales` (rows floats) is set for int8 values only.
// Every kernel may read up to 64 bytes past the end of indices and values (the matrix allocates
// that slack, zeroed), never past the end of x, b, or its output rows.
struct CsrView {
  int rows;
  int cols;
  const int32_t* indptr;
  const void* indices;
  const void* values;
  const float* scales;
};

// y[i] = Σ_j v_j·x[c_j] over row i's entries, for i in [r0, r1); for int8 values
// y[i] = (Σ_j q_j·x[c_j])·scale[i] (the sum rounded to f32 first, then one multiply).
// An empty row gives +0. A float reduction: any order, within DESIGN.md §3's bound. The value a
// row gets must not depend on r0 or r1 (so the thread split never changes results).
using SpmvFn = void (*)(const CsrView& a, int r0, int r1, const float* x, float* y);

// C[i·ldc + t] = Σ_j v_j·B[c_j·ldb + t] for i in [r0, r1) and t in [0, n) (int8: the sum times
// scale[i], as above). B is dense [cols×n] with row stride ldb ≥ n; n ≥ 1. Same rules as SpmvFn;
// additionally the value of C[i][t] must not depend on n (a kernel vectorises over t and handles
// the tail with masks or a scalar loop computing the same FMA chain).
using SpmmFn = void (*)(const CsrView& a, int r0, int r1, const float* b, size_t ldb, int n, float* c, size_t ldc);

// One tier's kernels, indexed [SparseValues][SparseIndex]. A null entry falls back to the scalar
// kernel, and the name reported is then the scalar one.
struct SparseKernels {
  const char* tier;  // "scalar", "avx2", ...
  SpmvFn spmv[2][2];
  SpmmFn spmm[2][2];
};

extern const SparseKernels sparse__scalar;
extern const SparseKernels sparse__avx2;
extern const SparseKernels sparse__avx512;
extern const SparseKernels sparse__neon;

// The kernels of the active tier (avx512vnni uses avx512's; neondot and i8mm use neon's).
const SparseKernels& sparseKernels();
// Name of the sparse kernel that ran last, "<op>_csr_<f32|i8>_<u32|u16>__<tier>",
// e.g. "spmm_csr_f32_u16__avx512" (tests read it to prove a tier really ran).
std::string lastSparseKernel();

// A CSR matrix in native-owned memory, immutable once built. Indices and values are 64-byte
// aligned with 64 zeroed bytes of slack after their ends.
class CsrMatrix {
 public:
  CsrMatrix(int rows, int cols, size_t nnz, SparseValues values, SparseIndex index);
  int rows() const { return rows_; }
  int cols() const { return cols_; }
  size_t nnz() const { return nnz_; }
  SparseValues valueType() const { return valueType_; }
  SparseIndex indexType() const { return indexType_; }
  // Storage a kernel streams: indptr + indices + values (+ scales).
  size_t bytes() const;

  int32_t* indptr() { return indptr_.get(); }
  const int32_t* indptr() const { return indptr_.get(); }
  void* indices() { return indices_.get(); }
  const void* indices() const { return indices_.get(); }
  void* values() { return values_.get(); }
  const void* values() const { return values_.get(); }
  float* scales() { return scales_.get(); }  // null unless valueType() is i8
  const float* scales() const { return scales_.get(); }
  CsrView view() const { return {rows_, cols_, indptr(), indices(), values(), scales()}; }

  uint32_t column(size_t j) const;  // indices[j] whatever its width
  float value(size_t j, int row) const;  // values[j] (int8: code·scale[row])

 private:
  struct Free {
    void operator()(void* p) const;
  };
  int rows_, cols_;
  size_t nnz_;
  SparseValues valueType_;
  SparseIndex indexType_;
  std::unique_ptr<int32_t, Free> indptr_;
  std::unique_ptr<uint8_t, Free> indices_;
  std::unique_ptr<uint8_t, Free> values_;
  std::unique_ptr<float, Free> scales_;
};

// Builders. Each returns the matrix, or null with *error set to a message naming the rule that
// broke (the binding throws it as a RangeError after its own argument checks). Values must be
// finite; `index` u16 requires cols ≤ 65536.
//
// keep w[i·cols + j] when |w| > threshold (threshold finite, ≥ 0).
std::shared_ptr<CsrMatrix> csrFromDense(const float* w, int rows, int cols, float threshold, SparseIndex index,
                                        std::string* error);
// (rowIdx[e], colIdx[e], values[e]) for e < count, any order: sorted by (row, col), duplicates
// summed in f32 in input order (an explicit zero, given or summed, is kept).
std::shared_ptr<CsrMatrix> csrFromCoo(int rows, int cols, const int32_t* rowIdx, const int32_t* colIdx,
                                      const float* values, size_t count, SparseIndex index, std::string* error);
// Already-canonical arrays, validated (never reading out of bounds while doing so): indptr has
// rows+1 entries, indices/values have nnz = indptr[rows] entries (the caller passes the lengths it
// has; a mismatch is one of the broken rules). values is float* for f32, int8_t* for i8 (then
// `scales` holds rows finite floats).
std::shared_ptr<CsrMatrix> csrFromArrays(int rows, int cols, const int32_t* indptr, size_t indptrLength,
                                         const int32_t* indices, size_t indicesLength, const void* values,
                                         size_t valuesLength, SparseValues valueType, const float* scales,
                                         SparseIndex index, std::string* error);
// int8 values with one scale per row, the same rule as quantizeWeightsS8 (gemm.h):
// scale = amax/127 (1 when amax = 0 or the row is empty), q = clamp(roundHalfEven(v/scale), −127, 127).
// Structure and index width are kept. An int8 matrix is returned as a copy.
std::shared_ptr<CsrMatrix> csrQuantizeValues(const CsrMatrix& a);
// A copy with other index storage (u16 needs cols ≤ 65536; returns null with *error otherwise).
std::shared_ptr<CsrMatrix> csrWithIndex(const CsrMatrix& a, SparseIndex index, std::string* error);
// Dense [rows×cols] (int8: code·scale, one f32 multiply).
void csrToDense(const CsrMatrix& a, float* out);

// Entry points, split across the pool by row ranges of balanced nnz.
// y[rows] = A·x, x [cols].
void spmv(const CsrMatrix& a, const float* x, float* y);
// C[rows×n] = A·B, B [cols×n] row-major.
void spmm(const CsrMatrix& a, const float* b, int n, float* c);
// Y[m×N] = X[m×K]·Wᵀ (+ bias[N]), W a CSR [N×K]. y = sum, then + bias (one more rounding).
void linearSparse(const float* x, int m, const CsrMatrix& w, const float* bias, float* y);

}  // namespace sparq
