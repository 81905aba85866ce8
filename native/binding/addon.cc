// The addon's entry point and the runtime functions: tiers, CPU info, threads.
#include "args.h"
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

Napi::Value DefaultThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), defaultThreads());
}

}  // namespace

void initRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("cpuInfo", function(env, CpuInfoJs));
  exports.Set("isa", function(env, Isa));
  exports.Set("setIsa", function(env, SetIsa));
  exports.Set("threads", function(env, Threads));
  exports.Set("setThreads", function(env, SetThreads));
  exports.Set("defaultThreads", function(env, DefaultThreads));
}

}  // namespace sparq::binding

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  sparq::binding::initRuntime(env, exports);
  sparq::binding::initGemm(env, exports);
  sparq::binding::initQuant(env, exports);
  sparq::binding::initSparse(env, exports);
  sparq::binding::initDense(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(sparq, Init)
