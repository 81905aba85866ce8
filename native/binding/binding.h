// Shared pieces of the binding: exception-safe function export and promise-returning async work.
#pragma once
#include <napi.h>

#include <cstring>
#include <functional>
#include <new>
#include <string>
#include <vector>

#include "handles.h"

namespace sparq::binding {

using Callback = Napi::Value (*)(const Napi::CallbackInfo&);

// The message of an allocation that failed, in the call named `fn`.
inline std::string outOfMemory(const char* fn) {
  return std::string(fn) + ": out of memory (a native allocation failed; nothing was changed)";
}

// Every export goes through here: a C++ exception other than a Napi::Error (bad_alloc, say,
// also one thrown by a pool task and rethrown on this thread) becomes a JS exception instead
// of terminating the process.
inline Napi::Function function(Napi::Env env, const char* name, Callback fn) {
  return Napi::Function::New(env, [name, fn](const Napi::CallbackInfo& info) -> Napi::Value {
    // Whatever the call grew (a layout packed for a new tier, scratch) is reported when it ends.
    struct Reconcile {
      napi_env env;
      ~Reconcile() { reconcileTouched(env); }
    } reconcile{info.Env()};
    try {
      return fn(info);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw Napi::RangeError::New(info.Env(), outOfMemory(name));
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string(name) + ": " + e.what());
    } catch (...) {
      throw Napi::Error::New(info.Env(), std::string(name) + ": unknown native error");
    }
  });
}

// Runs `execute` on the libuv pool; `execute` returns "" on success or a RangeError message.
// `complete` runs on the main thread and builds the resolved value.
//
// Written on raw Node-API rather than Napi::AsyncWorker because of teardown: when a worker
// thread is terminated (or calls process.exit) with work in flight, Node still runs the
// completion, but its environment can no longer run JS, so every Node-API call there fails.
// node-addon-api turns such a failure into a C++ exception thrown out of a C callback, which
// terminates the process. Here nothing in the completion can throw past it: every status is
// checked, a failure drops the result (the promise can no longer be observed), and the work's
// state is freed either way. `execute` touches only native-owned memory (copies and matrices
// held by shared_ptr), so it never depends on the environment that queued it.
class AsyncCall {
 public:
  static Napi::Value queue(Napi::Env env, const char* fn, std::function<std::string()> execute,
                           std::function<Napi::Value(Napi::Env)> complete) {
    auto call = std::make_unique<AsyncCall>(fn, std::move(execute), std::move(complete));
    napi_value promise, name;
    check(env, napi_create_promise(env, &call->deferred_, &promise));
    check(env, napi_create_string_utf8(env, "sparq", NAPI_AUTO_LENGTH, &name));
    if (napi_create_async_work(env, nullptr, name, run, done, call.get(), &call->work_) != napi_ok ||
        napi_queue_async_work(env, call->work_) != napi_ok) {
      if (call->work_) napi_delete_async_work(env, call->work_);
      napi_value error = Napi::Error::New(env, "sparq: could not queue async work").Value();
      napi_reject_deferred(env, call->deferred_, error);
      return Napi::Value(env, promise);
    }
    call.release();  // owned by the work from here; freed in done()
    return Napi::Value(env, promise);
  }

  AsyncCall(const char* fn, std::function<std::string()> execute, std::function<Napi::Value(Napi::Env)> complete)
      : fn_(fn), execute_(std::move(execute)), complete_(std::move(complete)) {}

 private:
  static void check(napi_env env, napi_status status) {
    if (status != napi_ok) throw Napi::Error::New(env, "sparq: could not create a promise");
  }

  // On a libuv thread: no Node-API, no exception out.
  static void run(napi_env, void* data) noexcept {
    auto* call = static_cast<AsyncCall*>(data);
    try {
      call->rangeError_ = call->execute_();
    } catch (const std::bad_alloc&) {
      call->rangeError_ = outOfMemory(call->fn_);
    } catch (const std::exception& e) {
      call->error_ = std::string(call->fn_) + ": " + e.what();
    } catch (...) {
      call->error_ = std::string(call->fn_) + ": unknown native error";
    }
  }

  // On the main thread, or during the environment's teardown (then status may be napi_cancelled
  // and every call below may fail: the result is dropped).
  static void done(napi_env env, napi_status status, void* data) noexcept {
    std::unique_ptr<AsyncCall> call(static_cast<AsyncCall*>(data));
    napi_delete_async_work(env, call->work_);
    reconcileScratch(env);
    if (status != napi_ok) return;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    try {
      call->settle(Napi::Env(env));
    } catch (...) {
      // The environment is going away (a JS value could not be made); nobody can observe the promise.
    }
    napi_close_handle_scope(env, scope);
  }

  // Resolves with complete_()'s value, or rejects with the call's error.
  void settle(Napi::Env env) {
    napi_value value;
    bool ok = false;
    if (!rangeError_.empty()) {
      value = Napi::RangeError::New(env, rangeError_).Value();
    } else if (!error_.empty()) {
      value = Napi::Error::New(env, error_).Value();
    } else {
      try {
        value = complete_(env);
        ok = true;
      } catch (const Napi::Error& e) {
        value = e.Value();
      } catch (const std::bad_alloc&) {
        value = Napi::RangeError::New(env, outOfMemory(fn_)).Value();
      }
    }
    if (ok) napi_resolve_deferred(env, deferred_, value);
    else napi_reject_deferred(env, deferred_, value);
  }

  const char* fn_;  // a string literal
  std::function<std::string()> execute_;
  std::function<Napi::Value(Napi::Env)> complete_;
  std::string rangeError_, error_;
  napi_deferred deferred_ = nullptr;
  napi_async_work work_ = nullptr;
};

inline Napi::Value runAsync(Napi::Env env, const char* fn, std::function<std::string()> execute,
                            std::function<Napi::Value(Napi::Env)> complete) {
  return AsyncCall::queue(env, fn, std::move(execute), std::move(complete));
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
void initOps(Napi::Env env, Napi::Object exports);
void initCluster(Napi::Env env, Napi::Object exports);
void initFiles(Napi::Env env, Napi::Object exports);

}  // namespace sparq::binding
