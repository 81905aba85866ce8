// Argument re-checks for the binding. The TS layer validates first with friendlier messages;
// these checks exist because memory safety may not depend on JS: every pointer handed to a
// kernel comes from a typed array of the right type whose length was checked here.
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sparq::binding {

[[noreturn]] inline void throwType(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}
[[noreturn]] inline void throwRange(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, msg);
}

inline const char* typedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "TypedArray";
  }
}

// An integer argument in [lo, hi].
inline int64_t integer(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t lo,
                       int64_t hi) {
  Napi::Env env = info.Env();
  if (!info[i].IsNumber()) throwType(env, std::string(fn) + ": expected " + name + ": an integer");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v == v) || v != double(int64_t(v))) throwType(env, std::string(fn) + ": expected " + name + ": an integer");
  if (v < double(lo) || v > double(hi))
    throwRange(env, std::string(fn) + ": expected " + name + " in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                        "], received " + std::to_string(int64_t(v)));
  return int64_t(v);
}

// What a typed array argument holds, read with napi_get_typedarray_info alone: its data pointer
// works for a SharedArrayBuffer as for an ArrayBuffer (Napi::TypedArray::ArrayBuffer() refuses
// a shared one with a bare "Invalid argument"), and a detached buffer gives null data.
struct ArrayView {
  napi_typedarray_type type;
  size_t length;
  uint8_t* data;
  bool shared;  // backed by a SharedArrayBuffer: another thread may write it while we read
};

inline ArrayView viewOf(Napi::Env env, napi_value value) {
  ArrayView view{};
  napi_value buffer;
  void* data = nullptr;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, value, &view.type, &view.length, &data, &buffer, &offset) != napi_ok)
    throwType(env, "sparq: could not read a typed array");
  view.data = static_cast<uint8_t*>(data);
  bool plain = false;
  view.shared = napi_is_arraybuffer(env, buffer, &plain) == napi_ok && !plain;
  return view;
}

// A typed array of the given element type holding at least `minLength` elements. A shared
// buffer is accepted: sync kernels read and write it in place (values another thread writes
// meanwhile give unspecified results, never unsafety, since nothing here re-reads a length or
// an index from it; builders copy shared index arrays before validating them).
template <typename T>
T* typedArray(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, napi_typedarray_type type,
              uint64_t minLength) {
  Napi::Env env = info.Env();
  const std::string expected = std::string(fn) + ": expected " + name + ": " + typedArrayName(type);
  if (!info[i].IsTypedArray()) throwType(env, expected);
  const ArrayView view = viewOf(env, info[i]);
  if (view.type != type) throwType(env, expected + ", received " + typedArrayName(view.type));
  if (view.length < minLength)
    throwRange(env, expected + " of length ≥ " + std::to_string(minLength) + ", received length " +
                        std::to_string(view.length));
  if (minLength == 0) return nullptr;
  if (!view.data) throwRange(env, expected + ", received a detached buffer");
  return reinterpret_cast<T*>(view.data);
}

// A copy of a Float32Array argument's first `count` elements, for work off the main thread. An
// optional argument that is undefined gives an empty copy.
inline std::shared_ptr<std::vector<float>> floatsCopy(const Napi::CallbackInfo& info, size_t i, const char* fn,
                                                      const char* name, uint64_t count, bool optional = false) {
  auto copy = std::make_shared<std::vector<float>>();
  if (optional && info[i].IsUndefined()) return copy;
  const float* p = typedArray<float>(info, i, fn, name, napi_float32_array, count);
  if (count) copy->assign(p, p + count);
  return copy;
}

}  // namespace sparq::binding
