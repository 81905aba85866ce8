// Node-API glue of the sparse family: argument re-checks, the native-owned CsrMatrix and its
// builders, and spmv / spmm / linearSparse (sync and async).
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "args.h"
#include "binding.h"
#include "sparq/sparse.h"

namespace sparq::binding {

namespace {

constexpr napi_type_tag kCsrTag = {0x73706172712d6373ULL, 0x726d617472697831ULL};
constexpr int64_t kMaxDim = 0x7fffffff;

std::shared_ptr<CsrMatrix> matrix(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  return unwrap<CsrMatrix>(info, i, kCsrTag, fn, name, "CsrMatrix");
}

Napi::Value wrapMatrix(Napi::Env env, std::shared_ptr<CsrMatrix> a) {
  const size_t bytes = a->bytes();
  return wrap(env, std::move(a), kCsrTag, bytes);
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

// A typed array of any length: its element count, and its data (null when empty).
template <typename T>
T* whole(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, napi_typedarray_type type,
         size_t* length) {
  typedArray<T>(info, i, fn, name, type, 0);  // kind check
  *length = info[i].As<Napi::TypedArray>().ElementLength();
  return *length ? typedArray<T>(info, i, fn, name, type, *length) : nullptr;
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
  size_t count = 0, colCount = 0, valueCount = 0;
  const int32_t* r = whole<int32_t>(info, 2, fn, "rowIdx", napi_int32_array, &count);
  const int32_t* c = whole<int32_t>(info, 3, fn, "colIdx", napi_int32_array, &colCount);
  const float* v = whole<float>(info, 4, fn, "values", napi_float32_array, &valueCount);
  if (colCount != count || valueCount != count)
    throwRange(env, std::string(fn) + ": expected rowIdx, colIdx and values of the same length, received " +
                        std::to_string(count) + ", " + std::to_string(colCount) + " and " + std::to_string(valueCount));
  std::string error;
  return built(env, fn, csrFromCoo(rows, cols, r, c, v, count, index, &error), error);
}

// csrFromArrays(rows, cols, indptr: Int32Array, indices: Int32Array, values: Float32Array | Int8Array,
//               scales: Float32Array | undefined, indexBits) → handle
Napi::Value FromArrays(const Napi::CallbackInfo& info) {
  const char* fn = "CsrMatrix.fromArrays";
  Napi::Env env = info.Env();
  const int rows = int(integer(info, 0, fn, "rows", 0, kMaxDim));
  const int cols = int(integer(info, 1, fn, "cols", 0, kMaxDim));
  const SparseIndex index = indexBits(info, 6, fn);
  size_t indptrLength = 0, indicesLength = 0, valuesLength = 0, scalesLength = 0;
  const int32_t* indptr = whole<int32_t>(info, 2, fn, "indptr", napi_int32_array, &indptrLength);
  const int32_t* indices = whole<int32_t>(info, 3, fn, "indices", napi_int32_array, &indicesLength);
  const bool int8 = info[4].IsTypedArray() && info[4].As<Napi::TypedArray>().TypedArrayType() == napi_int8_array;
  const void* values = int8 ? static_cast<const void*>(whole<int8_t>(info, 4, fn, "values", napi_int8_array, &valuesLength))
                            : static_cast<const void*>(whole<float>(info, 4, fn, "values", napi_float32_array, &valuesLength));
  const float* scales = nullptr;
  if (!info[5].IsUndefined()) {
    scales = whole<float>(info, 5, fn, "scales", napi_float32_array, &scalesLength);
    if (!int8) throwRange(env, std::string(fn) + ": scales is only used with Int8Array values");
  }
  const SparseValues type = int8 ? SparseValues::i8 : SparseValues::f32;
  std::string error;
  if (int8 && scalesLength != size_t(rows)) {
    // The builder reads rows scales. A wrong count is reported after the structure rules (the
    // documented order), so check the structure with stand-in scales first.
    const std::vector<float> ones(size_t(rows), 1.0f);
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
      info.Env(),
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
  auto output = std::make_shared<std::vector<float>>(size_t(a->rows()) * size_t(n));
  return runAsync(
      info.Env(),
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
  auto output = std::make_shared<std::vector<float>>(size_t(m) * size_t(w->rows()));
  return runAsync(
      info.Env(),
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
  exports.Set("csrFromDense", function(env, FromDense));
  exports.Set("csrFromCoo", function(env, FromCoo));
  exports.Set("csrFromArrays", function(env, FromArrays));
  exports.Set("csrInfo", function(env, Info));
  exports.Set("csrToArrays", function(env, ToArrays));
  exports.Set("csrToDense", function(env, ToDense));
  exports.Set("csrQuantizeValues", function(env, QuantizeValues));
  exports.Set("csrWithIndexBits", function(env, WithIndexBits));
  exports.Set("spmv", function(env, Spmv));
  exports.Set("spmvAsync", function(env, SpmvAsync));
  exports.Set("spmm", function(env, Spmm));
  exports.Set("spmmAsync", function(env, SpmmAsync));
  exports.Set("linearSparse", function(env, LinearSparse));
  exports.Set("linearSparseAsync", function(env, LinearSparseAsync));
  exports.Set("lastSparseKernel", function(env, LastKernel));
}

}  // namespace sparq::binding
