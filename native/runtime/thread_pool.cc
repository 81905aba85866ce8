// A small persistent pool. parallelFor hands out task indices through one atomic counter;
// the caller works too, so threads() == 1 means no worker is ever woken.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "sparq/runtime.h"

#if defined(__linux__)
#include <sched.h>
#endif

namespace sparq {

namespace {

class Pool {
 public:
  ~Pool() { resize(0); }

  int workers() const { return int(workers_.size()); }

  void resize(int count) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      ++generation_;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stop_ = false;
    // A worker starts from the generation current now, so a run() that begins before the
    // thread is scheduled still counts as new work for it.
    for (int i = 0; i < count; i++) workers_.emplace_back([this, start = generation_] { loop(start); });
  }

  void run(int tasks, const std::function<void(int)>& fn) {
    const int helpers = std::min(workers(), tasks - 1);
    if (helpers <= 0) {
      for (int i = 0; i < tasks; i++) fn(i);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = &fn;
      tasks_ = tasks;
      next_.store(0);
      active_ = helpers;
      wanted_ = helpers;
      ++generation_;
    }
    wake_.notify_all();
    work();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return active_ == 0; });
    fn_ = nullptr;
  }

 private:
  void work() {
    for (int i; (i = next_.fetch_add(1)) < tasks_;) (*fn_)(i);
  }

  void loop(uint64_t seen) {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (wanted_ == 0) continue;
        --wanted_;
      }
      work();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (--active_ == 0) done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* fn_ = nullptr;
  int tasks_ = 0, active_ = 0, wanted_ = 0;
  std::atomic<int> next_{0};
  uint64_t generation_ = 0;
  bool stop_ = false;
};

std::mutex gCallers;  // one parallelFor at a time (sync calls and async workers share the pool)
int gThreads = 0;

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

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
