// Node-API glue of the clustered family: argument re-checks, the native-owned ClusteredMatrix
// (from and to its documented bytes), decode, the matmul (sync and async) and k-means' assignment.
#include <cmath>
#include <cstring>

#include "args.h"
#include "binding.h"
#include "handles.h"
#include "sparq/cluster.h"

namespace sparq::binding {

namespace {

constexpr int64_t kMaxDim = 0x7fffffff;

std::shared_ptr<ClusteredMatrix> matrix(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return unwrap<ClusteredMatrix>(info, i, fn, "w", "ClusteredMatrix");
}

// clusteredFromBytes(n, k, bits, groupRows, bytes: Uint8Array) → handle. The bytes are the layout of
// sparq/cluster.h, exactly: codebooks (finite) then indices with zero padding bits.
Napi::Value FromBytes(const Napi::CallbackInfo& info) {
  const char* fn = "ClusteredMatrix.fromBytes";
  Napi::Env env = info.Env();
  const int n = int(integer(info, 0, fn, "n", 1, kMaxDim));
  const int64_t k = integer(info, 1, fn, "k", 1, kMaxDim);
  const int bits = int(integer(info, 2, fn, "bits", kClusterMinBits, kClusterMaxBits));
  const int groupRows = int(integer(info, 3, fn, "groupRows", 1, n));
  const uint64_t groups = (uint64_t(n) + uint64_t(groupRows) - 1) / uint64_t(groupRows);
  const uint64_t want = groups * (uint64_t(1) << bits) * 4 + uint64_t(n) * clusterRowBytes(size_t(k), bits);
  const uint8_t* bytes = typedArray<uint8_t>(info, 4, fn, "bytes", napi_uint8_array, want);
  const uint64_t got = info[4].As<Napi::TypedArray>().ElementLength();
  if (got != want)
    throwRange(env, std::string(fn) + ": expected bytes: Uint8Array of length " + std::to_string(want) + " (" +
                        std::to_string(groups) + " codebooks of " + std::to_string(1 << bits) + " f32, then " +
                        std::to_string(n) + " rows of " + std::to_string(clusterRowBytes(size_t(k), bits)) +
                        " index bytes), received length " + std::to_string(got));
  auto w = std::make_shared<ClusteredMatrix>(n, size_t(k), bits, groupRows);
  std::memcpy(w->codebooks(), bytes, w->codebookBytes());
  std::memcpy(w->indices(), bytes + w->codebookBytes(), w->indexBytes());
  const size_t entries = w->codebookBytes() / 4;
  for (size_t e = 0; e < entries; e++)
    if (!std::isfinite(w->codebooks()[e]))
      throwRange(env, std::string(fn) + ": expected bytes: finite codebook values, received a non-finite one at codebook " +
                          std::to_string(e >> bits) + ", entry " + std::to_string(e & ((size_t(1) << bits) - 1)));
  const int64_t bad = clusterBadPadding(*w);
  if (bad >= 0)
    throwRange(env, std::string(fn) + ": expected bytes: zero padding bits after each row's last index, received nonzero ones in row " +
                        std::to_string(bad));
  return wrap(env, w, "ClusteredMatrix");
}

// clusteredToBytes(handle) → Uint8Array copy of the layout.
Napi::Value ToBytes(const Napi::CallbackInfo& info) {
  auto w = matrix(info, 0, "ClusteredMatrix.toBytes");
  auto out = Napi::Uint8Array::New(info.Env(), w->bytes());
  std::memcpy(out.Data(), w->codebooks(), w->codebookBytes());
  std::memcpy(out.Data() + w->codebookBytes(), w->indices(), w->indexBytes());
  return out;
}

// clusteredDecode(handle, out: Float32Array of n·k)
Napi::Value Decode(const Napi::CallbackInfo& info) {
  const char* fn = "ClusteredMatrix.decode";
  auto w = matrix(info, 0, fn);
  float* out = typedArray<float>(info, 1, fn, "out", napi_float32_array, uint64_t(w->n()) * uint64_t(w->k()));
  clusterDecode(*w, out);
  return info.Env().Undefined();
}

// matmulClustered(x: Float32Array, handle, m, bias: Float32Array | undefined, y: Float32Array)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  const char* fn = "matmulClustered";
  auto w = matrix(info, 1, fn);
  const int m = int(integer(info, 2, fn, "m", 0, kMaxDim));
  const float* bias = info[3].IsUndefined() ? nullptr : typedArray<float>(info, 3, fn, "bias", napi_float32_array, uint64_t(w->n()));
  const float* x = typedArray<float>(info, 0, fn, "x", napi_float32_array, uint64_t(m) * uint64_t(w->k()));
  float* y = typedArray<float>(info, 4, fn, "out", napi_float32_array, uint64_t(m) * uint64_t(w->n()));
  matmulClustered(x, m, *w, bias, y);
  return info.Env().Undefined();
}

// matmulClusteredAsync(x, handle, m, bias | undefined) → Promise<Float32Array>; X and the bias are
// copied here, on the main thread.
Napi::Value MatmulAsync(const Napi::CallbackInfo& info) {
  const char* fn = "matmulClusteredAsync";
  auto w = matrix(info, 1, fn);
  const int m = int(integer(info, 2, fn, "m", 0, kMaxDim));
  auto bias = floatsCopy(info, 3, fn, "bias", uint64_t(w->n()), true);
  auto input = floatsCopy(info, 0, fn, "x", uint64_t(m) * uint64_t(w->k()));
  auto output = std::make_shared<std::vector<float>>(size_t(m) * size_t(w->n()));
  return runAsync(
      info.Env(), fn,
      [=]() -> std::string {
        matmulClustered(input->data(), m, *w, bias->empty() ? nullptr : bias->data(), output->data());
        return "";
      },
      [=](Napi::Env env) { return floatArray(env, *output); });
}

// clusterAssign(values: Float32Array, centroids: Float32Array (2…256, ascending, finite), codes: Uint8Array)
Napi::Value Assign(const Napi::CallbackInfo& info) {
  const char* fn = "clusterAssign";
  Napi::Env env = info.Env();
  typedArray<float>(info, 1, fn, "centroids", napi_float32_array, 0);
  const size_t entries = info[1].As<Napi::TypedArray>().ElementLength();
  if (entries < 2 || entries > 256)
    throwRange(env, std::string(fn) + ": expected centroids: Float32Array of 2…256 values, received length " + std::to_string(entries));
  const float* c = typedArray<float>(info, 1, fn, "centroids", napi_float32_array, entries);
  for (size_t j = 0; j < entries; j++)
    if (!std::isfinite(c[j]) || (j > 0 && !(c[j - 1] <= c[j])))
      throwRange(env, std::string(fn) + ": expected centroids: finite and ascending, received index " + std::to_string(j));
  typedArray<float>(info, 0, fn, "values", napi_float32_array, 0);
  const size_t count = info[0].As<Napi::TypedArray>().ElementLength();
  uint8_t* codes = typedArray<uint8_t>(info, 2, fn, "codes", napi_uint8_array, count);
  if (count) clusterAssign(typedArray<float>(info, 0, fn, "values", napi_float32_array, count), count, c, int(entries), codes);
  return env.Undefined();
}

Napi::Value LastKernel(const Napi::CallbackInfo& info) {
  const std::string name = lastClusterKernel();
  return name.empty() ? info.Env().Null() : Napi::String::New(info.Env(), name);
}

}  // namespace

void initCluster(Napi::Env env, Napi::Object exports) {
  exports.Set("clusteredFromBytes", function(env, "clusteredFromBytes", FromBytes));
  exports.Set("clusteredToBytes", function(env, "clusteredToBytes", ToBytes));
  exports.Set("clusteredDecode", function(env, "clusteredDecode", Decode));
  exports.Set("matmulClustered", function(env, "matmulClustered", Matmul));
  exports.Set("matmulClusteredAsync", function(env, "matmulClusteredAsync", MatmulAsync));
  exports.Set("clusterAssign", function(env, "clusterAssign", Assign));
  exports.Set("lastClusterKernel", function(env, "lastClusterKernel", LastKernel));
}

}  // namespace sparq::binding
