// Node-API glue of the dense f32 GEMM: argument re-checks, the native-owned PackedF32 and
// linearF32 / gemmF32 (sync and async).
#include <cstring>
#include <vector>

#include "args.h"
#include "handles.h"
#include "binding.h"
#include "sparq/gemm_f32.h"

namespace sparq::binding {

namespace {

constexpr int64_t kMaxDim = 0x7fffffff;

std::shared_ptr<PackedF32> packed(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return unwrap<PackedF32>(info, i, fn, "w", "PackedF32Matrix");
}

bool boolean(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (!info[i].IsBoolean()) throwType(info.Env(), std::string(fn) + ": expected " + name + ": a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

// packF32(w: Float32Array of n·k, n, k) → handle
Napi::Value Pack(const Napi::CallbackInfo& info) {
  const char* fn = "packF32";
  const int n = int(integer(info, 1, fn, "n", 1, kMaxDim));
  const int k = int(integer(info, 2, fn, "k", 1, kMaxDim));
  const float* w = typedArray<float>(info, 0, fn, "w", napi_float32_array, uint64_t(n) * uint64_t(k));
  auto p = std::make_shared<PackedF32>(w, n, k);
  return wrap(info.Env(), std::move(p), "PackedF32Matrix");
}

// packedF32Rows(handle) → Float32Array copy of W [n×k]
Napi::Value Rows(const Napi::CallbackInfo& info) {
  auto w = packed(info, 0, "PackedF32Matrix.toArray");
  auto out = Napi::Float32Array::New(info.Env(), size_t(w->n()) * size_t(w->k()));
  w->unpack(out.Data());
  return out;
}

// linearF32(x: Float32Array ≥ m·k, handle, m, bias: Float32Array ≥ n | undefined, out: Float32Array ≥ m·n)
Napi::Value Linear(const Napi::CallbackInfo& info) {
  const char* fn = "linearF32";
  auto w = packed(info, 1, fn);
  const int m = int(integer(info, 2, fn, "m", 1, kMaxDim));
  const float* bias = info[3].IsUndefined() ? nullptr : typedArray<float>(info, 3, fn, "bias", napi_float32_array, uint64_t(w->n()));
  const float* x = typedArray<float>(info, 0, fn, "x", napi_float32_array, uint64_t(m) * uint64_t(w->k()));
  float* y = typedArray<float>(info, 4, fn, "out", napi_float32_array, uint64_t(m) * uint64_t(w->n()));
  linearF32(x, m, *w, bias, y);
  return info.Env().Undefined();
}

Napi::Value LinearAsync(const Napi::CallbackInfo& info) {
  const char* fn = "linearF32Async";
  auto w = packed(info, 1, fn);
  const int m = int(integer(info, 2, fn, "m", 1, kMaxDim));
  auto bias = floatsCopy(info, 3, fn, "bias", uint64_t(w->n()), true);
  auto input = floatsCopy(info, 0, fn, "x", uint64_t(m) * uint64_t(w->k()));
  auto output = std::make_shared<std::vector<float>>(size_t(m) * size_t(w->n()));
  return runAsync(
      info.Env(), fn,
      [=]() -> std::string {
        linearF32(input->data(), m, *w, bias->empty() ? nullptr : bias->data(), output->data());
        return "";
      },
      [=](Napi::Env env) { return floatArray(env, *output); });
}

struct GemmShape {
  int m, n, k;
  bool transB, transA;
};

GemmShape gemmShape(const Napi::CallbackInfo& info, const char* fn) {
  return {int(integer(info, 2, fn, "m", 1, kMaxDim)), int(integer(info, 3, fn, "n", 1, kMaxDim)),
          int(integer(info, 4, fn, "k", 1, kMaxDim)), boolean(info, 5, fn, "transB"), boolean(info, 6, fn, "transA")};
}

// gemmF32(a: Float32Array ≥ m·k, b: Float32Array ≥ k·n, m, n, k, transB, transA, out: Float32Array ≥ m·n)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const char* fn = "gemmF32";
  const GemmShape s = gemmShape(info, fn);
  const float* a = typedArray<float>(info, 0, fn, "a", napi_float32_array, uint64_t(s.m) * uint64_t(s.k));
  const float* b = typedArray<float>(info, 1, fn, "b", napi_float32_array, uint64_t(s.k) * uint64_t(s.n));
  float* c = typedArray<float>(info, 7, fn, "out", napi_float32_array, uint64_t(s.m) * uint64_t(s.n));
  gemmF32(a, b, s.m, s.n, s.k, s.transB, s.transA, c);
  return info.Env().Undefined();
}

Napi::Value GemmAsync(const Napi::CallbackInfo& info) {
  const char* fn = "gemmF32Async";
  const GemmShape s = gemmShape(info, fn);
  auto left = floatsCopy(info, 0, fn, "a", uint64_t(s.m) * uint64_t(s.k));
  auto right = floatsCopy(info, 1, fn, "b", uint64_t(s.k) * uint64_t(s.n));
  auto output = std::make_shared<std::vector<float>>(size_t(s.m) * size_t(s.n));
  return runAsync(
      info.Env(), fn,
      [=]() -> std::string {
        gemmF32(left->data(), right->data(), s.m, s.n, s.k, s.transB, s.transA, output->data());
        return "";
      },
      [=](Napi::Env env) { return floatArray(env, *output); });
}

Napi::Value LastKernel(const Napi::CallbackInfo& info) {
  const char* name = lastF32GemmKernel();
  return name ? Napi::String::New(info.Env(), name) : info.Env().Null();
}

}  // namespace

void initDense(Napi::Env env, Napi::Object exports) {
  exports.Set("packF32", function(env, "packF32", Pack));
  exports.Set("packedF32Rows", function(env, "packedF32Rows", Rows));
  exports.Set("linearF32", function(env, "linearF32", Linear));
  exports.Set("linearF32Async", function(env, "linearF32Async", LinearAsync));
  exports.Set("gemmF32", function(env, "gemmF32", Gemm));
  exports.Set("gemmF32Async", function(env, "gemmF32Async", GemmAsync));
  exports.Set("lastF32GemmKernel", function(env, "lastF32GemmKernel", LastKernel));
}

}  // namespace sparq::binding
