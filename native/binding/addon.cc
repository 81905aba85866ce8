// The addon's entry point and the runtime functions: tiers, CPU info, threads.
#include "args.h"
#include "handles.h"
#include "binding.h"
#include "sparq/runtime.h"

namespace sparq::binding {

namespace {

Napi::Array tierList(Napi::Env env, const std::vector<Tier>& tiers) {
  auto out = Napi::Array::New(env, tiers.size());
  for (size_t i = 0; i < tiers.size(); i++) out.Set(uint32_t(i), tierName(tiers[i]));
  return out;
}

Napi::Value CpuInfoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CpuInfo& cpu = cpuInfo();
  auto out = Napi::Object::New(env);
  out.Set("arch", cpu.arch);
  auto features = Napi::Array::New(env, cpu.features.size());
  for (size_t i = 0; i < cpu.features.size(); i++) features.Set(uint32_t(i), cpu.features[i]);
  out.Set("features", features);
  out.Set("built", tierList(env, cpu.built));
  out.Set("supported", tierList(env, cpu.supported));
  out.Set("envError", capError().empty() ? env.Null() : Napi::String::New(env, capError()));
  return out;
}

Napi::Value Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), tierName(activeTier())); }

// setIsa(name | null): cap the tier; a tier that is not built or not supported throws.
Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info[0].IsNull() || info[0].IsUndefined()) {
    clearTierCap();
    return env.Undefined();
  }
  if (!info[0].IsString()) throwType(env, "setIsa: expected tier: a string or null");
  const std::string name = info[0].As<Napi::String>();
  Tier t;
  if (!tierFromName(name, &t)) throwRange(env, "setIsa: unknown tier '" + name + "'");
  if (!setTierCap(t)) throwRange(env, "setIsa: tier '" + name + "' is not supported on this CPU or not built");
  return env.Undefined();
}

Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), threads()); }

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  setThreads(int(integer(info, 0, "setThreads", "n", 1, 1024)));
  return info.Env().Undefined();
}

Napi::Value Pinning(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), pinningName(pinning())); }

Napi::Value SetPinning(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throwType(info.Env(), "setPinning: expected mode: 'off', 'fixed' or 'caller'");
  sparq::Pinning mode;
  if (!pinningFromName(info[0].As<Napi::String>(), &mode))
    throwRange(info.Env(), "setPinning: expected mode: 'off', 'fixed' or 'caller'");
  setPinning(mode);
  return info.Env().Undefined();
}

Napi::Value DefaultThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), defaultThreads());
}

// dispose(handle): frees a native-owned object now instead of at garbage collection. Disposing
// twice is harmless; an async call in flight keeps its own reference until it ends.
Napi::Value Dispose(const Napi::CallbackInfo& info) {
  Holder* h = holderOf(info[0]);
  if (!h) throwType(info.Env(), "dispose: expected a sparq handle");
  h->value.reset();
  reconcile(info.Env(), *h);
  return info.Env().Undefined();
}

Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  Holder* h = holderOf(info[0]);
  if (!h) throwType(info.Env(), "isDisposed: expected a sparq handle");
  return Napi::Boolean::New(info.Env(), !h->value);
}

// nativeMemory() → [objects, scratch]: bytes held by live native-owned objects in this process
// (as last reported) and by thread-local scratch.
Napi::Value NativeMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto out = Napi::Array::New(env, 2);
  out.Set(0u, double(objectBytes().load()));
  out.Set(1u, double(scratchBytes()));
  return out;
}

}  // namespace

void initRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("cpuInfo", function(env, "cpuInfo", CpuInfoJs));
  exports.Set("isa", function(env, "isa", Isa));
  exports.Set("setIsa", function(env, "setIsa", SetIsa));
  exports.Set("threads", function(env, "threads", Threads));
  exports.Set("setThreads", function(env, "setThreads", SetThreads));
  exports.Set("defaultThreads", function(env, "defaultThreads", DefaultThreads));
  exports.Set("pinning", function(env, "pinning", Pinning));
  exports.Set("setPinning", function(env, "setPinning", SetPinning));
  exports.Set("dispose", function(env, "dispose", Dispose));
  exports.Set("isDisposed", function(env, "isDisposed", IsDisposed));
  exports.Set("nativeMemory", function(env, "nativeMemory", NativeMemory));
}

}  // namespace sparq::binding

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  sparq::binding::initRuntime(env, exports);
  sparq::binding::initGemm(env, exports);
  sparq::binding::initQuant(env, exports);
  sparq::binding::initSparse(env, exports);
  sparq::binding::initDense(env, exports);
  sparq::binding::initOps(env, exports);
  sparq::binding::initCluster(env, exports);
  sparq::binding::initFiles(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(sparq, Init)
