// Node-API glue of the int8 GEMM family: argument re-checks, native-owned weights, async work.
#include <cmath>
#include <cstring>

#include "args.h"
#include "handles.h"
#include "binding.h"
#include "sparq/gemm.h"

namespace sparq::binding {

// A layer owns its weight (with every layout packed for it) and its scales and bias.
template <>
size_t ownedBytes<LinearInt8>(const LinearInt8& layer) {
  return layer.weight->bytes() + (layer.scale.size() + layer.bias.size()) * sizeof(float);
}

namespace {

constexpr int64_t kMaxDim = 0x7fffffff;

std::shared_ptr<PackedInt8> packed(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return unwrap<PackedInt8>(info, i, fn, "w", "PackedInt8Matrix");
}

std::shared_ptr<LinearInt8> linear(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return unwrap<LinearInt8>(info, i, fn, "layer", "LinearInt8");
}

// packInt8(b: Int8Array, n, k) → handle
Napi::Value PackInt8(const Napi::CallbackInfo& info) {
  const char* fn = "packInt8";
  const int n = int(integer(info, 1, fn, "n", 1, kMaxDim));
  const int k = int(integer(info, 2, fn, "k", 1, kMaxK));
  const int8_t* b = typedArray<int8_t>(info, 0, fn, "b", napi_int8_array, uint64_t(n) * uint64_t(k));
  auto w = std::make_shared<PackedInt8>(b, n, k);
  w->packedFor(int8GemmKernel());
  return wrap(info.Env(), w, "PackedInt8Matrix");
}

// packedInt8Rows(handle) → Int8Array copy of B [n×k]
Napi::Value PackedInt8Rows(const Napi::CallbackInfo& info) {
  auto w = packed(info, 0, "PackedInt8Matrix.toArray");
  const size_t count = size_t(w->n()) * size_t(w->k());
  auto out = Napi::Int8Array::New(info.Env(), count);
  std::memcpy(out.Data(), w->rows(), count);
  return out;
}

// gemmU8S8(a: Uint8Array, handle, m, aZeroPoint, c: Int32Array)
Napi::Value GemmU8S8(const Napi::CallbackInfo& info) {
  const char* fn = "gemmU8S8";
  auto w = packed(info, 1, fn);
  const int m = int(integer(info, 2, fn, "m", 0, kMaxDim));
  const int32_t zeroPoint = int32_t(integer(info, 3, fn, "aZeroPoint", 0, 255));
  const uint8_t* a = typedArray<uint8_t>(info, 0, fn, "a", napi_uint8_array, uint64_t(m) * uint64_t(w->k()));
  int32_t* c = typedArray<int32_t>(info, 4, fn, "out", napi_int32_array, uint64_t(m) * uint64_t(w->n()));
  gemmU8S8(a, m, *w, zeroPoint, c);
  return info.Env().Undefined();
}

// gemmS8S8(a: Int8Array, handle, m, c: Int32Array)
Napi::Value GemmS8S8(const Napi::CallbackInfo& info) {
  const char* fn = "gemmS8S8";
  auto w = packed(info, 1, fn);
  const int m = int(integer(info, 2, fn, "m", 0, kMaxDim));
  const int8_t* a = typedArray<int8_t>(info, 0, fn, "a", napi_int8_array, uint64_t(m) * uint64_t(w->k()));
  int32_t* c = typedArray<int32_t>(info, 3, fn, "out", napi_int32_array, uint64_t(m) * uint64_t(w->n()));
  gemmS8S8(a, m, *w, c);
  return info.Env().Undefined();
}

// gemm{U8,S8}S8Async(a, handle, m, aZeroPoint) → Promise<Int32Array>. A is copied here, on the
// main thread; the worker touches only that copy and the native-owned weights.
Napi::Value GemmAsync(const Napi::CallbackInfo& info, bool aSigned) {
  const char* fn = aSigned ? "gemmS8S8Async" : "gemmU8S8Async";
  auto w = packed(info, 1, fn);
  const int m = int(integer(info, 2, fn, "m", 0, kMaxDim));
  const int32_t zeroPoint = aSigned ? 0 : int32_t(integer(info, 3, fn, "aZeroPoint", 0, 255));
  const size_t count = size_t(m) * size_t(w->k());
  const uint8_t* a = aSigned ? reinterpret_cast<const uint8_t*>(
                                   typedArray<int8_t>(info, 0, fn, "a", napi_int8_array, count))
                             : typedArray<uint8_t>(info, 0, fn, "a", napi_uint8_array, count);
  auto input = std::make_shared<std::vector<uint8_t>>(a, a + count);
  auto output = std::make_shared<std::vector<int32_t>>(size_t(m) * size_t(w->n()));
  w->packedFor(int8GemmKernel());  // here, so the layout's bytes are reported when this call returns
  return runAsync(
      info.Env(), fn,
      [=]() -> std::string {
        if (aSigned)
          gemmS8S8(reinterpret_cast<const int8_t*>(input->data()), m, *w, output->data());
        else
          gemmU8S8(input->data(), m, *w, zeroPoint, output->data());
        return "";
      },
      [=](Napi::Env env) -> Napi::Value {
        auto c = Napi::Int32Array::New(env, output->size());
        if (!output->empty()) std::memcpy(c.Data(), output->data(), output->size() * sizeof(int32_t));
        return c;
      });
}

Napi::Value GemmU8S8Async(const Napi::CallbackInfo& info) { return GemmAsync(info, false); }
Napi::Value GemmS8S8Async(const Napi::CallbackInfo& info) { return GemmAsync(info, true); }

// A positive finite f32 scale argument (a static activation range's).
float activationScale(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  const double v = info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1.0;
  if (!(v > 0.0 && float(v) > 0.0f && std::isfinite(float(v))))
    throwRange(info.Env(), std::string(fn) + ": expected activations.scale: a positive finite f32 number");
  return float(v);
}

// The optional trailing arguments both layer constructors take, from index `at`: bias (n floats or
// undefined), then a static activation range (scale, zero point), both absent for dynamic rows.
void readBiasAndRange(const Napi::CallbackInfo& info, size_t at, const char* fn, int n, LinearInt8& layer) {
  if (!info[at].IsUndefined()) {
    const float* bias = typedArray<float>(info, at, fn, "bias", napi_float32_array, uint64_t(n));
    layer.bias.assign(bias, bias + n);
  }
  if (info.Length() > at + 1 && !info[at + 1].IsUndefined()) {
    layer.staticActivations = true;
    layer.activationScale = activationScale(info, at + 1, fn);
    layer.activationZeroPoint = int32_t(integer(info, at + 2, fn, "activations.zeroPoint", 0, 255));
  }
}

// quantizeLinearInt8(w: Float32Array, n, k, bias: Float32Array | undefined,
//                    activationScale?: number, activationZeroPoint?: number) → handle
Napi::Value QuantizeLinearInt8(const Napi::CallbackInfo& info) {
  const char* fn = "quantizeLinearInt8";
  const int n = int(integer(info, 1, fn, "n", 1, kMaxDim));
  const int k = int(integer(info, 2, fn, "k", 1, kMaxK));
  const float* w = typedArray<float>(info, 0, fn, "w", napi_float32_array, uint64_t(n) * uint64_t(k));
  auto layer = std::make_shared<LinearInt8>();
  readBiasAndRange(info, 3, fn, n, *layer);
  std::vector<int8_t> q(size_t(n) * size_t(k));
  layer->scale.resize(n);
  if (!quantizeWeightsS8(w, n, k, q.data(), layer->scale.data()))
    throwRange(info.Env(), std::string(fn) + ": expected w: finite values, received NaN or ±Infinity");
  layer->weight = std::make_shared<PackedInt8>(q.data(), n, k);
  layer->weight->packedFor(int8GemmKernel());
  return wrap(info.Env(), layer, "LinearInt8");
}

// linearInt8FromArrays(weight: Int8Array, scale: Float32Array, n, k, bias: Float32Array | undefined,
//                      activationScale?: number, activationZeroPoint?: number) → handle
// A layer from its codes (each in −127…127) and positive finite per-row scales, as toArrays gives them.
Napi::Value LinearInt8FromArrays(const Napi::CallbackInfo& info) {
  const char* fn = "LinearInt8.fromArrays";
  const int n = int(integer(info, 2, fn, "n", 1, kMaxDim));
  const int k = int(integer(info, 3, fn, "k", 1, kMaxK));
  const int8_t* weight = typedArray<int8_t>(info, 0, fn, "weight", napi_int8_array, uint64_t(n) * uint64_t(k));
  const float* scale = typedArray<float>(info, 1, fn, "scale", napi_float32_array, uint64_t(n));
  auto layer = std::make_shared<LinearInt8>();
  // Copied before they are checked, so a SharedArrayBuffer written meanwhile cannot slip past.
  std::vector<int8_t> q(weight, weight + size_t(n) * size_t(k));
  layer->scale.assign(scale, scale + n);
  for (size_t i = 0; i < q.size(); i++) {
    if (q[i] == -128) throwRange(info.Env(), std::string(fn) + ": expected weight: codes in [-127, 127], received -128 at index " + std::to_string(i));
  }
  for (int j = 0; j < n; j++) {
    if (!(layer->scale[j] > 0.0f) || !std::isfinite(layer->scale[j]))
      throwRange(info.Env(), std::string(fn) + ": expected scale: positive finite values, received " + std::to_string(layer->scale[j]) + " at index " + std::to_string(j));
  }
  readBiasAndRange(info, 4, fn, n, *layer);
  layer->weight = std::make_shared<PackedInt8>(q.data(), n, k);
  layer->weight->packedFor(int8GemmKernel());
  return wrap(info.Env(), layer, "LinearInt8");
}

// linearInt8Parts(handle) → [weight: Int8Array, scale: Float32Array, bias: Float32Array | null]
Napi::Value LinearInt8Parts(const Napi::CallbackInfo& info) {
  auto layer = linear(info, 0, "LinearInt8.toArrays");
  Napi::Env env = info.Env();
  const PackedInt8& w = *layer->weight;
  auto weight = Napi::Int8Array::New(env, size_t(w.n()) * size_t(w.k()));
  std::memcpy(weight.Data(), w.rows(), weight.ElementLength());
  auto scale = Napi::Float32Array::New(env, layer->scale.size());
  std::memcpy(scale.Data(), layer->scale.data(), layer->scale.size() * sizeof(float));
  auto result = Napi::Array::New(env, 3);
  result.Set(0u, weight);
  result.Set(1u, scale);
  if (layer->bias.empty()) {
    result.Set(2u, env.Null());
  } else {
    auto bias = Napi::Float32Array::New(env, layer->bias.size());
    std::memcpy(bias.Data(), layer->bias.data(), layer->bias.size() * sizeof(float));
    result.Set(2u, bias);
  }
  return result;
}

std::string nonFinite(const char* fn) { return std::string(fn) + ": expected x: finite values, received NaN or ±Infinity"; }

// linearInt8(x: Float32Array, handle, m, y: Float32Array)
Napi::Value LinearInt8Sync(const Napi::CallbackInfo& info) {
  const char* fn = "linearInt8";
  auto layer = linear(info, 1, fn);
  const int m = int(integer(info, 2, fn, "m", 0, kMaxDim));
  const float* x = typedArray<float>(info, 0, fn, "x", napi_float32_array, uint64_t(m) * uint64_t(layer->weight->k()));
  float* y = typedArray<float>(info, 3, fn, "out", napi_float32_array, uint64_t(m) * uint64_t(layer->weight->n()));
  if (!linearInt8(x, m, *layer, y)) throwRange(info.Env(), nonFinite(fn));
  return info.Env().Undefined();
}

// linearInt8Async(x, handle, m) → Promise<Float32Array>
Napi::Value LinearInt8Async(const Napi::CallbackInfo& info) {
  const char* fn = "linearInt8Async";
  auto layer = linear(info, 1, fn);
  const int m = int(integer(info, 2, fn, "m", 0, kMaxDim));
  auto input = floatsCopy(info, 0, fn, "x", uint64_t(m) * uint64_t(layer->weight->k()));
  auto output = std::make_shared<std::vector<float>>(size_t(m) * size_t(layer->weight->n()));
  layer->weight->packedFor(int8GemmKernel());  // here, so the layout's bytes are reported on return
  return runAsync(
      info.Env(), fn,
      [=]() -> std::string { return linearInt8(input->data(), m, *layer, output->data()) ? "" : nonFinite(fn); },
      [=](Napi::Env env) { return floatArray(env, *output); });
}

// quantizeActivationsU8(x: Float32Array, m, k, q: Uint8Array, scale: Float32Array, zeroPoint: Int32Array)
Napi::Value QuantizeActivationsU8(const Napi::CallbackInfo& info) {
  const char* fn = "quantizeActivationsU8";
  const int m = int(integer(info, 1, fn, "m", 0, kMaxDim));
  const int k = int(integer(info, 2, fn, "k", 1, kMaxDim));
  const uint64_t count = uint64_t(m) * uint64_t(k);
  const float* x = typedArray<float>(info, 0, fn, "x", napi_float32_array, count);
  uint8_t* q = typedArray<uint8_t>(info, 3, fn, "q", napi_uint8_array, count);
  float* scale = typedArray<float>(info, 4, fn, "scale", napi_float32_array, uint64_t(m));
  int32_t* zeroPoint = typedArray<int32_t>(info, 5, fn, "zeroPoint", napi_int32_array, uint64_t(m));
  if (!quantizeRowsU8(x, m, k, q, scale, zeroPoint)) throwRange(info.Env(), nonFinite(fn));
  return info.Env().Undefined();
}

// codeActivationsU8(x: Float32Array, m, k, scale, zeroPoint, q: Uint8Array)
Napi::Value CodeActivationsU8(const Napi::CallbackInfo& info) {
  const char* fn = "quantizeActivationsU8";
  const int m = int(integer(info, 1, fn, "m", 0, kMaxDim));
  const int k = int(integer(info, 2, fn, "k", 1, kMaxDim));
  const float scale = activationScale(info, 3, fn);
  const int32_t zeroPoint = int32_t(integer(info, 4, fn, "activations.zeroPoint", 0, 255));
  const uint64_t count = uint64_t(m) * uint64_t(k);
  const float* x = typedArray<float>(info, 0, fn, "x", napi_float32_array, count);
  uint8_t* q = typedArray<uint8_t>(info, 5, fn, "q", napi_uint8_array, count);
  if (!codeRowsU8(x, m, k, scale, zeroPoint, q)) throwRange(info.Env(), nonFinite(fn));
  return info.Env().Undefined();
}

// linearInt8Activations(handle) → [scale, zeroPoint] or null when dynamic
Napi::Value LinearInt8Activations(const Napi::CallbackInfo& info) {
  auto layer = linear(info, 0, "LinearInt8.activations");
  if (!layer->staticActivations) return info.Env().Null();
  auto result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, Napi::Number::New(info.Env(), layer->activationScale));
  result.Set(1u, Napi::Number::New(info.Env(), layer->activationZeroPoint));
  return result;
}

Napi::Value LastKernel(const Napi::CallbackInfo& info) {
  const char* name = lastInt8GemmKernel();
  return name ? Napi::String::New(info.Env(), name) : info.Env().Null();
}

Napi::Value LastLinearKernel(const Napi::CallbackInfo& info) {
  const char* name = lastLinearInt8Kernel();
  return name ? Napi::String::New(info.Env(), name) : info.Env().Null();
}

}  // namespace

void initGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("packInt8", function(env, "packInt8", PackInt8));
  exports.Set("packedInt8Rows", function(env, "packedInt8Rows", PackedInt8Rows));
  exports.Set("gemmU8S8", function(env, "gemmU8S8", GemmU8S8));
  exports.Set("gemmS8S8", function(env, "gemmS8S8", GemmS8S8));
  exports.Set("gemmU8S8Async", function(env, "gemmU8S8Async", GemmU8S8Async));
  exports.Set("gemmS8S8Async", function(env, "gemmS8S8Async", GemmS8S8Async));
  exports.Set("quantizeLinearInt8", function(env, "quantizeLinearInt8", QuantizeLinearInt8));
  exports.Set("linearInt8FromArrays", function(env, "linearInt8FromArrays", LinearInt8FromArrays));
  exports.Set("linearInt8Parts", function(env, "linearInt8Parts", LinearInt8Parts));
  exports.Set("linearInt8", function(env, "linearInt8", LinearInt8Sync));
  exports.Set("linearInt8Async", function(env, "linearInt8Async", LinearInt8Async));
  exports.Set("quantizeActivationsU8", function(env, "quantizeActivationsU8", QuantizeActivationsU8));
  exports.Set("codeActivationsU8", function(env, "codeActivationsU8", CodeActivationsU8));
  exports.Set("linearInt8Activations", function(env, "linearInt8Activations", LinearInt8Activations));
  exports.Set("lastInt8GemmKernel", function(env, "lastInt8GemmKernel", LastKernel));
  exports.Set("lastLinearInt8Kernel", function(env, "lastLinearInt8Kernel", LastLinearKernel));
}

}  // namespace sparq::binding
