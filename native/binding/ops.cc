// Node-API glue of the transformer ops (sparq/ops.h): argument re-checks, then the sync calls. The
// TS layer (lib/nn/ops.ts) validates first with friendlier messages; here every length is checked
// again, and index arrays (ids, lengths, keep flags) are copied before they are checked, so a
// SharedArrayBuffer another thread writes cannot turn a checked index into an out-of-bounds read.
#include <string>
#include <vector>

#include "args.h"
#include "binding.h"
#include "sparq/ops.h"

namespace sparq::binding {

namespace {

constexpr int64_t kMaxDim = 0x7fffffff;
constexpr int64_t kMaxElements = int64_t(1) << 52;

const float* floats(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, uint64_t count) {
  return typedArray<float>(info, i, fn, name, napi_float32_array, count);
}

float* output(const Napi::CallbackInfo& info, size_t i, const char* fn, uint64_t count) {
  return typedArray<float>(info, i, fn, "out", napi_float32_array, count);
}

// An Int32Array argument's first `count` values, copied.
std::vector<int> intsCopy(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, uint64_t count) {
  const int32_t* p = typedArray<int32_t>(info, i, fn, name, napi_int32_array, count);
  return count ? std::vector<int>(p, p + count) : std::vector<int>();
}

// An optional Uint8Array of keep flags (null or undefined: none), copied.
std::vector<unsigned char> keepCopy(const Napi::CallbackInfo& info, size_t i, const char* fn, uint64_t count, bool* given) {
  *given = !(info[i].IsNull() || info[i].IsUndefined());
  if (!*given) return {};
  const uint8_t* p = typedArray<uint8_t>(info, i, fn, "keep", napi_uint8_array, count);
  return count ? std::vector<unsigned char>(p, p + count) : std::vector<unsigned char>();
}

// Segment lengths, each ≥ 0, and their sum (≤ kMaxDim).
std::vector<int> segmentLengths(const Napi::CallbackInfo& info, size_t i, const char* fn, int segments, int64_t* total) {
  std::vector<int> lengths = intsCopy(info, i, fn, "lengths", uint64_t(segments));
  *total = 0;
  for (int s = 0; s < segments; s++) {
    if (lengths[s] < 0) throwRange(info.Env(), std::string(fn) + ": expected lengths: counts ≥ 0, received " + std::to_string(lengths[s]));
    *total += lengths[s];
    if (*total > kMaxDim) throwRange(info.Env(), std::string(fn) + ": expected lengths: a sum ≤ 2147483647");
  }
  return lengths;
}

// opsUnary(op, x, n, out)
Napi::Value UnaryCall(const Napi::CallbackInfo& info) {
  const char* fn = "opsUnary";
  const int op = int(integer(info, 0, fn, "op", 0, int(Unary::exp)));
  const uint64_t n = uint64_t(integer(info, 2, fn, "n", 0, kMaxElements));
  const float* x = floats(info, 1, fn, "x", n);
  unaryOp(Unary(op), x, size_t(n), output(info, 3, fn, n));
  return info.Env().Undefined();
}

// opsAdd(a, b, n, out)
Napi::Value AddCall(const Napi::CallbackInfo& info) {
  const char* fn = "opsAdd";
  const uint64_t n = uint64_t(integer(info, 2, fn, "n", 0, kMaxElements));
  const float* a = floats(info, 0, fn, "a", n);
  const float* b = floats(info, 1, fn, "b", n);
  addOp(a, b, size_t(n), output(info, 3, fn, n));
  return info.Env().Undefined();
}

// opsAddBias(x, rows, n, bias, out)
Napi::Value AddBiasCall(const Napi::CallbackInfo& info) {
  const char* fn = "opsAddBias";
  const int rows = int(integer(info, 1, fn, "rows", 0, kMaxDim));
  const int n = int(integer(info, 2, fn, "n", 1, kMaxDim));
  const uint64_t count = uint64_t(rows) * uint64_t(n);
  const float* x = floats(info, 0, fn, "x", count);
  const float* bias = floats(info, 3, fn, "bias", uint64_t(n));
  addBiasOp(x, rows, n, bias, output(info, 4, fn, count));
  return info.Env().Undefined();
}

// opsLayerNorm(x, rows, d, gamma, beta, eps, out)
Napi::Value LayerNormCall(const Napi::CallbackInfo& info) {
  const char* fn = "opsLayerNorm";
  const int rows = int(integer(info, 1, fn, "rows", 0, kMaxDim));
  const int d = int(integer(info, 2, fn, "d", 1, kMaxDim));
  const uint64_t count = uint64_t(rows) * uint64_t(d);
  const float* x = floats(info, 0, fn, "x", count);
  const float* gamma = floats(info, 3, fn, "gamma", uint64_t(d));
  const float* beta = floats(info, 4, fn, "beta", uint64_t(d));
  if (!info[5].IsNumber()) throwType(info.Env(), std::string(fn) + ": expected eps: a number");
  const float eps = info[5].As<Napi::Number>().FloatValue();
  layerNormOp(x, rows, d, gamma, beta, eps, output(info, 6, fn, count));
  return info.Env().Undefined();
}

// opsSoftmax(x, rows, n, mask | null, maskRows, out)
Napi::Value SoftmaxCall(const Napi::CallbackInfo& info) {
  const char* fn = "opsSoftmax";
  const int rows = int(integer(info, 1, fn, "rows", 0, kMaxDim));
  const int n = int(integer(info, 2, fn, "n", 1, kMaxDim));
  const uint64_t count = uint64_t(rows) * uint64_t(n);
  const float* x = floats(info, 0, fn, "x", count);
  if (!info[4].IsBoolean()) throwType(info.Env(), std::string(fn) + ": expected maskRows: a boolean");
  const bool maskRows = info[4].As<Napi::Boolean>().Value();
  const float* mask = info[3].IsNull() ? nullptr : floats(info, 3, fn, "mask", maskRows ? count : uint64_t(n));
  softmaxOp(x, rows, n, mask, maskRows, output(info, 5, fn, count));
  return info.Env().Undefined();
}

// opsGather(table, vocab, d, ids, out)
Napi::Value GatherCall(const Napi::CallbackInfo& info) {
  const char* fn = "opsGather";
  const int vocab = int(integer(info, 1, fn, "vocab", 0, kMaxDim));
  const int d = int(integer(info, 2, fn, "d", 1, kMaxDim));
  const float* table = floats(info, 0, fn, "table", uint64_t(vocab) * uint64_t(d));
  if (!info[3].IsTypedArray()) throwType(info.Env(), std::string(fn) + ": expected ids: Int32Array");
  const uint64_t count = viewOf(info.Env(), info[3]).length;
  std::vector<int> ids = intsCopy(info, 3, fn, "ids", count);
  for (size_t i = 0; i < ids.size(); i++)
    if (ids[i] < 0 || ids[i] >= vocab)
      throwRange(info.Env(), std::string(fn) + ": expected ids: integers in [0, " + std::to_string(vocab) + "), received " +
                                 std::to_string(ids[i]) + " at [" + std::to_string(i) + "]");
  gatherOp(table, d, ids.data(), int(count), output(info, 4, fn, count * uint64_t(d)));
  return info.Env().Undefined();
}

// opsMeanPool(x, d, lengths, segments, keep | null, out)
Napi::Value MeanPoolCall(const Napi::CallbackInfo& info) {
  const char* fn = "opsMeanPool";
  const int d = int(integer(info, 1, fn, "d", 1, kMaxDim));
  const int segments = int(integer(info, 3, fn, "segments", 0, kMaxDim));
  int64_t rows = 0;
  std::vector<int> lengths = segmentLengths(info, 2, fn, segments, &rows);
  const float* x = floats(info, 0, fn, "x", uint64_t(rows) * uint64_t(d));
  bool given = false;
  std::vector<unsigned char> keep = keepCopy(info, 4, fn, uint64_t(rows), &given);
  float* y = output(info, 5, fn, uint64_t(segments) * uint64_t(d));
  meanPoolOp(x, d, lengths.data(), segments, given ? keep.data() : nullptr, y);
  return info.Env().Undefined();
}

// opsAttention(qkv, d, heads, scale, lengths, segments, keep | null, out)
Napi::Value AttentionCall(const Napi::CallbackInfo& info) {
  const char* fn = "opsAttention";
  const int d = int(integer(info, 1, fn, "d", 1, kMaxDim / 3));
  const int heads = int(integer(info, 2, fn, "heads", 1, d));
  if (d % heads) throwRange(info.Env(), std::string(fn) + ": expected heads: a divisor of d");
  if (!info[3].IsNumber()) throwType(info.Env(), std::string(fn) + ": expected scale: a number");
  const float scale = info[3].As<Napi::Number>().FloatValue();
  const int segments = int(integer(info, 5, fn, "segments", 0, kMaxDim));
  int64_t tokens = 0;
  std::vector<int> lengths = segmentLengths(info, 4, fn, segments, &tokens);
  const float* qkv = floats(info, 0, fn, "qkv", uint64_t(tokens) * 3 * uint64_t(d));
  bool given = false;
  std::vector<unsigned char> keep = keepCopy(info, 6, fn, uint64_t(tokens), &given);
  float* y = output(info, 7, fn, uint64_t(tokens) * uint64_t(d));
  if (!attentionOp(qkv, int(tokens), d, heads, scale, lengths.data(), segments, given ? keep.data() : nullptr, y))
    throwRange(info.Env(), outOfMemory(fn));
  return info.Env().Undefined();
}

Napi::Value LastKernel(const Napi::CallbackInfo& info) {
  const char* name = lastOpsKernel();
  return name ? Napi::String::New(info.Env(), name) : info.Env().Null();
}

}  // namespace

void initOps(Napi::Env env, Napi::Object exports) {
  exports.Set("opsUnary", function(env, "opsUnary", UnaryCall));
  exports.Set("opsAdd", function(env, "opsAdd", AddCall));
  exports.Set("opsAddBias", function(env, "opsAddBias", AddBiasCall));
  exports.Set("opsLayerNorm", function(env, "opsLayerNorm", LayerNormCall));
  exports.Set("opsSoftmax", function(env, "opsSoftmax", SoftmaxCall));
  exports.Set("opsGather", function(env, "opsGather", GatherCall));
  exports.Set("opsMeanPool", function(env, "opsMeanPool", MeanPoolCall));
  exports.Set("opsAttention", function(env, "opsAttention", AttentionCall));
  exports.Set("lastOpsKernel", function(env, "lastOpsKernel", LastKernel));
}

}  // namespace sparq::binding
