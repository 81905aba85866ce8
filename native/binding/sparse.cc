// Node-API glue of the sparse family: argument re-checks, the native-owned CsrMatrix and its
// builders, and spmv / spmm / linearSparse (sync and async).
#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "args.h"
#include "handles.h"
#include "binding.h"
#include "sparq/sparse.h"

namespace sparq::binding {

namespace {

constexpr int64_t kMaxDim = 0x7fffffff;

std::shared_ptr<CsrMatrix> matrix(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  return unwrap<CsrMatrix>(info, i, fn, name, "CsrMatrix");
}

Napi::Value wrapMatrix(Napi::Env env, std::shared_ptr<CsrMatrix> a) {
  return wrap(env, std::move(a), "CsrMatrix");
}

// A builder's result, or its broken rule as `<fn>: <rule>`.
Napi::Value built(Napi::Env env, const char* fn, std::shared_ptr<CsrMatrix> a, const std::string& error) {
  if (!a) throwRange(env, std::string(fn) + ": " + error);
  return wrapMatrix(env, std::move(a));
}

SparseIndex indexBits(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  const int64_t bits = integer(info, i, fn, "indexBits", 16, 32);
  if (bits != 16 && bits != 32)
    throwRange(info.Env(), std::string(fn) + ": expected indexBits: 16 or 32, received " + std::to_string(bits));
  return bits == 16 ? SparseIndex::u16 : SparseIndex::u32;
}

// A builder's input: a typed array of any length, its element count and its data (null when
// empty). Builders validate indices and values and then use them, so an array in a
// SharedArrayBuffer is copied first: another thread could change it between the two.
template <typename T>
class Input {
 public:
  Input(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, napi_typedarray_type type) {
    typedArray<T>(info, i, fn, name, type, 0);  // kind check
    const ArrayView view = viewOf(info.Env(), info[i]);
    length_ = view.length;
    data_ = length_ ? typedArray<T>(info, i, fn, name, type, length_) : nullptr;
    if (view.shared && length_) {
      copy_.assign(data_, data_ + length_);
      data_ = copy_.data();
    }
  }
  const T* data() const { return data_; }
  size_t length() const { return length_; }

 private:
  const T* data_ = nullptr;
  size_t length_ = 0;
  std::vector<T> copy_;
};

// Rows not backed by input are capped (lib/validate.ts MAX_UNBACKED_ROWS, the same text): an
// empty CSR matrix still costs 4 bytes of indptr a row, and the builders more while they work.
constexpr int64_t kMaxUnbackedRows = int64_t(1) << 24;
void builtRows(Napi::Env env, const char* fn, int64_t rows, size_t given) {
  if (rows > std::max<int64_t>(kMaxUnbackedRows, int64_t(given)))
    throwRange(env, std::string(fn) + ": expected rows: at most " + std::to_string(kMaxUnbackedRows) +
                        " or the number of entries given (" + std::to_string(given) + "), received number " +
                        std::to_string(rows));
}

// An async output that no input backs (the matrix has no columns, so the product is all zeros or
// the bias) is capped at the same count (lib/validate.ts unbackedOutput, the same text).
void unbackedOutput(Napi::Env env, const char* fn, const char* name, int64_t value, int64_t elements,
                    const char* product, const char* why) {
  if (elements > kMaxUnbackedRows)
    throwRange(env, std::string(fn) + ": expected " + name + ": " + product + " ≤ " + std::to_string(kMaxUnbackedRows) +
                        " when " + why + " (nothing backs the output), received number " + std::to_string(value));
}

// For an f32 x ≥ 0, x > t (t a double) exactly when x > the largest f32 not above t.
float f32Threshold(double t) {
  if (t >= double(std::numeric_limits<float>::max())) return std::numeric_limits<float>::max();
  float f = float(t);
  if (double(f) > t) f = std::nextafter(f, 0.0f);
  return f;
}

// csrFromDense(values: Float32Array, rows, cols, threshold, indexBits) → handle
Napi::Value FromDense(const Napi::CallbackInfo& info) {
  const char* fn = "CsrMatrix.fromDense";
  Napi::Env env = info.Env();
  const int rows = int(integer(info, 1, fn, "rows", 0, kMaxDim));
  const int cols = int(integer(info, 2, fn, "cols", 0, kMaxDim));
  if (!info[3].IsNumber()) throwType(env, std::string(fn) + ": expected threshold: a number");
  const double threshold = info[3].As<Napi::Number>().DoubleValue();
  if (!(threshold >= 0) || std::isinf(threshold))
    throwRange(env, std::string(fn) + ": expected threshold: a finite number ≥ 0");
  const SparseIndex index = indexBits(info, 4, fn);
  const uint64_t count = uint64_t(rows) * uint64_t(cols);
  const float* w = typedArray<float>(info, 0, fn, "values", napi_float32_array, count);
  builtRows(env, fn, rows, size_t(count));
  std::string error;
  auto a = csrFromDense(w, rows, cols, f32Threshold(threshold), index, &error);
  return built(env, fn, std::move(a), error);
}

// csrFromCoo(rows, cols, rowIdx: Int32Array, colIdx: Int32Array, values: Float32Array, indexBits) → handle
Napi::Value FromCoo(const Napi::CallbackInfo& info) {
  const char* fn = "CsrMatrix.fromCoo";
  Napi::Env env = info.Env();
  const int rows = int(integer(info, 0, fn, "rows", 0, kMaxDim));
  const int cols = int(integer(info, 1, fn, "cols", 0, kMaxDim));
  const SparseIndex index = indexBits(info, 5, fn);
  const Input<int32_t> r(info, 2, fn, "rowIdx", napi_int32_array);
  const Input<int32_t> c(info, 3, fn, "colIdx", napi_int32_array);
  const Input<float> v(info, 4, fn, "values", napi_float32_array);
  const size_t count = r.length(), colCount = c.length(), valueCount = v.length();
  if (colCount != count || valueCount != count)
    throwRange(env, std::string(fn) + ": expected rowIdx, colIdx and values of the same length, received " +
                        std::to_string(count) + ", " + std::to_string(colCount) + " and " + std::to_string(valueCount));
  builtRows(env, fn, rows, count);
  std::string error;
  return built(env, fn, csrFromCoo(rows, cols, r.data(), c.data(), v.data(), count, index, &error), error);
}

// csrFromArrays(rows, cols, indptr: Int32Array, indices: Int32Array, values: Float32Array | Int8Array,
//               scales: Float32Array | undefined, indexBits) → handle
Napi::Value FromArrays(const Napi::CallbackInfo& info) {
  const char* fn = "CsrMatrix.fromArrays";
  Napi::Env env = info.Env();
  const int rows = int(integer(info, 0, fn, "rows", 0, kMaxDim));
  const int cols = int(integer(info, 1, fn, "cols", 0, kMaxDim));
  const SparseIndex index = indexBits(info, 6, fn);
  const Input<int32_t> indptrs(info, 2, fn, "indptr", napi_int32_array);
  const Input<int32_t> columns(info, 3, fn, "indices", napi_int32_array);
  const bool int8 = info[4].IsTypedArray() && viewOf(env, info[4]).type == napi_int8_array;
  std::optional<Input<int8_t>> codes;
  std::optional<Input<float>> floats;
  if (int8) codes.emplace(info, 4, fn, "values", napi_int8_array);
  else floats.emplace(info, 4, fn, "values", napi_float32_array);
  const void* values = int8 ? static_cast<const void*>(codes->data()) : static_cast<const void*>(floats->data());
  const size_t valuesLength = int8 ? codes->length() : floats->length();
  const int32_t* indptr = indptrs.data();
  const int32_t* indices = columns.data();
  const size_t indptrLength = indptrs.length(), indicesLength = columns.length();
  std::optional<Input<float>> scaleInput;
  const float* scales = nullptr;
  size_t scalesLength = 0;
  if (!info[5].IsUndefined()) {
    scaleInput.emplace(info, 5, fn, "scales", napi_float32_array);
    scales = scaleInput->data();
    scalesLength = scaleInput->length();
    if (!int8) throwRange(env, std::string(fn) + ": scales is only used with Int8Array values");
  }
  const SparseValues type = int8 ? SparseValues::i8 : SparseValues::f32;
  std::string error;
  if (int8 && scalesLength != size_t(rows)) {
    // The builder reads rows scales. A wrong count is reported after the structure rules (the
    // documented order), so check the structure with stand-in scales first. The builder reads
    // them only once indptr has rows + 1 entries, so the stand-ins are bounded by what was given.
    const std::vector<float> ones(indptrLength == size_t(rows) + 1 ? size_t(rows) + 1 : 1, 1.0f);
    if (!csrFromArrays(rows, cols, indptr, indptrLength, indices, indicesLength, values, valuesLength, type,
                       ones.data(), index, &error))
      throwRange(env, std::string(fn) + ": " + error);
    throwRange(env, std::string(fn) + ": scales must have rows = " + std::to_string(rows) + " entries, received " +
                        std::to_string(scalesLength));
  }
  auto a = csrFromArrays(rows, cols, indptr, indptrLength, indices, indicesLength, values, valuesLength, type, scales,
                         index, &error);
  return built(env, fn, std::move(a), error);
}

// csrInfo(handle) → [rows, cols, nnz, valueType, indexBits, byteLength]
Napi::Value Info(const Napi::CallbackInfo& info) {
  auto a = matrix(info, 0, "CsrMatrix", "a");
  Napi::Env env = info.Env();
  auto out = Napi::Array::New(env, 6);
  out.Set(0u, double(a->rows()));
  out.Set(1u, double(a->cols()));
  out.Set(2u, double(a->nnz()));
  out.Set(3u, double(int(a->valueType())));
  out.Set(4u, a->indexType() == SparseIndex::u16 ? 16.0 : 32.0);
  out.Set(5u, double(a->bytes()));
  return out;
}

// csrToArrays(handle) → [indptr, indices (Int32Array), values, scales | null], all copies
Napi::Value ToArrays(const Napi::CallbackInfo& info) {
  auto a = matrix(info, 0, "CsrMatrix.toArrays", "a");
  Napi::Env env = info.Env();
  const size_t nnz = a->nnz();
  auto indptr = Napi::Int32Array::New(env, size_t(a->rows()) + 1);
  std::memcpy(indptr.Data(), a->indptr(), (size_t(a->rows()) + 1) * sizeof(int32_t));
  auto indices = Napi::Int32Array::New(env, nnz);
  for (size_t j = 0; j < nnz; j++) indices[j] = int32_t(a->column(j));
  Napi::Value values, scales = env.Null();
  if (a->valueType() == SparseValues::i8) {
    auto q = Napi::Int8Array::New(env, nnz);
    if (nnz) std::memcpy(q.Data(), a->values(), nnz);
    auto s = Napi::Float32Array::New(env, size_t(a->rows()));
    if (a->rows()) std::memcpy(s.Data(), a->scales(), size_t(a->rows()) * sizeof(float));
    values = q;
    scales = s;
  } else {
    auto v = Napi::Float32Array::New(env, nnz);
    if (nnz) std::memcpy(v.Data(), a->values(), nnz * sizeof(float));
    values = v;
  }
  auto out = Napi::Array::New(env, 4);
  out.Set(0u, indptr);
  out.Set(1u, indices);
  out.Set(2u, values);
  out.Set(3u, scales);
  return out;
}

// csrToDense(handle, out: Float32Array of rows·cols)
Napi::Value ToDense(const Napi::CallbackInfo& info) {
  const char* fn = "CsrMatrix.toDense";
  auto a = matrix(info, 0, fn, "a");
  const uint64_t count = uint64_t(a->rows()) * uint64_t(a->cols());
  float* out = typedArray<float>(info, 1, fn, "out", napi_float32_array, count);
  if (count) csrToDense(*a, out);
  return info.Env().Undefined();
}

Napi::Value QuantizeValues(const Napi::CallbackInfo& info) {
  auto a = matrix(info, 0, "CsrMatrix.quantizeValues", "a");
  return wrapMatrix(info.Env(), csrQuantizeValues(*a));
}

Napi::Value WithIndexBits(const Napi::CallbackInfo& info) {
  const char* fn = "CsrMatrix.withIndexBits";
  auto a = matrix(info, 0, fn, "a");
  std::string error;
  return built(info.Env(), fn, csrWithIndex(*a, indexBits(info, 1, fn), &error), error);
}

// spmv(handle, x: Float32Array ≥ cols, out: Float32Array ≥ rows)
Napi::Value Spmv(const Napi::CallbackInfo& info) {
  const char* fn = "spmv";
  auto a = matrix(info, 0, fn, "a");
  const float* x = typedArray<float>(info, 1, fn, "x", napi_float32_array, uint64_t(a->cols()));
  float* y = typedArray<float>(info, 2, fn, "out", napi_float32_array, uint64_t(a->rows()));
  if (a->rows()) spmv(*a, x, y);
  return info.Env().Undefined();
}

Napi::Value SpmvAsync(const Napi::CallbackInfo& info) {
  const char* fn = "spmvAsync";
  auto a = matrix(info, 0, fn, "a");
  auto input = floatsCopy(info, 1, fn, "x", uint64_t(a->cols()));
  auto output = std::make_shared<std::vector<float>>(size_t(a->rows()));
  return runAsync(
      info.Env(), fn,
      [=]() -> std::string {
        if (a->rows()) spmv(*a, input->data(), output->data());
        return "";
      },
      [=](Napi::Env env) { return floatArray(env, *output); });
}

// spmm(handle, b: Float32Array ≥ cols·n, n, out: Float32Array ≥ rows·n)
Napi::Value Spmm(const Napi::CallbackInfo& info) {
  const char* fn = "spmm";
  auto a = matrix(info, 0, fn, "a");
  const int n = int(integer(info, 2, fn, "n", 1, kMaxDim));
  const float* b = typedArray<float>(info, 1, fn, "b", napi_float32_array, uint64_t(a->cols()) * uint64_t(n));
  float* c = typedArray<float>(info, 3, fn, "out", napi_float32_array, uint64_t(a->rows()) * uint64_t(n));
  if (a->rows()) spmm(*a, b, n, c);
  return info.Env().Undefined();
}

Napi::Value SpmmAsync(const Napi::CallbackInfo& info) {
  const char* fn = "spmmAsync";
  auto a = matrix(info, 0, fn, "a");
  const int n = int(integer(info, 2, fn, "n", 1, kMaxDim));
  auto input = floatsCopy(info, 1, fn, "b", uint64_t(a->cols()) * uint64_t(n));
  if (a->cols() == 0) unbackedOutput(info.Env(), fn, "n", n, int64_t(a->rows()) * n, "rows·n", "a has no columns");
  auto output = std::make_shared<std::vector<float>>(size_t(a->rows()) * size_t(n));
  return runAsync(
      info.Env(), fn,
      [=]() -> std::string {
        if (a->rows()) spmm(*a, input->data(), n, output->data());
        return "";
      },
      [=](Napi::Env env) { return floatArray(env, *output); });
}

// linearSparse(x: Float32Array ≥ m·K, handle, m, bias: Float32Array ≥ N | undefined, out: Float32Array ≥ m·N)
Napi::Value LinearSparse(const Napi::CallbackInfo& info) {
  const char* fn = "linearSparse";
  auto w = matrix(info, 1, fn, "w");
  const int m = int(integer(info, 2, fn, "m", 1, kMaxDim));
  const float* bias = info[3].IsUndefined() ? nullptr : typedArray<float>(info, 3, fn, "bias", napi_float32_array, uint64_t(w->rows()));
  const float* x = typedArray<float>(info, 0, fn, "x", napi_float32_array, uint64_t(m) * uint64_t(w->cols()));
  float* y = typedArray<float>(info, 4, fn, "out", napi_float32_array, uint64_t(m) * uint64_t(w->rows()));
  if (w->rows()) linearSparse(x, m, *w, bias, y);
  return info.Env().Undefined();
}

Napi::Value LinearSparseAsync(const Napi::CallbackInfo& info) {
  const char* fn = "linearSparseAsync";
  auto w = matrix(info, 1, fn, "w");
  const int m = int(integer(info, 2, fn, "m", 1, kMaxDim));
  auto bias = floatsCopy(info, 3, fn, "bias", uint64_t(w->rows()), true);
  auto input = floatsCopy(info, 0, fn, "x", uint64_t(m) * uint64_t(w->cols()));
  if (w->cols() == 0) unbackedOutput(info.Env(), fn, "m", m, int64_t(m) * w->rows(), "m·N", "w has no columns");
  auto output = std::make_shared<std::vector<float>>(size_t(m) * size_t(w->rows()));
  return runAsync(
      info.Env(), fn,
      [=]() -> std::string {
        if (w->rows()) linearSparse(input->data(), m, *w, bias->empty() ? nullptr : bias->data(), output->data());
        return "";
      },
      [=](Napi::Env env) { return floatArray(env, *output); });
}

Napi::Value LastKernel(const Napi::CallbackInfo& info) {
  const std::string name = lastSparseKernel();
  return name.empty() ? info.Env().Null() : Napi::String::New(info.Env(), name);
}

}  // namespace

void initSparse(Napi::Env env, Napi::Object exports) {
  exports.Set("csrFromDense", function(env, "csrFromDense", FromDense));
  exports.Set("csrFromCoo", function(env, "csrFromCoo", FromCoo));
  exports.Set("csrFromArrays", function(env, "csrFromArrays", FromArrays));
  exports.Set("csrInfo", function(env, "csrInfo", Info));
  exports.Set("csrToArrays", function(env, "csrToArrays", ToArrays));
  exports.Set("csrToDense", function(env, "csrToDense", ToDense));
  exports.Set("csrQuantizeValues", function(env, "csrQuantizeValues", QuantizeValues));
  exports.Set("csrWithIndexBits", function(env, "csrWithIndexBits", WithIndexBits));
  exports.Set("spmv", function(env, "spmv", Spmv));
  exports.Set("spmvAsync", function(env, "spmvAsync", SpmvAsync));
  exports.Set("spmm", function(env, "spmm", Spmm));
  exports.Set("spmmAsync", function(env, "spmmAsync", SpmmAsync));
  exports.Set("linearSparse", function(env, "linearSparse", LinearSparse));
  exports.Set("linearSparseAsync", function(env, "linearSparseAsync", LinearSparseAsync));
  exports.Set("lastSparseKernel", function(env, "lastSparseKernel", LastKernel));
}

}  // namespace sparq::binding
