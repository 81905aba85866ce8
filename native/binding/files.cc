// Node-API glue of model files: a file mapped read-only, copies of its bytes on request, and
// tensors adopted from it by native-owned matrices (zero-copy for the block formats, packed
// straight from the mapping for f32/f16/bf16). Headers are parsed in TS (lib/io/); everything
// here re-checks the offsets and sizes it is given against the mapping, so a lying header can
// never make it read outside the file.
#include <cstring>
#include <vector>

#include "args.h"
#include "handles.h"
#include "binding.h"
#include "sparq/gemm_f32.h"
#include "sparq/mapped_file.h"
#include "sparq/quant.h"

namespace sparq::binding {

// A mapping owns no heap memory: its pages belong to the page cache and are not reported to V8.
template <>
size_t ownedBytes<MappedFile>(const MappedFile&) {
  return 0;
}

namespace {

constexpr int64_t kMaxDim = 0x7fffffff;
constexpr int64_t kMaxOffset = int64_t(1) << 53;  // what a JS number holds exactly

std::shared_ptr<MappedFile> mapping(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return unwrap<MappedFile>(info, i, fn, "file", "MappedFile");
}

// The byte range [offset, offset + length) of argument i's mapping, which must lie inside the file.
const uint8_t* range(const Napi::CallbackInfo& info, const MappedFile& file, int64_t offset, uint64_t length,
                     const char* fn) {
  if (!file.contains(uint64_t(offset), length))
    throwRange(info.Env(), std::string(fn) + ": expected bytes " + std::to_string(offset) + "…" +
                               std::to_string(uint64_t(offset) + length) + " inside the file of " +
                               std::to_string(file.size()) + " bytes");
  return file.data() + offset;
}

// mapFile(path, fn) → [handle, size]; an Error naming the path and the cause when it cannot.
Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[1].IsString()) throwType(env, "mapFile: expected fn: a string");
  const std::string fn = info[1].As<Napi::String>();
  if (!info[0].IsString()) throwType(env, fn + ": expected path: a string");
  const std::string path = info[0].As<Napi::String>();
  if (path.find('\0') != std::string::npos) throwType(env, fn + ": expected path: a string without NUL characters");
  std::string error;
  auto file = MappedFile::open(path, &error);
  if (!file) throw Napi::Error::New(env, fn + ": cannot read '" + path + "': " + error);
  auto out = Napi::Array::New(env, 2);
  out.Set(1u, double(file->size()));
  out.Set(0u, wrap(env, std::move(file), "MappedFile"));
  return out;
}

// mappedRead(handle, offset, length) → Uint8Array, a copy of those bytes.
Napi::Value Read(const Napi::CallbackInfo& info) {
  const char* fn = "mappedRead";
  auto file = mapping(info, 0, fn);
  const int64_t offset = integer(info, 1, fn, "offset", 0, kMaxOffset);
  const int64_t length = integer(info, 2, fn, "length", 0, kMaxOffset);
  const uint8_t* p = range(info, *file, offset, uint64_t(length), fn);
  auto out = Napi::Uint8Array::New(info.Env(), size_t(length));
  if (length) std::memcpy(out.Data(), p, size_t(length));
  return out;
}

QFormat blockFormat(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  const std::string expected = std::string(fn) + ": expected format: 'q8_0' | 'q4_0' | 'q4_1' | 'q4_K' | 'q5_K' | 'q6_K'";
  if (!info[i].IsString()) throwType(info.Env(), expected);
  QFormat f;
  if (!formatFromName(info[i].As<Napi::String>(), &f) || !isGgml(f)) throwRange(info.Env(), expected);
  return f;
}

// mappedQuantized(handle, offset, format, n, k) → QuantizedMatrix handle whose blocks are the
// file's bytes (ggml layout, block 32 or 256), kept alive with the mapping.
Napi::Value AdoptQuantized(const Napi::CallbackInfo& info) {
  const char* fn = "mappedQuantized";
  auto file = mapping(info, 0, fn);
  const int64_t offset = integer(info, 1, fn, "offset", 0, kMaxOffset);
  const QFormat f = blockFormat(info, 2, fn);
  const int n = int(integer(info, 3, fn, "n", 1, kMaxDim));
  const int bs = fixedBlockSize(f);
  const int64_t k = integer(info, 4, fn, "k", bs, kMaxDim);
  if (k % bs != 0)
    throwRange(info.Env(), std::string(fn) + ": expected k: a multiple of " + std::to_string(bs) + ", received " + std::to_string(k));
  const uint64_t length = uint64_t(n) * uint64_t(k / bs) * blockBytes(f, bs);
  const uint8_t* p = range(info, *file, offset, length, fn);
  auto w = std::make_shared<QuantizedMatrix>(f, n, size_t(k), bs, file, p);
  return wrap(info.Env(), std::move(w), "QuantizedMatrix");
}

// Element types the native side converts: f32, f16, bf16, and the ggml block formats (as k-long rows).
enum class Source : int { f32 = 0, f16 = 1, bf16 = 2, q8_0 = 3, q4_0 = 4, q4_1 = 5 };
constexpr int kSources = 6;

uint64_t sourceBytes(Source s, uint64_t count) {
  switch (s) {
    case Source::f32: return count * 4;
    case Source::f16:
    case Source::bf16: return count * 2;
    case Source::q8_0: return count / 32 * 34;
    case Source::q4_0: return count / 32 * 18;
    case Source::q4_1: return count / 32 * 20;
  }
  return 0;
}

// Decodes `count` elements at p into out. The source may sit at any address: elements are read
// with memcpy, so an odd offset in a file is slower, never undefined.
void decode(Source s, const uint8_t* p, size_t count, float* out) {
  switch (s) {
    case Source::f32: std::memcpy(out, p, count * 4); return;
    case Source::f16:
      if (reinterpret_cast<uintptr_t>(p) % 2 == 0) {
        convertF16ToF32(reinterpret_cast<const uint16_t*>(p), count, out);
      } else {
        std::vector<uint16_t> aligned(count);
        std::memcpy(aligned.data(), p, count * 2);
        convertF16ToF32(aligned.data(), count, out);
      }
      return;
    case Source::bf16:
      for (size_t i = 0; i < count; i++) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        const uint32_t bits = uint32_t(h) << 16;
        std::memcpy(out + i, &bits, 4);
      }
      return;
    case Source::q8_0: dequantizeRows(QFormat::q8_0, p, 1, count, 32, out); return;
    case Source::q4_0: dequantizeRows(QFormat::q4_0, p, 1, count, 32, out); return;
    case Source::q4_1: dequantizeRows(QFormat::q4_1, p, 1, count, 32, out); return;
  }
}

Source source(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return Source(integer(info, i, fn, "type", 0, kSources - 1));
}

// The element count of argument i, a multiple of 32 for the block formats.
uint64_t elements(const Napi::CallbackInfo& info, size_t i, const char* fn, Source s) {
  const int64_t count = integer(info, i, fn, "count", 0, kMaxOffset);
  if (int(s) >= int(Source::q8_0) && count % 32 != 0)
    throwRange(info.Env(), std::string(fn) + ": expected count: a multiple of 32, received " + std::to_string(count));
  return uint64_t(count);
}

// mappedDecode(handle, offset, type, count, out: Float32Array of count)
Napi::Value Decode(const Napi::CallbackInfo& info) {
  const char* fn = "mappedDecode";
  auto file = mapping(info, 0, fn);
  const int64_t offset = integer(info, 1, fn, "offset", 0, kMaxOffset);
  const Source s = source(info, 2, fn);
  const uint64_t count = elements(info, 3, fn, s);
  const uint8_t* p = range(info, *file, offset, sourceBytes(s, count), fn);
  float* out = typedArray<float>(info, 4, fn, "out", napi_float32_array, count);
  if (count) decode(s, p, size_t(count), out);
  return info.Env().Undefined();
}

// mappedPackF32(handle, offset, type, n, k) → PackedF32Matrix handle made from the file's W [n×k].
Napi::Value PackF32(const Napi::CallbackInfo& info) {
  const char* fn = "mappedPackF32";
  auto file = mapping(info, 0, fn);
  const int64_t offset = integer(info, 1, fn, "offset", 0, kMaxOffset);
  const Source s = source(info, 2, fn);
  const int n = int(integer(info, 3, fn, "n", 1, kMaxDim));
  const int k = int(integer(info, 4, fn, "k", 1, kMaxDim));
  const uint64_t count = uint64_t(n) * uint64_t(k);
  if (int(s) >= int(Source::q8_0) && k % 32 != 0)
    throwRange(info.Env(), std::string(fn) + ": expected k: a multiple of 32, received " + std::to_string(k));
  const uint8_t* p = range(info, *file, offset, sourceBytes(s, count), fn);
  if (s == Source::f32 && reinterpret_cast<uintptr_t>(p) % alignof(float) == 0)
    return wrap(info.Env(), std::make_shared<PackedF32>(reinterpret_cast<const float*>(p), n, k), "PackedF32Matrix");
  std::vector<float> w(static_cast<size_t>(count));
  decode(s, p, size_t(count), w.data());
  return wrap(info.Env(), std::make_shared<PackedF32>(w.data(), n, k), "PackedF32Matrix");
}

}  // namespace

void initFiles(Napi::Env env, Napi::Object exports) {
  exports.Set("mapFile", function(env, "mapFile", MapFile));
  exports.Set("mappedRead", function(env, "mappedRead", Read));
  exports.Set("mappedQuantized", function(env, "mappedQuantized", AdoptQuantized));
  exports.Set("mappedDecode", function(env, "mappedDecode", Decode));
  exports.Set("mappedPackF32", function(env, "mappedPackF32", PackF32));
}

}  // namespace sparq::binding
