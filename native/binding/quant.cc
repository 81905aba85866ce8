// Node-API glue of the quantization family: argument re-checks, native-owned QuantizedMatrix,
// row conversions, f16 helpers and the fused matmul (sync and async).
#include <cmath>
#include <cstring>

#include "args.h"
#include "handles.h"
#include "binding.h"
#include "sparq/quant.h"

namespace sparq::binding {

namespace {

constexpr int64_t kMaxDim = 0x7fffffff;

std::shared_ptr<QuantizedMatrix> matrix(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return unwrap<QuantizedMatrix>(info, i, fn, "w", "QuantizedMatrix");
}

QFormat format(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  Napi::Env env = info.Env();
  const std::string expected = std::string(fn) + ": expected format: 'q8_0' | 'q4_0' | 'q4_1' | 'nf4' | 'int8' | 'q4_K' | 'q5_K' | 'q6_K'";
  if (!info[i].IsString()) throwType(env, expected);
  QFormat f;
  if (!formatFromName(info[i].As<Napi::String>(), &f))
    throwRange(env, expected + ", received '" + std::string(info[i].As<Napi::String>()) + "'");
  return f;
}

// The block geometry memory safety depends on: a legal block size that divides k.
int blockSize(const Napi::CallbackInfo& info, size_t i, const char* fn, QFormat f, int64_t k) {
  Napi::Env env = info.Env();
  const int fixed = fixedBlockSize(f);
  const int64_t lo = fixed ? fixed : f == QFormat::nf4 ? 32 : 64, hi = fixed ? fixed : 4096;
  const int64_t b = integer(info, i, fn, "blockSize", lo, hi);
  if ((b & (b - 1)) != 0) throwRange(env, std::string(fn) + ": expected blockSize: a power of two, received " + std::to_string(b));
  if (k % b != 0)
    throwRange(env, std::string(fn) + ": expected k: a multiple of the block size " + std::to_string(b) + ", received " +
                        std::to_string(k));
  return int(b);
}

std::string describeValue(float v) { return std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity"; }

// The RangeError for a failed quantization of x (rows of k), naming what broke and where.
[[noreturn]] void quantizeFailed(Napi::Env env, const char* fn, const char* name, QFormat f, QStatus status,
                                 const float* x, size_t k, int bs, size_t bad) {
  if (status == QStatus::nonFinite)
    throwRange(env, std::string(fn) + ": expected " + name + ": finite values, received " + describeValue(x[bad]) +
                        " at index " + std::to_string(bad));
  const size_t row = bad / k, start = bad % k;
  throwRange(env, std::string(fn) + ": expected " + name + ": values whose " + formatName(f) +
                      " block scale fits in f16 (magnitude below 65520), received a block that overflows it: row " +
                      std::to_string(row) + ", elements " + std::to_string(start) + "…" +
                      std::to_string(start + size_t(bs) - 1));
}

Napi::Value wrapMatrix(Napi::Env env, std::shared_ptr<QuantizedMatrix> w) {
  return wrap(env, std::move(w), "QuantizedMatrix");
}

// quantize(w: Float32Array, n, k, format, blockSize) → handle
Napi::Value Quantize(const Napi::CallbackInfo& info) {
  const char* fn = "quantize";
  const int n = int(integer(info, 1, fn, "n", 1, kMaxDim));
  const int64_t k = integer(info, 2, fn, "k", 1, kMaxDim);
  const QFormat f = format(info, 3, fn);
  const int bs = blockSize(info, 4, fn, f, k);
  const float* x = typedArray<float>(info, 0, fn, "w", napi_float32_array, uint64_t(n) * uint64_t(k));
  auto w = std::make_shared<QuantizedMatrix>(f, n, size_t(k), bs);
  size_t bad = 0;
  const QStatus status = quantizeRows(f, x, size_t(n), size_t(k), bs, w->mutableData(), &bad);
  if (status != QStatus::ok) quantizeFailed(info.Env(), fn, "w", f, status, x, size_t(k), bs, bad);
  return wrapMatrix(info.Env(), w);
}

// quantizedFromBytes(format, n, k, blockSize, bytes: Uint8Array) → handle; bytes must match exactly.
Napi::Value FromBytes(const Napi::CallbackInfo& info) {
  const char* fn = "QuantizedMatrix.fromBytes";
  const QFormat f = format(info, 0, fn);
  const int n = int(integer(info, 1, fn, "n", 1, kMaxDim));
  const int64_t k = integer(info, 2, fn, "k", 1, kMaxDim);
  const int bs = blockSize(info, 3, fn, f, k);
  const uint64_t want = uint64_t(n) * uint64_t(k) / uint64_t(bs) * blockBytes(f, bs);
  const uint8_t* bytes = typedArray<uint8_t>(info, 4, fn, "bytes", napi_uint8_array, want);
  if (info[4].As<Napi::TypedArray>().ElementLength() != want)
    throwRange(info.Env(), std::string(fn) + ": expected bytes: Uint8Array of length " + std::to_string(want) +
                               " (n·k/blockSize blocks of " + std::to_string(blockBytes(f, bs)) + " bytes), received length " +
                               std::to_string(info[4].As<Napi::TypedArray>().ElementLength()));
  auto w = std::make_shared<QuantizedMatrix>(f, n, size_t(k), bs);
  std::memcpy(w->mutableData(), bytes, w->bytes());
  return wrapMatrix(info.Env(), w);
}

// quantizedToBytes(handle) → Uint8Array copy of the blocks
Napi::Value ToBytes(const Napi::CallbackInfo& info) {
  auto w = matrix(info, 0, "QuantizedMatrix.toBytes");
  auto out = Napi::Uint8Array::New(info.Env(), w->bytes());
  std::memcpy(out.Data(), w->data(), w->bytes());
  return out;
}

// quantizedDequantize(handle, out: Float32Array of n·k)
Napi::Value Dequantize(const Napi::CallbackInfo& info) {
  const char* fn = "QuantizedMatrix.dequantize";
  auto w = matrix(info, 0, fn);
  float* out = typedArray<float>(info, 1, fn, "out", napi_float32_array, uint64_t(w->n()) * uint64_t(w->k()));
  dequantizeRows(w->format(), w->data(), size_t(w->n()), w->k(), w->blockSize(), out);
  return info.Env().Undefined();
}

// quantizeRow(x: Float32Array, k, format, blockSize, out: Uint8Array)
Napi::Value QuantizeRow(const Napi::CallbackInfo& info) {
  const char* fn = "quantizeRow";
  const int64_t k = integer(info, 1, fn, "k", 1, kMaxDim);
  const QFormat f = format(info, 2, fn);
  const int bs = blockSize(info, 3, fn, f, k);
  const float* x = typedArray<float>(info, 0, fn, "x", napi_float32_array, uint64_t(k));
  uint8_t* out = typedArray<uint8_t>(info, 4, fn, "out", napi_uint8_array, uint64_t(k) / uint64_t(bs) * blockBytes(f, bs));
  size_t bad = 0;
  const QStatus status = quantizeRows(f, x, 1, size_t(k), bs, out, &bad);
  if (status != QStatus::ok) quantizeFailed(info.Env(), fn, "x", f, status, x, size_t(k), bs, bad);
  return info.Env().Undefined();
}

// dequantizeRow(bytes: Uint8Array, k, format, blockSize, out: Float32Array)
Napi::Value DequantizeRow(const Napi::CallbackInfo& info) {
  const char* fn = "dequantizeRow";
  const int64_t k = integer(info, 1, fn, "k", 1, kMaxDim);
  const QFormat f = format(info, 2, fn);
  const int bs = blockSize(info, 3, fn, f, k);
  const uint8_t* in = typedArray<uint8_t>(info, 0, fn, "bytes", napi_uint8_array, uint64_t(k) / uint64_t(bs) * blockBytes(f, bs));
  float* out = typedArray<float>(info, 4, fn, "out", napi_float32_array, uint64_t(k));
  dequantizeRows(f, in, 1, size_t(k), bs, out);
  return info.Env().Undefined();
}

Precision precision(const Napi::CallbackInfo& info, size_t i, const char* fn, QFormat f) {
  const Precision p = Precision(integer(info, i, fn, "precision", 0, 1));
  if (p == Precision::int8 && f == QFormat::nf4)
    throwRange(info.Env(), std::string(fn) + ": expected precision: 'f32' for nf4 (its codes are not linear), received 'int8'");
  return p;
}

std::string nonFinite(const char* fn) {
  return std::string(fn) + ": expected x: finite values (precision 'int8' quantizes them), received NaN or ±Infinity";
}

// matmulQuantized(x: Float32Array, handle, m, bias: Float32Array | undefined, precision: 0 | 1, y: Float32Array)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  const char* fn = "matmulQuantized";
  auto w = matrix(info, 1, fn);
  const int m = int(integer(info, 2, fn, "m", 0, kMaxDim));
  const float* bias = info[3].IsUndefined() ? nullptr : typedArray<float>(info, 3, fn, "bias", napi_float32_array, uint64_t(w->n()));
  const Precision p = precision(info, 4, fn, w->format());
  const float* x = typedArray<float>(info, 0, fn, "x", napi_float32_array, uint64_t(m) * uint64_t(w->k()));
  float* y = typedArray<float>(info, 5, fn, "out", napi_float32_array, uint64_t(m) * uint64_t(w->n()));
  if (!matmulQuantized(x, m, *w, bias, p, y)) throwRange(info.Env(), nonFinite(fn));
  return info.Env().Undefined();
}

// matmulQuantizedAsync(x, handle, m, bias | undefined, precision) → Promise<Float32Array>. X and the
// bias are copied here, on the main thread; the worker reads only the copies and the weights.
Napi::Value MatmulAsync(const Napi::CallbackInfo& info) {
  const char* fn = "matmulQuantizedAsync";
  auto w = matrix(info, 1, fn);
  const int m = int(integer(info, 2, fn, "m", 0, kMaxDim));
  auto bias = floatsCopy(info, 3, fn, "bias", uint64_t(w->n()), true);
  const Precision p = precision(info, 4, fn, w->format());
  auto input = floatsCopy(info, 0, fn, "x", uint64_t(m) * uint64_t(w->k()));
  auto output = std::make_shared<std::vector<float>>(size_t(m) * size_t(w->n()));
  return runAsync(
      info.Env(), fn,
      [=]() -> std::string {
        const float* b = bias->empty() ? nullptr : bias->data();
        return matmulQuantized(input->data(), m, *w, b, p, output->data()) ? "" : nonFinite(fn);
      },
      [=](Napi::Env env) { return floatArray(env, *output); });
}

// f32ToF16(x: Float32Array, out: Uint16Array) and f16ToF32(h: Uint16Array, out: Float32Array)
Napi::Value F32ToF16(const Napi::CallbackInfo& info) {
  const char* fn = "f32ToF16";
  typedArray<float>(info, 0, fn, "x", napi_float32_array, 0);  // type check; a length-0 request yields no pointer
  const size_t n = info[0].As<Napi::TypedArray>().ElementLength();
  uint16_t* out = typedArray<uint16_t>(info, 1, fn, "out", napi_uint16_array, n);
  if (n) convertF32ToF16(typedArray<float>(info, 0, fn, "x", napi_float32_array, n), n, out);
  return info.Env().Undefined();
}

Napi::Value F16ToF32(const Napi::CallbackInfo& info) {
  const char* fn = "f16ToF32";
  typedArray<uint16_t>(info, 0, fn, "h", napi_uint16_array, 0);
  const size_t n = info[0].As<Napi::TypedArray>().ElementLength();
  float* out = typedArray<float>(info, 1, fn, "out", napi_float32_array, n);
  if (n) convertF16ToF32(typedArray<uint16_t>(info, 0, fn, "h", napi_uint16_array, n), n, out);
  return info.Env().Undefined();
}

// quantizeActivations(x: Float32Array, m, k, q: Int8Array, d: Float32Array, s: Int32Array)
Napi::Value QuantizeActivations(const Napi::CallbackInfo& info) {
  const char* fn = "quantizeActivationsQ8";
  const int m = int(integer(info, 1, fn, "m", 0, kMaxDim));
  const int64_t k = integer(info, 2, fn, "k", 32, kMaxDim);
  if (k % kActBlock != 0)
    throwRange(info.Env(), std::string(fn) + ": expected k: a multiple of 32, received " + std::to_string(k));
  const uint64_t count = uint64_t(m) * uint64_t(k), blocks = count / kActBlock;
  const float* x = typedArray<float>(info, 0, fn, "x", napi_float32_array, count);
  int8_t* q = typedArray<int8_t>(info, 3, fn, "q", napi_int8_array, count);
  float* d = typedArray<float>(info, 4, fn, "d", napi_float32_array, blocks);
  int32_t* s = typedArray<int32_t>(info, 5, fn, "s", napi_int32_array, blocks);
  if (count && !quantizeActivations(x, size_t(m), size_t(k), q, d, s))
    throwRange(info.Env(), std::string(fn) + ": expected x: finite values, received NaN or ±Infinity");
  return info.Env().Undefined();
}

Napi::Value LastKernel(const Napi::CallbackInfo& info) {
  const std::string name = lastQuantKernel();
  return name.empty() ? info.Env().Null() : Napi::String::New(info.Env(), name);
}

}  // namespace

void initQuant(Napi::Env env, Napi::Object exports) {
  exports.Set("quantize", function(env, "quantize", Quantize));
  exports.Set("quantizedFromBytes", function(env, "quantizedFromBytes", FromBytes));
  exports.Set("quantizedToBytes", function(env, "quantizedToBytes", ToBytes));
  exports.Set("quantizedDequantize", function(env, "quantizedDequantize", Dequantize));
  exports.Set("quantizeRow", function(env, "quantizeRow", QuantizeRow));
  exports.Set("dequantizeRow", function(env, "dequantizeRow", DequantizeRow));
  exports.Set("matmulQuantized", function(env, "matmulQuantized", Matmul));
  exports.Set("matmulQuantizedAsync", function(env, "matmulQuantizedAsync", MatmulAsync));
  exports.Set("f32ToF16", function(env, "f32ToF16", F32ToF16));
  exports.Set("f16ToF32", function(env, "f16ToF32", F16ToF32));
  exports.Set("quantizeActivationsQ8", function(env, "quantizeActivationsQ8", QuantizeActivations));
  exports.Set("lastQuantKernel", function(env, "lastQuantKernel", LastKernel));
}

}  // namespace sparq::binding
