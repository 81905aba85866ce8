// Native-owned objects as JS handles: type-tagged externals whose bytes are reported to V8, that
// can be disposed of early, and whose lazily grown parts (a layout packed for a new tier,
// thread-local scratch) are reported when they grow.
//
// Every handle is an External tagged kHandleTag whose data is a Holder; the Holder names the
// object's kind, so a forged object or a handle of the wrong kind is refused before anything is
// dereferenced. dispose() drops the Holder's reference at once: the object is freed then, unless
// an async call in flight still holds it (its own shared_ptr), in which case it goes when that
// call ends. The finalizer, which may run during the environment's teardown, makes only raw
// Node-API calls whose status it ignores.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "sparq/runtime.h"

namespace sparq::binding {

constexpr napi_type_tag kHandleTag = {0x73706172712d6862ULL, 0x616e646c65303031ULL};

// The bytes an object owns: its ownedBytes() when it has one (objects that may borrow memory, such
// as a QuantizedMatrix adopted from a mapped file), else bytes(); other objects specialise this.
template <typename T>
auto ownedBytesOf(const T& value, int) -> decltype(size_t(value.ownedBytes())) {
  return value.ownedBytes();
}
template <typename T>
size_t ownedBytesOf(const T& value, long) {
  return value.bytes();
}
template <typename T>
size_t ownedBytes(const T& value) {
  return ownedBytesOf(value, 0);
}

struct Holder {
  const char* kind;                        // "PackedInt8Matrix", ...; identifies the type T
  std::shared_ptr<void> value;             // null once disposed
  size_t (*measure)(const void*) = nullptr;
  int64_t reported = 0;                    // bytes reported to V8 (and to nativeMemory) for it
};

// Process-wide totals behind nativeMemory(): bytes of live objects, as last reported.
inline std::atomic<int64_t>& objectBytes() {
  static std::atomic<int64_t> total{0};
  return total;
}

inline void report(napi_env env, int64_t delta) {
  if (delta == 0) return;
  int64_t unused;
  napi_adjust_external_memory(env, delta, &unused);  // may fail during teardown; nothing to do then
}

// Brings what was reported for `h` up to date with its size now (0 once disposed).
inline void reconcile(napi_env env, Holder& h) {
  const int64_t now = h.value ? int64_t(h.measure(h.value.get())) : 0;
  const int64_t delta = now - h.reported;
  if (delta == 0) return;
  h.reported = now;
  objectBytes() += delta;
  report(env, delta);
}

// Thread-local scratch is process-wide (runtime scratchBytes()); each JS thread reports what it
// last saw of it to its own isolate, so with several workers each counts all of it.
inline void reconcileScratch(napi_env env) {
  thread_local int64_t reportedScratch = 0;
  const int64_t now = scratchBytes();
  report(env, now - reportedScratch);
  reportedScratch = now;
}

// The holders the current call has used: their sizes are reconciled when it returns, since a
// call may pack a new layout into one of them. One JS thread per list, and no finalizer runs
// during a call, so the pointers stay valid until then.
inline std::vector<Holder*>& touched() {
  thread_local std::vector<Holder*> list;
  return list;
}

inline void reconcileTouched(napi_env env) {
  auto& list = touched();
  for (Holder* h : list) reconcile(env, *h);
  list.clear();
  reconcileScratch(env);
}

template <typename T>
Napi::External<Holder> wrap(Napi::Env env, std::shared_ptr<T> value, const char* kind) {
  auto* holder = new Holder{kind, std::move(value),
                            [](const void* p) { return ownedBytes(*static_cast<const T*>(p)); }};
  auto external = Napi::External<Holder>::New(env, holder, [](Napi::Env e, Holder* h) {
    h->value.reset();
    reconcile(e, *h);
    delete h;
  });
  external.TypeTag(&kHandleTag);
  reconcile(env, *holder);
  return external;
}

// The Holder behind argument i when it is a sparq handle, else null.
inline Holder* holderOf(const Napi::Value& v) {
  if (!v.IsExternal()) return nullptr;
  auto external = v.As<Napi::External<Holder>>();
  return external.CheckTypeTag(&kHandleTag) ? external.Data() : nullptr;
}

// The object behind argument i, which must be a live handle of the given kind.
template <typename T>
std::shared_ptr<T> unwrap(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                          const char* kind) {
  Holder* h = holderOf(info[i]);
  const std::string expected = std::string(fn) + ": expected " + name + ": a " + kind;
  if (!h || std::string(h->kind) != kind) throwType(info.Env(), expected);
  if (!h->value) throwType(info.Env(), expected + ", received a disposed " + kind);
  touched().push_back(h);
  return std::static_pointer_cast<T>(h->value);
}

}  // namespace sparq::binding
