// A small persistent pool. parallelFor hands out task indices through one atomic counter;
// the caller works too, so threads() == 1 means no worker is ever woken.
//
// Waking a sleeping thread costs tens of microseconds and the scheduler often puts the woken
// worker on the caller's CPU, so the two alternate instead of overlapping. Workers therefore
// poll for a short while after each run before they sleep, and the caller polls before it
// blocks waiting for them: back-to-back calls (every layer of a model) rarely sleep.
// Measured on 2 Zen 4 cores, 512³ VNNI GEMM: 2 threads went from 1.61–1.68× to 1.76–1.92× one thread.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <string>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "sparq/runtime.h"

#if defined(__linux__)
#include <sched.h>
#endif

namespace sparq {

namespace {

constexpr auto kSpin = std::chrono::microseconds(200);

// Poll done() for up to kSpin; true when it held. The poll yields rather than pauses: when the
// scheduler has put a worker on the caller's CPU, yielding lets the other run (and lets the
// balancer move one of them) instead of the two taking turns at full time slices.
template <typename Done>
bool spinUntil(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 1;; i++) {
    if (done()) return true;
    std::this_thread::yield();
    if ((i & 15) == 0 && std::chrono::steady_clock::now() > deadline) return false;
  }
}

// Where workers run (sparq/runtime.h). The caller stays unpinned in every mode: it is Node's
// thread or libuv's. `off` (the default) leaves the workers to the scheduler; `fixed` keeps worker i
// on the (i+1)-th CPU the process may use, which assumes the caller sits on the first; `caller`
// re-pins the workers around wherever the caller is when a call starts.
// Measured (bench/pool-suites.js, 2 cores): on a quiet machine the pinned modes were 0–10% faster;
// with one CPU busy, a worker pinned there makes every call wait for it, and 2-thread calls ran
// ~10× slower (q4_0 GEMV 1×4096²: 8 vs 76–81 GOP/s unpinned). Hence `off` by default.
// SPARQ_PIN=off|fixed|caller (0 = off, 1 = fixed) sets the mode at load.
Pinning pinningFromEnv() {
  const char* v = std::getenv("SPARQ_PIN");
  Pinning mode = Pinning::off;
  if (v && !pinningFromName(v, &mode)) mode = std::string(v) == "1" ? Pinning::fixed : Pinning::off;
  return mode;
}
std::atomic<Pinning> gPin{pinningFromEnv()};

// The CPUs of the process's affinity mask, in order; empty where that cannot be known.
std::vector<int> allowedCpus() {
  std::vector<int> cpus;
#if defined(__linux__)
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
      if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
#endif
  return cpus;
}

int currentCpu() {
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

// Pins `t` to one CPU, or lets it run anywhere in `cpus` when `cpu` < 0.
void pinThread(std::thread& t, int cpu, const std::vector<int>& cpus) {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu >= 0) {
    CPU_SET(cpu, &set);
  } else {
    for (int c : cpus) CPU_SET(c, &set);
  }
  pthread_setaffinity_np(t.native_handle(), sizeof(set), &set);
#endif
}

class Pool {
 public:
  ~Pool() { resize(0); }

  int workers() const { return int(workers_.size()); }

  void resize(int count) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stop_ = false;
    mode_ = gPin.load();
    cpus_ = allowedCpus();
    placedFor_ = -2;
    // A worker starts from the generation current now, so a run() that begins before the
    // thread is scheduled still counts as new work for it.
    for (int i = 0; i < count; i++) {
      workers_.emplace_back([this, start = generation_.load()] { loop(start); });
#if defined(__linux__)
      pthread_setname_np(workers_.back().native_handle(), "sparq-pool");  // as top -H and /proc show it
#endif
      if (mode_ == Pinning::fixed && cpus_.size() >= 2) pinThread(workers_.back(), cpus_[(i + 1) % cpus_.size()], cpus_);
    }
  }

  void run(int tasks, const std::function<void(int)>& fn) {
    const int helpers = std::min(workers(), tasks - 1);
    if (helpers <= 0) {
      for (int i = 0; i < tasks; i++) fn(i);
      return;
    }
    if (mode_ == Pinning::caller) followCaller();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = &fn;
      tasks_ = tasks;
      next_.store(0);
      active_.store(helpers);
      wanted_ = helpers;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    work();
    // Wait for every helper even when a task failed: `fn` lives in the caller's frame, so no
    // worker may still be inside it when this returns or rethrows.
    if (!spinUntil([this] { return active_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [this] { return active_.load() == 0; });
    }
    std::exception_ptr failure;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = nullptr;
      std::swap(failure, failure_);
    }
    if (failure) std::rethrow_exception(failure);
  }

 private:
  // Runs tasks until none is left. A task that throws (std::bad_alloc from its scratch, say) is
  // caught here, on whichever thread ran it: the first exception is kept for the caller to
  // rethrow, and the tasks not yet started are skipped.
  void work() {
    for (int i; (i = next_.fetch_add(1)) < tasks_;) {
      try {
        (*fn_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!failure_) failure_ = std::current_exception();
        next_.store(tasks_);
      }
    }
  }

  // Pinning::caller: the workers go to the CPUs other than the caller's, taken in order from the
  // one after it. One sched_getcpu per call; the affinity calls only when the caller has moved.
  void followCaller() {
    const int cpu = currentCpu();
    if (cpu == placedFor_ || cpus_.size() < 2) return;
    placedFor_ = cpu;
    const auto at = std::find(cpus_.begin(), cpus_.end(), cpu);
    if (at == cpus_.end()) {  // not a CPU of the mask (it changed since): let them run anywhere
      for (auto& t : workers_) pinThread(t, -1, cpus_);
      return;
    }
    const size_t callerIndex = size_t(at - cpus_.begin()), others = cpus_.size() - 1;
    for (size_t i = 0; i < workers_.size(); i++)
      pinThread(workers_[i], cpus_[(callerIndex + 1 + i % others) % cpus_.size()], cpus_);
  }

  void loop(uint64_t seen) {
    for (;;) {
      spinUntil([&] { return generation_.load(std::memory_order_acquire) != seen; });
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_.load() != seen; });
        if (stop_) return;
        seen = generation_.load();
        if (wanted_ == 0) continue;
        --wanted_;
      }
      work();
      if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* fn_ = nullptr;
  int tasks_ = 0, wanted_ = 0;
  std::atomic<int> active_{0};
  std::atomic<int> next_{0};
  std::atomic<uint64_t> generation_{0};
  std::exception_ptr failure_;  // the first task's exception of the current run
  bool stop_ = false;
  Pinning mode_ = Pinning::off;  // how the current workers were placed
  std::vector<int> cpus_;        // the affinity mask when they were made
  int placedFor_ = -2;           // Pinning::caller: the caller's CPU they were last placed around
};

std::mutex gCallers;  // one parallelFor at a time (sync calls and async workers share the pool)
int gThreads = 0;

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

namespace {
std::atomic<int64_t> gScratchBytes{0};
}

int64_t scratchBytes() { return gScratchBytes.load(std::memory_order_relaxed); }
void noteScratchBytes(int64_t delta) { gScratchBytes.fetch_add(delta, std::memory_order_relaxed); }

// The CPUs this process may run on (its affinity mask), like Node's os.availableParallelism().
int defaultThreads() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, std::min(CPU_COUNT(&set), 256));
#endif
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : int(std::min(hw, 256u));
}

int threads() {
  std::lock_guard<std::mutex> lock(gCallers);
  if (gThreads == 0) gThreads = defaultThreads();
  return gThreads;
}

void setThreads(int n) {
  std::lock_guard<std::mutex> lock(gCallers);
  gThreads = std::max(1, n);
  pool().resize(gThreads - 1);
}

Pinning pinning() { return gPin.load(); }

void setPinning(Pinning mode) {
  std::lock_guard<std::mutex> lock(gCallers);
  gPin.store(mode);
  if (gThreads != 0) pool().resize(gThreads - 1);  // new workers, placed the new way
}

const char* pinningName(Pinning mode) {
  switch (mode) {
    case Pinning::off: return "off";
    case Pinning::fixed: return "fixed";
    case Pinning::caller: return "caller";
  }
  return "fixed";
}

bool pinningFromName(const std::string& name, Pinning* mode) {
  for (Pinning m : {Pinning::off, Pinning::fixed, Pinning::caller})
    if (name == pinningName(m)) {
      *mode = m;
      return true;
    }
  return false;
}

void parallelFor(int tasks, const std::function<void(int)>& fn) {
  if (tasks <= 0) return;
  std::lock_guard<std::mutex> lock(gCallers);
  if (gThreads == 0) {
    gThreads = defaultThreads();
    pool().resize(gThreads - 1);
  }
  pool().run(tasks, fn);
}

}  // namespace sparq
