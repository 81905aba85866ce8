// The sparse CSR family: CsrMatrix storage, the builders (canonical form and the structure rules
// of docs/sparse.md, checked in the documented order), the per-tier kernel tables, and spmv / spmm /
// linearSparse split across the pool in row ranges of balanced work.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <vector>

#include "sparq/runtime.h"
#include "sparq/sparse.h"

namespace sparq {

namespace {

// What ran last, for lastSparseKernel(): tests read it to prove a tier really ran.
std::atomic<const char*> gLastOp{nullptr};
std::atomic<int> gLastTypes{0};  // values·2 + index
std::atomic<const char*> gLastTier{nullptr};

// The active tier's kernel for a's value and index types, or the scalar one when the tier has
// none; records which ran.
template <typename Fn>
Fn choose(Fn (SparseKernels::*table)[2][2], const CsrMatrix& a, const char* op) {
  const int v = int(a.valueType()), i = int(a.indexType());
  const SparseKernels& tier = sparseKernels();
  const SparseKernels& ran = (tier.*table)[v][i] ? tier : sparse__scalar;
  gLastOp.store(op, std::memory_order_relaxed);
  gLastTypes.store(v * 2 + i, std::memory_order_relaxed);
  gLastTier.store(ran.tier, std::memory_order_relaxed);
  return (ran.*table)[v][i];
}

// Work is counted in multiply-adds plus kRowCost per row (the row's setup, horizontal sum and
// stores). Below kSerialWork waking the pool costs more than it saves; above it each thread gets
// about kTasksPerThread row ranges, handed out dynamically.
constexpr size_t kSerialWork = size_t(1) << 16;
constexpr size_t kRowCost = 4;
constexpr int kTasksPerThread = 4;

// fn(r0, r1) over row ranges covering [0, rows), each about the same nnz + kRowCost·rows; `width`
// multiplies the work per entry (n for spmm). Every row is computed whole by one call, so the
// split never changes a result.
template <typename Fn>
void forRowRanges(const CsrMatrix& a, size_t width, Fn fn) {
  const int rows = a.rows();
  if (rows == 0) return;
  const int32_t* indptr = a.indptr();
  auto cost = [&](int i) { return size_t(indptr[i]) + kRowCost * size_t(i); };
  const size_t total = cost(rows);
  const int pool = total * width < kSerialWork ? 1 : threads();
  const int tasks = std::min(rows, pool * kTasksPerThread);
  if (pool == 1 || tasks < 2) {
    fn(0, rows);
    return;
  }
  // bounds[t] = the first row whose cost prefix reaches t/tasks of the total.
  std::vector<int> bounds(size_t(tasks) + 1);
  for (int t = 0; t <= tasks; t++) {
    const size_t target = total / size_t(tasks) * size_t(t) + total % size_t(tasks) * size_t(t) / size_t(tasks);
    int lo = 0, hi = rows;
    while (lo < hi) {
      const int mid = lo + (hi - lo) / 2;
      if (cost(mid) < target) lo = mid + 1; else hi = mid;
    }
    bounds[size_t(t)] = lo;
  }
  bounds[size_t(tasks)] = rows;
  parallelFor(tasks, [&](int t) {
    const int r0 = bounds[size_t(t)], r1 = bounds[size_t(t) + 1];
    if (r0 < r1) fn(r0, r1);
  });
}

// 64-byte aligned storage for `bytes` bytes followed by at least 64 zeroed bytes.
void* allocWithSlack(size_t bytes) {
  const size_t rounded = (bytes + 64 + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw std::bad_alloc();
  std::memset(static_cast<uint8_t*>(p) + bytes, 0, rounded - bytes);
  return p;
}

size_t indexBytes(SparseIndex index) { return index == SparseIndex::u16 ? 2 : 4; }
size_t valueBytes(SparseValues values) { return values == SparseValues::i8 ? 1 : 4; }

// A non-finite value as JavaScript prints it.
std::string nonFiniteText(float v) { return std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity"; }

std::string str(long long v) { return std::to_string(v); }

bool fail(std::string* error, const std::string& message) {
  if (error) *error = message;
  return false;
}

// Rule 1 of every builder.
bool indexFits(int cols, SparseIndex index, std::string* error) {
  if (index == SparseIndex::u16 && cols > 65536)
    return fail(error, "indexBits 16 needs cols ≤ 65536, received cols = " + str(cols));
  return true;
}

bool dimsValid(int rows, int cols, std::string* error) {
  if (rows < 0 || cols < 0)
    return fail(error, "rows and cols must be ≥ 0, received rows = " + str(rows) + ", cols = " + str(cols));
  return true;
}

void putColumn(CsrMatrix& a, size_t j, uint32_t column) {
  if (a.indexType() == SparseIndex::u16)
    static_cast<uint16_t*>(a.indices())[j] = uint16_t(column);
  else
    static_cast<uint32_t*>(a.indices())[j] = column;
}

// Round half to even by adding and subtracting 1.5·2²³: exact for |x| < 2²², which covers the
// quotients v/scale here (|v| ≤ amax, so |v/scale| ≤ 127 up to rounding).
float roundHalfEven(float x) {
  constexpr float kShift = 12582912.0f;
  if (!(std::fabs(x) < 4194304.0f)) return std::nearbyint(x);
  return (x + kShift) - kShift;
}

}  // namespace

// ---- kernel tables -------------------------------------------------------------------------

const SparseKernels& sparseKernels() {
  switch (activeTier()) {
#ifdef SPARQ_BUILT_AVX2
    case Tier::avx2: return sparse__avx2;
#endif
#ifdef SPARQ_BUILT_AVX512
    case Tier::avx512:
    case Tier::avx512vnni: return sparse__avx512;  // no VNNI-specific sparse kernels
#endif
#ifdef SPARQ_BUILT_NEON
    case Tier::neon:
    case Tier::neondot:
    case Tier::i8mm: return sparse__neon;  // one NEON table for every ARM tier
#endif
    default: return sparse__scalar;
  }
}

std::string lastSparseKernel() {
  const char* op = gLastOp.load(std::memory_order_relaxed);
  if (!op) return "";
  const int types = gLastTypes.load(std::memory_order_relaxed);
  return std::string(op) + "_csr_" + (types / 2 ? "i8" : "f32") + (types % 2 ? "_u16" : "_u32") + "__" +
         gLastTier.load(std::memory_order_relaxed);
}

// ---- CsrMatrix -----------------------------------------------------------------------------

void CsrMatrix::Free::operator()(void* p) const { std::free(p); }

CsrMatrix::CsrMatrix(int rows, int cols, size_t nnz, SparseValues values, SparseIndex index)
    : rows_(rows), cols_(cols), nnz_(nnz), valueType_(values), indexType_(index) {
  const size_t indptrBytes = (size_t(rows) + 1) * 4;
  indptr_.reset(static_cast<int32_t*>(allocWithSlack(indptrBytes)));
  std::memset(indptr_.get(), 0, indptrBytes);
  indices_.reset(static_cast<uint8_t*>(allocWithSlack(nnz * indexBytes(index))));
  values_.reset(static_cast<uint8_t*>(allocWithSlack(nnz * valueBytes(values))));
  if (values == SparseValues::i8) scales_.reset(static_cast<float*>(allocWithSlack(size_t(rows) * 4)));
}

size_t CsrMatrix::bytes() const {
  return (size_t(rows_) + 1) * 4 + nnz_ * (indexBytes(indexType_) + valueBytes(valueType_)) +
         (valueType_ == SparseValues::i8 ? size_t(rows_) * 4 : 0);
}

uint32_t CsrMatrix::column(size_t j) const {
  if (indexType_ == SparseIndex::u16) return static_cast<const uint16_t*>(indices())[j];
  return static_cast<const uint32_t*>(indices())[j];
}

float CsrMatrix::value(size_t j, int row) const {
  if (valueType_ == SparseValues::i8) return float(static_cast<const int8_t*>(values())[j]) * scales()[row];
  return static_cast<const float*>(values())[j];
}

// ---- builders ------------------------------------------------------------------------------

std::shared_ptr<CsrMatrix> csrFromDense(const float* w, int rows, int cols, float threshold, SparseIndex index,
                                        std::string* error) {
  if (!dimsValid(rows, cols, error) || !indexFits(cols, index, error)) return nullptr;
  const size_t count = size_t(rows) * size_t(cols);
  size_t nnz = 0;
  for (size_t e = 0; e < count; e++) {
    if (!std::isfinite(w[e])) {
      fail(error, "values[" + str((long long)e) + "] = " + nonFiniteText(w[e]) + " is not finite");
      return nullptr;
    }
    nnz += std::fabs(w[e]) > threshold;
  }
  if (nnz > size_t(std::numeric_limits<int32_t>::max())) {
    fail(error, "nnz = " + str((long long)nnz) + " exceeds 2147483647");
    return nullptr;
  }
  auto a = std::make_shared<CsrMatrix>(rows, cols, nnz, SparseValues::f32, index);
  int32_t* indptr = a->indptr();
  float* values = static_cast<float*>(a->values());
  size_t j = 0;
  for (int i = 0; i < rows; i++) {
    const float* row = w + size_t(i) * size_t(cols);
    for (int k = 0; k < cols; k++) {
      if (std::fabs(row[k]) > threshold) {
        putColumn(*a, j, uint32_t(k));
        values[j++] = row[k];
      }
    }
    indptr[i + 1] = int32_t(j);
  }
  return a;
}

std::shared_ptr<CsrMatrix> csrFromCoo(int rows, int cols, const int32_t* rowIdx, const int32_t* colIdx,
                                      const float* values, size_t count, SparseIndex index, std::string* error) {
  if (!dimsValid(rows, cols, error) || !indexFits(cols, index, error)) return nullptr;
  for (size_t e = 0; e < count; e++) {
    const std::string at = "[" + str((long long)e) + "] = ";
    if (rowIdx[e] < 0 || rowIdx[e] >= rows) {
      fail(error, "rowIdx" + at + str(rowIdx[e]) + " is out of range [0, rows = " + str(rows) + ")");
      return nullptr;
    }
    if (colIdx[e] < 0 || colIdx[e] >= cols) {
      fail(error, "colIdx" + at + str(colIdx[e]) + " is out of range [0, cols = " + str(cols) + ")");
      return nullptr;
    }
    if (!std::isfinite(values[e])) {
      fail(error, "values" + at + nonFiniteText(values[e]) + " is not finite");
      return nullptr;
    }
  }
  // Triples in (row, column, input) order: a stable counting sort by row, then each row's triples
  // sorted by (column, input position).
  std::vector<size_t> rowStart(size_t(rows) + 1, 0);
  for (size_t e = 0; e < count; e++) rowStart[size_t(rowIdx[e]) + 1]++;
  for (int i = 0; i < rows; i++) rowStart[size_t(i) + 1] += rowStart[size_t(i)];
  std::vector<size_t> order(count);
  {
    std::vector<size_t> fill(rowStart.begin(), rowStart.end() - 1);
    for (size_t e = 0; e < count; e++) order[fill[size_t(rowIdx[e])]++] = e;
  }
  for (int i = 0; i < rows; i++) {
    std::sort(order.begin() + std::ptrdiff_t(rowStart[size_t(i)]), order.begin() + std::ptrdiff_t(rowStart[size_t(i) + 1]),
              [&](size_t p, size_t q) { return colIdx[p] != colIdx[q] ? colIdx[p] < colIdx[q] : p < q; });
  }
  // Merge duplicates, summing in input order; nnz is known only after the merge.
  std::vector<int32_t> indptr(size_t(rows) + 1, 0);
  std::vector<uint32_t> columns;
  std::vector<float> merged;
  columns.reserve(count);
  merged.reserve(count);
  for (int i = 0; i < rows; i++) {
    for (size_t p = rowStart[size_t(i)]; p < rowStart[size_t(i) + 1];) {
      const int32_t column = colIdx[order[p]];
      float sum = values[order[p++]];
      bool duplicated = false;
      for (; p < rowStart[size_t(i) + 1] && colIdx[order[p]] == column; p++) {
        sum += values[order[p]];
        duplicated = true;
      }
      if (duplicated && !std::isfinite(sum)) {
        fail(error, "duplicates at row " + str(i) + ", column " + str(column) + " sum to " + nonFiniteText(sum) +
                        ", which is not finite");
        return nullptr;
      }
      columns.push_back(uint32_t(column));
      merged.push_back(sum);
    }
    if (columns.size() > size_t(std::numeric_limits<int32_t>::max())) {
      fail(error, "nnz = " + str((long long)columns.size()) + " exceeds 2147483647");
      return nullptr;
    }
    indptr[size_t(i) + 1] = int32_t(columns.size());
  }
  auto a = std::make_shared<CsrMatrix>(rows, cols, merged.size(), SparseValues::f32, index);
  std::copy(indptr.begin(), indptr.end(), a->indptr());
  for (size_t j = 0; j < columns.size(); j++) putColumn(*a, j, columns[j]);
  std::copy(merged.begin(), merged.end(), static_cast<float*>(a->values()));
  return a;
}

std::shared_ptr<CsrMatrix> csrFromArrays(int rows, int cols, const int32_t* indptr, size_t indptrLength,
                                         const int32_t* indices, size_t indicesLength, const void* values,
                                         size_t valuesLength, SparseValues valueType, const float* scales,
                                         SparseIndex index, std::string* error) {
  if (!dimsValid(rows, cols, error) || !indexFits(cols, index, error)) return nullptr;
  // docs/sparse.md: f32 values with scales are refused right after rule 1, before the structure.
  if (valueType == SparseValues::f32 && scales) {
    fail(error, "scales is only used with Int8Array values");
    return nullptr;
  }
  if (indptrLength != size_t(rows) + 1) {
    fail(error, "indptr must have rows + 1 = " + str(rows + 1LL) + " entries, received " + str((long long)indptrLength));
    return nullptr;
  }
  if (indptr[0] != 0) {
    fail(error, "indptr[0] must be 0, received " + str(indptr[0]));
    return nullptr;
  }
  for (int i = 1; i <= rows; i++) {
    if (indptr[i] < indptr[i - 1]) {
      fail(error, "indptr must be non-decreasing, but indptr[" + str(i) + "] = " + str(indptr[i]) + " < indptr[" +
                      str(i - 1) + "] = " + str(indptr[i - 1]));
      return nullptr;
    }
  }
  if (size_t(indptr[rows]) != indicesLength) {
    fail(error, "indptr[rows] must equal nnz = indices.length = " + str((long long)indicesLength) +
                    ", received indptr[" + str(rows) + "] = " + str(indptr[rows]));
    return nullptr;
  }
  if (valuesLength != indicesLength) {
    fail(error, "values.length must equal indices.length = " + str((long long)indicesLength) + ", received " +
                    str((long long)valuesLength));
    return nullptr;
  }
  // indptr is now known to run from 0 to nnz without decreasing: every index read below is in bounds.
  for (int i = 0; i < rows; i++) {
    for (int32_t j = indptr[i]; j < indptr[i + 1]; j++) {
      if (indices[j] < 0 || indices[j] >= cols) {
        fail(error, "indices[" + str(j) + "] = " + str(indices[j]) + " is out of range [0, cols = " + str(cols) +
                        ") in row " + str(i));
        return nullptr;
      }
      if (j > indptr[i] && indices[j] <= indices[j - 1]) {
        fail(error, "indices must be strictly increasing within a row, but row " + str(i) + " has indices[" + str(j) +
                        "] = " + str(indices[j]) + " after indices[" + str(j - 1) + "] = " + str(indices[j - 1]));
        return nullptr;
      }
    }
  }
  const size_t nnz = indicesLength;
  if (valueType == SparseValues::f32) {
    const float* v = static_cast<const float*>(values);
    for (size_t j = 0; j < nnz; j++) {
      if (!std::isfinite(v[j])) {
        fail(error, "values[" + str((long long)j) + "] = " + nonFiniteText(v[j]) + " is not finite");
        return nullptr;
      }
    }
  } else {
    // The binding checks the length of scales (it alone knows it); null means none was given.
    if (!scales && rows > 0) {
      fail(error, "scales must have rows = " + str(rows) + " entries, received 0");
      return nullptr;
    }
    for (int i = 0; i < rows; i++) {
      if (!std::isfinite(scales[i])) {
        fail(error, "scales[" + str(i) + "] = " + nonFiniteText(scales[i]) + " is not finite");
        return nullptr;
      }
    }
  }
  auto a = std::make_shared<CsrMatrix>(rows, cols, nnz, valueType, index);
  std::copy(indptr, indptr + rows + 1, a->indptr());
  for (size_t j = 0; j < nnz; j++) putColumn(*a, j, uint32_t(indices[j]));
  if (nnz) std::memcpy(a->values(), values, nnz * valueBytes(valueType));  // values may be null when nnz = 0
  if (valueType == SparseValues::i8) std::copy(scales, scales + rows, a->scales());
  return a;
}

std::shared_ptr<CsrMatrix> csrQuantizeValues(const CsrMatrix& a) {
  const int rows = a.rows();
  auto q = std::make_shared<CsrMatrix>(rows, a.cols(), a.nnz(), SparseValues::i8, a.indexType());
  std::copy(a.indptr(), a.indptr() + rows + 1, q->indptr());
  std::memcpy(q->indices(), a.indices(), a.nnz() * indexBytes(a.indexType()));
  if (a.valueType() == SparseValues::i8) {
    std::memcpy(q->values(), a.values(), a.nnz());
    std::copy(a.scales(), a.scales() + rows, q->scales());
    return q;
  }
  const float* values = static_cast<const float*>(a.values());
  int8_t* codes = static_cast<int8_t*>(q->values());
  for (int i = 0; i < rows; i++) {
    const int32_t begin = a.indptr()[i], end = a.indptr()[i + 1];
    float amax = 0.0f;
    for (int32_t j = begin; j < end; j++) amax = std::max(amax, std::fabs(values[j]));
    float scale = amax / 127.0f;
    if (scale == 0.0f) scale = 1.0f;
    q->scales()[i] = scale;
    for (int32_t j = begin; j < end; j++)
      codes[j] = int8_t(std::min(std::max(roundHalfEven(values[j] / scale), -127.0f), 127.0f));
  }
  return q;
}

std::shared_ptr<CsrMatrix> csrWithIndex(const CsrMatrix& a, SparseIndex index, std::string* error) {
  if (!indexFits(a.cols(), index, error)) return nullptr;
  const int rows = a.rows();
  auto b = std::make_shared<CsrMatrix>(rows, a.cols(), a.nnz(), a.valueType(), index);
  std::copy(a.indptr(), a.indptr() + rows + 1, b->indptr());
  for (size_t j = 0; j < a.nnz(); j++) putColumn(*b, j, a.column(j));
  std::memcpy(b->values(), a.values(), a.nnz() * valueBytes(a.valueType()));
  if (a.valueType() == SparseValues::i8) std::copy(a.scales(), a.scales() + rows, b->scales());
  return b;
}

void csrToDense(const CsrMatrix& a, float* out) {
  const size_t cols = size_t(a.cols());
  std::fill(out, out + size_t(a.rows()) * cols, 0.0f);
  for (int i = 0; i < a.rows(); i++)
    for (int32_t j = a.indptr()[i]; j < a.indptr()[i + 1]; j++)
      out[size_t(i) * cols + a.column(size_t(j))] = a.value(size_t(j), i);
}

// ---- entry points --------------------------------------------------------------------------

void spmv(const CsrMatrix& a, const float* x, float* y) {
  const SpmvFn fn = choose(&SparseKernels::spmv, a, "spmv");
  const CsrView view = a.view();
  forRowRanges(a, 1, [&](int r0, int r1) { fn(view, r0, r1, x, y); });
}

void spmm(const CsrMatrix& a, const float* b, int n, float* c) {
  const SpmmFn fn = choose(&SparseKernels::spmm, a, "spmm");
  if (n <= 0) return;
  const CsrView view = a.view();
  forRowRanges(a, size_t(n), [&](int r0, int r1) { fn(view, r0, r1, b, size_t(n), n, c, size_t(n)); });
}

// For m > 1 each chunk of up to kLinearChunk rows of X is transposed into Xᵀ [K×chunk], multiplied
// by the spmm kernel into C [N×chunk], and each task transposes its own rows of C back into Y,
// adding the bias. Chunks are balanced (m = 65 runs as 33 + 32).
void linearSparse(const float* x, int m, const CsrMatrix& w, const float* bias, float* y) {
  const int n = w.rows(), k = w.cols();
  if (m <= 0) return;
  if (m == 1) {
    spmv(w, x, y);
    if (bias)
      for (int j = 0; j < n; j++) y[j] += bias[j];
    return;
  }
  const SpmmFn fn = choose(&SparseKernels::spmm, w, "spmm");
  if (n == 0) return;
  constexpr int kLinearChunk = 64;
  const int chunks = (m + kLinearChunk - 1) / kLinearChunk;
  const int chunk = (m + chunks - 1) / chunks;
  std::unique_ptr<float[]> xt(new float[size_t(k) * size_t(chunk)]);
  std::unique_ptr<float[]> c(new float[size_t(n) * size_t(chunk)]);
  const CsrView view = w.view();
  for (int i0 = 0; i0 < m; i0 += chunk) {
    const int width = std::min(chunk, m - i0);
    for (int i = 0; i < width; i++) {
      const float* row = x + size_t(i0 + i) * size_t(k);
      for (int p = 0; p < k; p++) xt[size_t(p) * size_t(width) + size_t(i)] = row[p];
    }
    forRowRanges(w, size_t(width), [&](int r0, int r1) {
      fn(view, r0, r1, xt.get(), size_t(width), width, c.get(), size_t(width));
      for (int i = 0; i < width; i++) {
        float* out = y + size_t(i0 + i) * size_t(n);
        for (int j = r0; j < r1; j++) {
          const float sum = c[size_t(j) * size_t(width) + size_t(i)];
          out[j] = bias ? sum + bias[j] : sum;
        }
      }
    });
  }
}

}  // namespace sparq
