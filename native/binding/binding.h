// Shared pieces of the binding: exception-safe function export and promise-returning async work.
#pragma once
#include <napi.h>

#include <cstring>
#include <functional>
#include <new>
#include <string>
#include <vector>

namespace sparq::binding {

using Callback = Napi::Value (*)(const Napi::CallbackInfo&);

// Every export goes through here: a C++ exception other than a Napi::Error (bad_alloc, say)
// becomes a JS exception instead of terminating the process.
inline Napi::Function function(Napi::Env env, Callback fn) {
  return Napi::Function::New(env, [fn](const Napi::CallbackInfo& info) -> Napi::Value {
    try {
      return fn(info);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw Napi::RangeError::New(info.Env(), "sparq: out of memory");
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("sparq: ") + e.what());
    }
  });
}

// Runs `execute` on the libuv pool; `execute` returns "" on success or a RangeError message.
// `complete` runs on the main thread and builds the resolved value.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<std::string()> execute, std::function<Napi::Value(Napi::Env)> complete)
      : Napi::AsyncWorker(env, "sparq"), deferred_(Napi::Promise::Deferred::New(env)), execute_(std::move(execute)),
        complete_(std::move(complete)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      rangeError_ = execute_();
    } catch (const std::bad_alloc&) {
      rangeError_ = "sparq: out of memory";
    } catch (const std::exception& e) {
      SetError(std::string("sparq: ") + e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!rangeError_.empty()) {
      deferred_.Reject(Napi::RangeError::New(env, rangeError_).Value());
      return;
    }
    try {
      deferred_.Resolve(complete_(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<std::string()> execute_;
  std::function<Napi::Value(Napi::Env)> complete_;
  std::string rangeError_;
};

inline Napi::Value runAsync(Napi::Env env, std::function<std::string()> execute,
                            std::function<Napi::Value(Napi::Env)> complete) {
  auto* worker = new PromiseWorker(env, std::move(execute), std::move(complete));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// An async result handed back to JS: a new Float32Array holding a copy of v.
inline Napi::Value floatArray(Napi::Env env, const std::vector<float>& v) {
  auto y = Napi::Float32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(y.Data(), v.data(), v.size() * sizeof(float));
  return y;
}

void initRuntime(Napi::Env env, Napi::Object exports);
void initGemm(Napi::Env env, Napi::Object exports);
void initSparse(Napi::Env env, Napi::Object exports);
void initDense(Napi::Env env, Napi::Object exports);
void initQuant(Napi::Env env, Napi::Object exports);

}  // namespace sparq::binding
