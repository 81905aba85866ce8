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

// A typed array of the given element type holding at least `minLength` elements.
template <typename T>
T* typedArray(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, napi_typedarray_type type,
              uint64_t minLength) {
  Napi::Env env = info.Env();
  const std::string expected = std::string(fn) + ": expected " + name + ": " + typedArrayName(type);
  if (!info[i].IsTypedArray()) throwType(env, expected);
  auto array = info[i].As<Napi::TypedArray>();
  if (array.TypedArrayType() != type)
    throwType(env, expected + ", received " + typedArrayName(array.TypedArrayType()));
  const size_t length = array.ElementLength();
  if (length < minLength)
    throwRange(env, expected + " of length ≥ " + std::to_string(minLength) + ", received length " +
                        std::to_string(length));
  if (minLength == 0) return nullptr;
  auto* base = static_cast<uint8_t*>(array.ArrayBuffer().Data());
  if (!base) throwRange(env, expected + ", received a detached buffer");
  return reinterpret_cast<T*>(base + array.ByteOffset());
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

// Native objects travel to JS as externals tagged with their type, so a handle of the wrong
// kind (or a forged object) is refused before anything is dereferenced.
template <typename T>
Napi::External<std::shared_ptr<T>> wrap(Napi::Env env, std::shared_ptr<T> value, const napi_type_tag& tag,
                                        size_t bytes) {
  auto* holder = new std::shared_ptr<T>(std::move(value));
  auto external = Napi::External<std::shared_ptr<T>>::New(env, holder, [bytes](Napi::Env e, std::shared_ptr<T>* p) {
    Napi::MemoryManagement::AdjustExternalMemory(e, -int64_t(bytes));
    delete p;
  });
  external.TypeTag(&tag);
  Napi::MemoryManagement::AdjustExternalMemory(env, int64_t(bytes));
  return external;
}

template <typename T>
std::shared_ptr<T> unwrap(const Napi::CallbackInfo& info, size_t i, const napi_type_tag& tag, const char* fn,
                          const char* name, const char* kind) {
  const Napi::Value v = info[i];
  if (!v.IsExternal() || !v.As<Napi::External<std::shared_ptr<T>>>().CheckTypeTag(&tag))
    throwType(info.Env(), std::string(fn) + ": expected " + name + ": a " + kind);
  return *v.As<Napi::External<std::shared_ptr<T>>>().Data();
}

}  // namespace sparq::binding
