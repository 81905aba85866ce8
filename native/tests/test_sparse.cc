// Checks the sparse CSR family: the builders (canonical form, round trips, every rejected rule
// with its exact message from docs/sparse.md, edge shapes), quantizeValues against the formula
// written out here, and every sparse kernel built for this architecture and runnable on this CPU
// against the scalar kernels and a double-precision sum within the docs/sparse.md bound, with
// nothing written outside the output; plus the results that must be bit-identical (row splits,
// thread counts, C[i][t] for every n). Run natively, under sanitizers and under qemu.
// `--quick` shrinks the grid. Exit code = number of failures (capped at 255).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "sparq/runtime.h"
#include "sparq/sparse.h"

#include "check.h"

using namespace sparq;
using namespace sparq::check;

namespace {

std::mt19937 rng(20261207);
constexpr float kCanary = -12345.0f;
const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

const char* valueName(SparseValues v) { return v == SparseValues::i8 ? "i8" : "f32"; }
const char* indexName(SparseIndex i) { return i == SparseIndex::u16 ? "u16" : "u32"; }

// ---- Builders ----

void expectError(const std::string& what, const std::shared_ptr<CsrMatrix>& got, const std::string& error,
                 const std::string& want) {
  if (got) fail(what + ": built a matrix, expected the error \"" + want + "\"");
  else if (error != want) fail(what + ": error \"" + error + "\", expected \"" + want + "\"");
}

std::shared_ptr<CsrMatrix> arrays(int rows, int cols, std::vector<int32_t> indptr, std::vector<int32_t> indices,
                                  std::vector<float> values, std::string* error, SparseIndex index = SparseIndex::u32) {
  return csrFromArrays(rows, cols, indptr.data(), indptr.size(), indices.data(), indices.size(), values.data(),
                       values.size(), SparseValues::f32, nullptr, index, error);
}

void checkArraysRules() {
  std::string e;
  // 1. index width
  expectError("u16 cols", arrays(1, 65537, {0, 0}, {}, {}, &e, SparseIndex::u16), e,
              "indexBits 16 needs cols ≤ 65536, received cols = 65537");
  // 2. indptr length
  expectError("indptr length", arrays(3, 4, {0, 1, 1}, {0}, {1}, &e), e,
              "indptr must have rows + 1 = 4 entries, received 3");
  // 3. indptr[0]
  expectError("indptr[0]", arrays(2, 4, {1, 1, 1}, {0}, {1}, &e), e, "indptr[0] must be 0, received 1");
  // 4. monotonic (the first decrease), before the count is compared
  expectError("indptr decreasing", arrays(3, 4, {0, 2, 1, 9}, {0, 1}, {1, 2}, &e), e,
              "indptr must be non-decreasing, but indptr[2] = 1 < indptr[1] = 2");
  expectError("indptr negative", arrays(2, 4, {0, -1, 0}, {}, {}, &e), e,
              "indptr must be non-decreasing, but indptr[1] = -1 < indptr[0] = 0");
  // 5. end = nnz
  expectError("indptr end", arrays(2, 4, {0, 1, 3}, {0, 1}, {1, 2}, &e), e,
              "indptr[rows] must equal nnz = indices.length = 2, received indptr[2] = 3");
  // 6. values length
  expectError("values length", arrays(1, 4, {0, 2}, {0, 1}, {1}, &e), e,
              "values.length must equal indices.length = 2, received 1");
  // 7. per entry: range, then order, the first entry that breaks either
  expectError("column negative", arrays(2, 4, {0, 1, 2}, {0, -1}, {1, 2}, &e), e,
              "indices[1] = -1 is out of range [0, cols = 4) in row 1");
  expectError("column too big", arrays(2, 4, {0, 1, 2}, {4, 0}, {1, 2}, &e), e,
              "indices[0] = 4 is out of range [0, cols = 4) in row 0");
  expectError("columns repeated", arrays(2, 4, {0, 1, 3}, {3, 2, 2}, {1, 2, 3}, &e), e,
              "indices must be strictly increasing within a row, but row 1 has indices[2] = 2 after indices[1] = 2");
  expectError("columns decreasing before a later range error", arrays(1, 4, {0, 3}, {2, 1, 9}, {1, 2, 3}, &e), e,
              "indices must be strictly increasing within a row, but row 0 has indices[1] = 1 after indices[0] = 2");
  expectError("range error before a later order error", arrays(1, 4, {0, 3}, {2, 7, 1}, {1, 2, 3}, &e), e,
              "indices[1] = 7 is out of range [0, cols = 4) in row 0");
  // 8. values finite, after the structure
  expectError("NaN value", arrays(1, 4, {0, 2}, {0, 1}, {1, kNaN}, &e), e, "values[1] = NaN is not finite");
  expectError("Inf value", arrays(1, 4, {0, 2}, {0, 1}, {kInf, 1}, &e), e, "values[0] = Infinity is not finite");
  expectError("-Inf value after an order error", arrays(1, 4, {0, 2}, {1, 0}, {-kInf, 1}, &e), e,
              "indices must be strictly increasing within a row, but row 0 has indices[1] = 0 after indices[0] = 1");
  // 9. scales
  {
    std::vector<int32_t> indptr{0, 1, 2}, indices{0, 3};
    std::vector<int8_t> codes{5, -7};
    std::vector<float> scales{0.5f, -kInf};
    auto a = csrFromArrays(2, 4, indptr.data(), 3, indices.data(), 2, codes.data(), 2, SparseValues::i8, scales.data(),
                           SparseIndex::u32, &e);
    expectError("scale -Inf", a, e, "scales[1] = -Infinity is not finite");
    a = csrFromArrays(2, 4, indptr.data(), 3, indices.data(), 2, codes.data(), 2, SparseValues::i8, nullptr,
                      SparseIndex::u32, &e);
    expectError("no scales", a, e, "scales must have rows = 2 entries, received 0");
    std::vector<float> values{1, 2};
    a = csrFromArrays(2, 4, indptr.data(), 3, indices.data(), 2, values.data(), 2, SparseValues::f32, scales.data(),
                      SparseIndex::u32, &e);
    expectError("scales with f32", a, e, "scales is only used with Int8Array values");
    // Refused right after rule 1, before any rule of the structure.
    std::vector<int32_t> badIndptr{1, 0};
    a = csrFromArrays(2, 4, badIndptr.data(), 2, indices.data(), 2, values.data(), 2, SparseValues::f32, scales.data(),
                      SparseIndex::u32, &e);
    expectError("scales with f32 before the structure", a, e, "scales is only used with Int8Array values");
    a = csrFromArrays(2, 70000, badIndptr.data(), 2, indices.data(), 2, values.data(), 2, SparseValues::f32,
                      scales.data(), SparseIndex::u16, &e);
    expectError("index width before scales with f32", a, e, "indexBits 16 needs cols ≤ 65536, received cols = 70000");
    scales[1] = 2.0f;
    a = csrFromArrays(2, 4, indptr.data(), 3, indices.data(), 2, codes.data(), 2, SparseValues::i8, scales.data(),
                      SparseIndex::u16, &e);
    if (!a || a->value(1, 1) != -14.0f || a->column(1) != 3 || a->scales()[0] != 0.5f) fail("fromArrays int8 u16");
  }
  // Valid edge shapes.
  e.clear();
  auto a = arrays(0, 0, {0}, {}, {}, &e);
  if (!a || a->rows() != 0 || a->nnz() != 0) fail("fromArrays 0×0: " + e);
  a = arrays(3, 0, {0, 0, 0, 0}, {}, {}, &e);
  if (!a || a->rows() != 3 || a->cols() != 0) fail("fromArrays 3×0: " + e);
  a = arrays(1, 65536, {0, 2}, {0, 65535}, {1, -2}, &e, SparseIndex::u16);
  if (!a || a->column(1) != 65535 || a->value(1, 0) != -2.0f) fail("fromArrays cols = 65536 u16: " + e);
  a = arrays(1, 1, {0, 1}, {0}, {0.0f}, &e);
  if (!a || a->nnz() != 1) fail("fromArrays keeps an explicit zero");
}

void checkCoo() {
  std::string e;
  // Unsorted, with duplicates (summed in input order) and explicit zeros (given and summed).
  const std::vector<int32_t> r{2, 0, 2, 0, 1, 2, 0, 3, 0};
  const std::vector<int32_t> c{1, 3, 0, 3, 2, 1, 0, 4, 3};
  const std::vector<float> v{1.5f, 1e8f, 0.0f, 1.0f, -2.0f, -1.5f, 7.0f, 3.0f, -1e8f};
  for (SparseIndex index : {SparseIndex::u32, SparseIndex::u16}) {
    auto a = csrFromCoo(5, 5, r.data(), c.data(), v.data(), r.size(), index, &e);
    // Row 0: (0,0)=7, (0,3) = (1e8 + 1) − 1e8 in f32 = 0 (1e8 + 1 rounds to 1e8), kept.
    // Row 1: (1,2) = −2. Row 2: (2,0) = 0 kept, (2,1) = 1.5 − 1.5 = 0 kept. Row 3: (3,4) = 3. Row 4 empty.
    const std::vector<int32_t> indptr{0, 2, 3, 5, 6, 6};
    const std::vector<uint32_t> columns{0, 3, 2, 0, 1, 4};
    const std::vector<float> values{7.0f, 0.0f, -2.0f, 0.0f, 0.0f, 3.0f};
    if (!a) {
      fail("fromCoo: " + e);
      continue;
    }
    bool ok = a->nnz() == 6 && std::equal(indptr.begin(), indptr.end(), a->indptr());
    for (size_t j = 0; ok && j < 6; j++) ok = a->column(j) == columns[j] && sameBits(a->value(j, 0), values[j]);
    if (!ok) fail(std::string("fromCoo canonical form ") + indexName(index));
  }
  // Summation order is input order: 1e8, 1, −1e8 gives 0 but −1e8, 1e8, 1 gives 1.
  {
    const std::vector<int32_t> rr{0, 0, 0}, cc{2, 2, 2};
    const std::vector<float> vv{-1e8f, 1e8f, 1.0f};
    auto a = csrFromCoo(1, 3, rr.data(), cc.data(), vv.data(), 3, SparseIndex::u32, &e);
    if (!a || a->nnz() != 1 || a->value(0, 0) != 1.0f) fail("fromCoo sums duplicates in input order");
  }
  auto coo = [&](int rows, int cols, std::vector<int32_t> rr, std::vector<int32_t> cc, std::vector<float> vv,
                 SparseIndex index = SparseIndex::u32) {
    return csrFromCoo(rows, cols, rr.data(), cc.data(), vv.data(), rr.size(), index, &e);
  };
  expectError("coo u16", coo(1, 70000, {}, {}, {}, SparseIndex::u16), e,
              "indexBits 16 needs cols ≤ 65536, received cols = 70000");
  expectError("coo row", coo(2, 2, {0, 2}, {0, 5}, {1, 1}), e, "rowIdx[1] = 2 is out of range [0, rows = 2)");
  expectError("coo row negative", coo(2, 2, {-3}, {0}, {1}), e, "rowIdx[0] = -3 is out of range [0, rows = 2)");
  expectError("coo col", coo(2, 2, {0, 1}, {0, 2}, {1, kNaN}), e, "colIdx[1] = 2 is out of range [0, cols = 2)");
  expectError("coo value", coo(2, 2, {0, 1, 1}, {0, 1, 9}, {1, -kInf, 1}), e, "values[1] = -Infinity is not finite");
  // Overflowing sums, reported in (row, column) order whatever the input order.
  expectError("coo duplicate sum", coo(3, 3, {2, 2, 1, 1, 0}, {2, 2, 0, 0, 1}, {3e38f, 3e38f, -3e38f, -3e38f, 1}), e,
              "duplicates at row 1, column 0 sum to -Infinity, which is not finite");
  // Empty input, zero shapes.
  auto a = coo(0, 0, {}, {}, {});
  if (!a || a->rows() != 0) fail("fromCoo 0×0");
  a = coo(4, 3, {}, {}, {});
  if (!a || a->nnz() != 0 || a->indptr()[4] != 0) fail("fromCoo nnz 0");
}

void checkDense() {
  std::string e;
  // Round trips over shapes with empty rows, a full row, signed zeros and a threshold.
  for (auto [rows, cols] : {std::pair{1, 1}, {4, 7}, {9, 33}, {17, 100}}) {
    std::vector<float> w(size_t(rows) * size_t(cols));
    std::uniform_int_distribution<int> pick(0, 5);
    for (auto& v : w) {
      const int k = pick(rng);
      v = k == 0 ? -0.0f : k <= 2 ? 0.0f : float(int(rng() % 2001) - 1000) / 64.0f;
    }
    for (int c = 0; c < cols; c++) w[size_t(rows - 1) * size_t(cols) + size_t(c)] = float(c + 1);  // a dense row
    if (rows > 2)
      for (int c = 0; c < cols; c++) w[size_t(cols) + size_t(c)] = 0.0f;  // an empty row
    for (SparseIndex index : {SparseIndex::u32, SparseIndex::u16}) {
      for (float threshold : {0.0f, 2.0f}) {
        auto a = csrFromDense(w.data(), rows, cols, threshold, index, &e);
        if (!a) {
          fail("fromDense: " + e);
          continue;
        }
        std::vector<float> back(w.size(), kCanary);
        csrToDense(*a, back.data());
        size_t kept = 0;
        bool ok = true;
        for (size_t i = 0; i < w.size(); i++) {
          const bool keep = std::fabs(w[i]) > threshold;
          kept += keep;
          ok &= sameBits(back[i], keep ? w[i] : 0.0f);
        }
        if (!ok || kept != a->nnz()) fail("fromDense → toDense round trip " + std::to_string(rows) + "×" + std::to_string(cols));
        // Through the other builders: the same matrix.
        std::vector<int32_t> indptr(a->indptr(), a->indptr() + rows + 1), indices(a->nnz());
        for (size_t j = 0; j < a->nnz(); j++) indices[j] = int32_t(a->column(j));
        std::vector<float> values(static_cast<const float*>(a->values()), static_cast<const float*>(a->values()) + a->nnz());
        auto b = arrays(rows, cols, indptr, indices, values, &e, index);
        auto other = csrWithIndex(*a, index == SparseIndex::u16 ? SparseIndex::u32 : SparseIndex::u16, &e);
        for (const auto& m : {b, other}) {
          std::vector<float> again(w.size());
          if (!m) {
            fail("fromArrays / withIndex of a valid matrix: " + e);
            continue;
          }
          csrToDense(*m, again.data());
          if (std::memcmp(again.data(), back.data(), w.size() * 4) != 0) fail("fromArrays / withIndex round trip");
        }
      }
    }
  }
  std::vector<float> w{1, 2, kNaN, kInf};
  expectError("dense NaN", csrFromDense(w.data(), 2, 2, 0.0f, SparseIndex::u32, &e), e, "values[2] = NaN is not finite");
  w[2] = 0;
  expectError("dense Inf", csrFromDense(w.data(), 2, 2, 0.0f, SparseIndex::u32, &e), e,
              "values[3] = Infinity is not finite");
  expectError("dense u16", csrFromDense(w.data(), 0, 65537, 0.0f, SparseIndex::u16, &e), e,
              "indexBits 16 needs cols ≤ 65536, received cols = 65537");
  auto a = csrFromDense(w.data(), 0, 5, 0.0f, SparseIndex::u32, &e);
  if (!a || a->rows() != 0 || a->bytes() != 4) fail("fromDense 0×5");
  auto big = csrFromDense(w.data(), 1, 2, 0.0f, SparseIndex::u32, &e);
  expectError("withIndex u16", csrWithIndex(*arrays(1, 65537, {0, 0}, {}, {}, &e), SparseIndex::u16, &e), e,
              "indexBits 16 needs cols ≤ 65536, received cols = 65537");
  if (!big || big->bytes() != 8 + 8 + 8) fail("bytes() of a 1×2 f32 u32 matrix");
}

// Round half to even written out with floor, independent of the library's nearbyint.
float halfEven(float x) {
  const float lo = std::floor(x), diff = x - lo;
  if (diff > 0.5f) return lo + 1.0f;
  if (diff < 0.5f) return lo;
  return std::fmod(lo, 2.0f) == 0.0f ? lo : lo + 1.0f;
}

void checkQuantizeValues() {
  std::string e;
  // Rows: random, exact ties of v/scale (scale 1, values k + 0.5), all zero, empty, one value, ±amax.
  const int rows = 7, cols = 300;
  std::vector<int32_t> indptr{0};
  std::vector<int32_t> indices;
  std::vector<float> values;
  auto addRow = [&](const std::vector<float>& v) {
    for (size_t j = 0; j < v.size(); j++) {
      indices.push_back(int32_t(j * 2));
      values.push_back(v[j]);
    }
    indptr.push_back(int32_t(indices.size()));
  };
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> v(140);
  for (auto& x : v) x = normal(rng);
  addRow(v);
  for (size_t j = 0; j < v.size(); j++) v[j] = j == 0 ? 127.0f : float(int(j % 254) - 127) + 0.5f;
  addRow(v);
  addRow(std::vector<float>(9, 0.0f));
  addRow({});
  addRow({-3e-30f});
  addRow({5.0f, -5.0f, 2.5f, 1e-7f});
  for (size_t j = 0; j < v.size(); j++) v[j] = float(j) / 139.0f * (j % 2 ? -1.0f : 1.0f) * 1e3f;
  addRow(v);
  for (SparseIndex index : {SparseIndex::u32, SparseIndex::u16}) {
    auto a = arrays(rows, cols, indptr, indices, values, &e, index);
    if (!a) {
      fail("quantizeValues input: " + e);
      return;
    }
    auto q = csrQuantizeValues(*a);
    bool ok = q->valueType() == SparseValues::i8 && q->indexType() == index && q->nnz() == a->nnz();
    const int8_t* codes = static_cast<const int8_t*>(q->values());
    for (int i = 0; ok && i < rows; i++) {
      float amax = 0;
      for (int32_t j = indptr[size_t(i)]; j < indptr[size_t(i) + 1]; j++) amax = std::max(amax, std::fabs(values[size_t(j)]));
      const float scale = amax == 0.0f ? 1.0f : amax / 127.0f;
      ok &= sameBits(q->scales()[i], scale) && q->indptr()[i + 1] == indptr[size_t(i) + 1];
      for (int32_t j = indptr[size_t(i)]; ok && j < indptr[size_t(i) + 1]; j++) {
        const float want = std::min(127.0f, std::max(-127.0f, halfEven(values[size_t(j)] / scale)));
        ok &= float(codes[j]) == want && q->column(size_t(j)) == a->column(size_t(j));
      }
    }
    if (!ok) fail(std::string("quantizeValues codes/scales ") + indexName(index));
    auto again = csrQuantizeValues(*q);  // an int8 matrix is copied as it is
    if (std::memcmp(again->values(), q->values(), q->nnz()) != 0 ||
        std::memcmp(again->scales(), q->scales(), rows * 4) != 0)
      fail("quantizeValues of an int8 matrix");
  }
  // The ties: row 1 has scale 1, so code = halfEven(k + 0.5), e.g. 0.5 → 0, 1.5 → 2, −0.5 → −0, −1.5 → −2.
  auto a = arrays(1, 8, {0, 5}, {0, 1, 2, 3, 4}, {127.0f, 0.5f, 1.5f, -0.5f, -1.5f}, &e);
  auto q = csrQuantizeValues(*a);
  const int8_t* codes = static_cast<const int8_t*>(q->values());
  if (codes[0] != 127 || codes[1] != 0 || codes[2] != 2 || codes[3] != 0 || codes[4] != -2) fail("quantizeValues ties");
}

// ---- Kernels ----

// A random matrix: per-row entry counts from a skewed mix (empty, short, ~density·cols, full), or
// uniform at `density`; values normal with a few explicit zeros.
std::shared_ptr<CsrMatrix> randomMatrix(int rows, int cols, double density, bool skewed, SparseValues valueType,
                                        SparseIndex index) {
  std::vector<int32_t> indptr{0}, indices;
  std::vector<float> values;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<int32_t> all(static_cast<size_t>(cols));
  for (int c = 0; c < cols; c++) all[size_t(c)] = c;
  for (int i = 0; i < rows; i++) {
    int count;
    if (skewed) {
      const int kind = int(rng() % 6);
      count = kind == 0 ? 0 : kind == 1 ? int(rng() % 4) : kind == 5 ? cols : int(rng() % (size_t(cols) + 1));
    } else {
      count = 0;
      for (int c = 0; c < cols; c++) count += (rng() % 1000) < density * 1000;
    }
    // The first `count` of a partial shuffle, sorted.
    for (int k = 0; k < count; k++) std::swap(all[size_t(k)], all[size_t(k) + rng() % size_t(cols - k)]);
    std::vector<int32_t> row(all.begin(), all.begin() + count);
    std::sort(row.begin(), row.end());
    for (int32_t c : row) {
      indices.push_back(c);
      values.push_back(rng() % 17 == 0 ? 0.0f : normal(rng));
    }
    indptr.push_back(int32_t(indices.size()));
  }
  std::string e;
  auto a = csrFromArrays(rows, cols, indptr.data(), indptr.size(), indices.data(), indices.size(), values.data(),
                         values.size(), SparseValues::f32, nullptr, index, &e);
  if (!a) {
    fail("randomMatrix: " + e);
    return nullptr;
  }
  return valueType == SparseValues::i8 ? csrQuantizeValues(*a) : a;
}

// |Σ terms| bound of docs/sparse.md for output (i, t): 2·(e + 2)·2⁻²⁴·(Σ|v·b| + |bias|), and the exact sum.
struct Exact {
  double sum, bound;
};
Exact exact(const CsrMatrix& a, int i, const float* b, size_t ldb, int t, float bias) {
  double sum = 0, abs = std::fabs(double(bias));
  const int32_t* indptr = a.indptr();
  for (int32_t j = indptr[i]; j < indptr[i + 1]; j++) {
    const double term = double(a.value(size_t(j), i)) * double(b[size_t(a.column(size_t(j))) * ldb + size_t(t)]);
    sum += term;
    abs += std::fabs(term);
  }
  const double entries = double(indptr[i + 1] - indptr[i]);
  return {sum + double(bias), 2.0 * (entries + 2.0) * std::ldexp(1.0, -24) * abs};
}

bool within(float got, const Exact& want) {
  if (std::isnan(got) || std::isinf(got)) return false;
  return std::fabs(double(got) - want.sum) <= want.bound;
}

std::string describe(const SparseKernels& t, const CsrMatrix& a, const std::string& op) {
  return std::string(t.tier) + " " + op + " " + valueName(a.valueType()) + "/" + indexName(a.indexType()) + " " +
         std::to_string(a.rows()) + "×" + std::to_string(a.cols()) + " nnz=" + std::to_string(a.nnz());
}

std::vector<float> randomVector(size_t n) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

void checkSpmv(const SparseKernels& t, const CsrMatrix& a) {
  const int v = int(a.valueType()), ix = int(a.indexType());
  const SpmvFn fn = t.spmv[v][ix] ? t.spmv[v][ix] : sparse__scalar.spmv[v][ix];
  const std::string where = describe(t, a, "spmv");
  const std::vector<float> x = randomVector(size_t(a.cols()));
  const int rows = a.rows();
  std::vector<float> want(static_cast<size_t>(rows)), got(static_cast<size_t>(rows) + 16, kCanary), split(static_cast<size_t>(rows), kCanary);
  sparse__scalar.spmv[v][ix](a.view(), 0, rows, x.data(), want.data());
  fn(a.view(), 0, rows, x.data(), got.data() + 8);
  for (int r = 0; r < rows;) {  // random row ranges: the same bits
    const int r1 = std::min(rows, r + 1 + int(rng() % 5));
    fn(a.view(), r, r1, x.data(), split.data());
    r = r1;
  }
  for (int k = 0; k < 8; k++)
    if (got[size_t(k)] != kCanary || got[size_t(rows) + 8 + size_t(k)] != kCanary) return fail(where + ": wrote outside y");
  for (int i = 0; i < rows; i++) {
    const Exact e = exact(a, i, x.data(), 1, 0, 0.0f);
    const float y = got[size_t(i) + 8];
    if (!within(y, e) || !within(want[size_t(i)], e))
      return fail(where + " row " + std::to_string(i) + ": got " + std::to_string(y) + " scalar " +
                  std::to_string(want[size_t(i)]) + " exact " + std::to_string(e.sum));
    if (!sameBits(y, split[size_t(i)])) return fail(where + ": row split changed row " + std::to_string(i));
    if (a.indptr()[i] == a.indptr()[i + 1] && !sameBits(y, 0.0f)) return fail(where + ": empty row is not +0");
  }
}

void checkSpmm(const SparseKernels& t, const CsrMatrix& a, const std::vector<int>& ns) {
  const int v = int(a.valueType()), ix = int(a.indexType());
  const SpmmFn fn = t.spmm[v][ix] ? t.spmm[v][ix] : sparse__scalar.spmm[v][ix];
  const int rows = a.rows();
  const int nMax = *std::max_element(ns.begin(), ns.end());
  const size_t ldb = size_t(nMax) + 3;
  const std::vector<float> b = randomVector(size_t(a.cols()) * ldb + 1);
  std::vector<float> widest;  // C of the largest n: every narrower n must give the same bits
  for (auto it = ns.rbegin(); it != ns.rend(); ++it) {
    const int n = *it;
    const std::string where = describe(t, a, "spmm") + " n=" + std::to_string(n);
    const size_t ldc = size_t(n) + 5;
    std::vector<float> want(size_t(rows) * size_t(n)), got(size_t(rows) * ldc + 16, kCanary);
    sparse__scalar.spmm[v][ix](a.view(), 0, rows, b.data() + 1, ldb, n, want.data(), size_t(n));
    // Rows split in two calls.
    const int mid = rows / 3;
    fn(a.view(), 0, mid, b.data() + 1, ldb, n, got.data() + 8, ldc);
    fn(a.view(), mid, rows, b.data() + 1, ldb, n, got.data() + 8, ldc);
    if (widest.empty()) widest.assign(got.begin() + 8, got.end() - 8);
    for (int k = 0; k < 8; k++)
      if (got[size_t(k)] != kCanary || got[got.size() - 1 - size_t(k)] != kCanary) return fail(where + ": wrote outside C");
    const size_t ldw = size_t(nMax) + 5;
    for (int i = 0; i < rows; i++) {
      for (size_t tt = size_t(n); tt < ldc; tt++)
        if (got[8 + size_t(i) * ldc + tt] != kCanary) return fail(where + ": wrote into C's row padding");
      for (int col = 0; col < n; col++) {
        const float c = got[8 + size_t(i) * ldc + size_t(col)];
        const Exact e = exact(a, i, b.data() + 1, ldb, col, 0.0f);
        if (!within(c, e) || !within(want[size_t(i) * size_t(n) + size_t(col)], e))
          return fail(where + " C[" + std::to_string(i) + "][" + std::to_string(col) + "]: got " + std::to_string(c) +
                      " exact " + std::to_string(e.sum));
        if (!sameBits(c, widest[size_t(i) * ldw + size_t(col)])) return fail(where + ": C[i][t] depends on n");
      }
    }
  }
}

// Inf in x where no entry looks, and an explicit zero looking at Inf, through every tail length.
void checkNonFinite(const SparseKernels& t, SparseValues valueType, SparseIndex index) {
  const int v = int(valueType), ix = int(index);
  const SpmvFn spmvFn = t.spmv[v][ix] ? t.spmv[v][ix] : sparse__scalar.spmv[v][ix];
  const SpmmFn spmmFn = t.spmm[v][ix] ? t.spmm[v][ix] : sparse__scalar.spmm[v][ix];
  const int cols = 80;
  for (int len = 1; len <= 40; len++) {
    // Row 0: `len` entries at even columns (one of them an explicit zero); row 1: odd columns.
    std::vector<int32_t> indptr{0, len, 2 * len}, indices;
    std::vector<float> values;
    for (int r = 0; r < 2; r++)
      for (int k = 0; k < len; k++) {
        indices.push_back(2 * k + r);
        values.push_back(k == len / 2 ? 0.0f : 1.0f + float(k));
      }
    std::string e;
    auto a = csrFromArrays(2, cols, indptr.data(), 3, indices.data(), indices.size(), values.data(), values.size(),
                           SparseValues::f32, nullptr, index, &e);
    if (valueType == SparseValues::i8) a = csrQuantizeValues(*a);
    std::vector<float> x(cols, 1.0f);
    for (int c = 1; c < cols; c += 2) x[size_t(c)] = kInf;  // row 1's columns: its zero times Inf is NaN
    std::vector<float> y(2), c(2 * 3);
    spmvFn(a->view(), 0, 2, x.data(), y.data());
    spmmFn(a->view(), 0, 2, x.data(), 1, 1, c.data(), 3);
    const std::string where = std::string(t.tier) + " " + valueName(valueType) + "/" + indexName(index) +
                              " len=" + std::to_string(len);
    if (!std::isfinite(y[0]) || !std::isfinite(c[0])) fail(where + ": an Inf that no entry reads leaked in");
    if (!std::isnan(y[1]) || !std::isnan(c[3])) fail(where + ": 0·Inf did not give NaN");
  }
}

// The entry points: the tier really ran, threads 1 and 2 agree bit for bit, linearSparse within the bound.
void checkEntryPoints(Tier tier, const SparseKernels& t, const CsrMatrix& w) {
  const std::string name = std::string("_csr_") + valueName(w.valueType()) + "_" + indexName(w.indexType()) + "__" +
                           (t.spmv[int(w.valueType())][int(w.indexType())] ? t.tier : "scalar");
  const int outs = w.rows();
  const size_t k = size_t(w.cols());
  const std::vector<float> bias = randomVector(size_t(outs));
  for (int m : {1, 2, 7, 8, 9, 65}) {
    if (quick && (m == 7 || m == 9)) continue;
    const std::vector<float> x = randomVector(size_t(m) * k);
    for (int withBias = 0; withBias < 2; withBias++) {
      const std::string where = describe(t, w, "linearSparse") + " m=" + std::to_string(m) + (withBias ? " bias" : "");
      std::vector<float> y1(size_t(m) * size_t(outs) + 8, kCanary), y2 = y1;
      setThreads(1);
      linearSparse(x.data(), m, w, withBias ? bias.data() : nullptr, y1.data());
      if (lastSparseKernel() != (m == 1 ? "spmv" : "spmm") + name) fail(where + ": ran " + lastSparseKernel());
      setThreads(2);
      linearSparse(x.data(), m, w, withBias ? bias.data() : nullptr, y2.data());
      if (std::memcmp(y1.data(), y2.data(), y1.size() * 4) != 0) fail(where + ": threads 1 and 2 differ");
      for (size_t g = y1.size() - 8; g < y1.size(); g++)
        if (y1[g] != kCanary) fail(where + ": wrote outside Y");
      for (int i = 0; i < m; i++)
        for (int j = 0; j < outs; j++) {
          // Row j of W against row i of X: X's row is B with ldb = 1 column... use its transpose view.
          std::vector<float> column(x.begin() + std::ptrdiff_t(size_t(i) * k), x.begin() + std::ptrdiff_t(size_t(i + 1) * k));
          const Exact e = exact(w, j, column.data(), 1, 0, withBias ? bias[size_t(j)] : 0.0f);
          const float got = y1[size_t(i) * size_t(outs) + size_t(j)];
          if (!within(got, e)) {
            fail(where + " Y[" + std::to_string(i) + "][" + std::to_string(j) + "] = " + std::to_string(got) +
                 " exact " + std::to_string(e.sum));
            i = m;
            break;
          }
        }
    }
  }
  // spmv / spmm entry points: names and thread independence.
  const std::vector<float> b = randomVector(k * 33);
  std::vector<float> c1(static_cast<size_t>(outs) * 33), c2(c1.size());
  for (int threadsUsed : {1, 2}) {
    setThreads(threadsUsed);
    spmm(w, b.data(), 33, threadsUsed == 1 ? c1.data() : c2.data());
    if (lastSparseKernel() != "spmm" + name) fail(describe(t, w, "spmm entry") + ": ran " + lastSparseKernel());
  }
  if (std::memcmp(c1.data(), c2.data(), c1.size() * 4) != 0) fail(describe(t, w, "spmm entry") + ": threads differ");
  std::vector<float> y1(static_cast<size_t>(outs)), y2(static_cast<size_t>(outs));
  setThreads(1);
  spmv(w, b.data(), y1.data());
  setThreads(2);
  spmv(w, b.data(), y2.data());
  if (lastSparseKernel() != "spmv" + name) fail(describe(t, w, "spmv entry") + ": ran " + lastSparseKernel());
  if (std::memcmp(y1.data(), y2.data(), y1.size() * 4) != 0) fail(describe(t, w, "spmv entry") + ": threads differ");
  if (activeTier() != tier) fail(std::string("active tier is ") + tierName(activeTier()) + ", wanted " + tierName(tier));
}

// The kernel grid runs once per distinct table (avx512vnni shares avx512's, neondot and i8mm share
// neon's); the entry points run on every tier, since they must report it.
void checkTier(Tier tier, bool kernelGrid) {
  const SparseKernels& t = sparseKernels();
  std::vector<int> ns;
  for (int n = 1; n <= 17; n++) ns.push_back(n);
  for (int n : {31, 32, 33, 63, 64, 65, 100}) ns.push_back(n);
  if (quick) ns = {1, 2, 3, 7, 8, 9, 16, 17, 33, 65};
  struct Case {
    int rows, cols;
    double density;
    bool skewed;
  };
  std::vector<Case> cases = {{1, 1, 1.0, false},  {5, 3, 0.5, false},   {17, 33, 0.3, false}, {33, 100, 0.1, true},
                             {64, 257, 0.05, true}, {3, 1000, 0.9, false}, {40, 65536, 0.002, false}};
  if (!quick) cases.push_back({130, 700, 0.2, true});
  if (!kernelGrid) cases.clear();
  for (SparseValues valueType : {SparseValues::f32, SparseValues::i8}) {
    for (SparseIndex index : {SparseIndex::u32, SparseIndex::u16}) {
      for (const Case& c : cases) {
        auto a = randomMatrix(c.rows, c.cols, c.density, c.skewed, valueType, index);
        if (!a) continue;
        checkSpmv(t, *a);
        std::vector<int> few = ns;
        if (c.cols >= 1000) few = quick && c.cols > 4096 ? std::vector<int>{1, 8} : std::vector<int>{1, 8, 17, 65};
        checkSpmm(t, *a, few);
      }
      if (kernelGrid) checkNonFinite(t, valueType, index);
      // Entry points on a matrix big enough to go to the pool, and a small one.
      auto big = randomMatrix(quick ? 300 : 700, 500, 0.1, true, valueType, index);
      if (big) checkEntryPoints(tier, t, *big);
      auto small = randomMatrix(9, 21, 0.4, false, valueType, index);
      if (small) checkEntryPoints(tier, t, *small);
    }
  }
  // nnz = 0 and rows = 0 through the entry points.
  std::string e;
  std::vector<int32_t> indptr(5, 0);
  auto empty = csrFromArrays(4, 6, indptr.data(), 5, nullptr, 0, nullptr, 0, SparseValues::f32, nullptr,
                             SparseIndex::u32, &e);
  std::vector<float> x(6 * 3, 1.0f), y(12, kCanary);
  spmv(*empty, x.data(), y.data());
  spmm(*empty, x.data(), 3, y.data());
  linearSparse(x.data(), 3, *empty, nullptr, y.data());
  for (float v : y)
    if (!sameBits(v, 0.0f)) fail(std::string(t.tier) + ": nnz = 0 did not give +0");
  auto none = csrFromArrays(0, 6, indptr.data(), 1, nullptr, 0, nullptr, 0, SparseValues::f32, nullptr,
                            SparseIndex::u32, &e);
  spmv(*none, x.data(), nullptr);
  linearSparse(x.data(), 3, *none, nullptr, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  parseArgs(argc, argv);
  checkArraysRules();
  checkCoo();
  checkDense();
  checkQuantizeValues();
  const int savedThreads = threads();
  std::set<const SparseKernels*> checked;
  for (Tier tier : cpuInfo().supported) {
    if (!setTierCap(tier)) {
      fail(std::string("setTierCap ") + tierName(tier));
      continue;
    }
    const bool kernelGrid = checked.insert(&sparseKernels()).second;
    std::printf("tier %s: sparse kernels %s%s\n", tierName(tier), sparseKernels().tier,
                kernelGrid ? "" : " (kernel grid already run; entry points only)");
    checkTier(tier, kernelGrid);
  }
  clearTierCap();
  setThreads(savedThreads);
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "ok", failures);
  return failures > 255 ? 255 : failures;
}
