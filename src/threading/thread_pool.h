#pragma once
// A fixed set of worker threads for data-parallel loops. The calling thread takes part, so a
// pool of N threads has N - 1 workers. Decode steps are short (a few hundred small loops per
// token), so workers spin briefly on a generation counter before sleeping on a condition variable.
// Passed explicitly (ExecContext) rather than being a global.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qwenrt {

class ThreadPool {
 public:
  // n_threads <= 0 means one per available core.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(task, thread) for task in [0, n_tasks); tasks are handed out dynamically, `thread`
  // is in [0, size()) and identifies per-thread scratch space. Returns when all are done.
  // Not reentrant: fn must not call run() on the same pool.
  void run(int64_t n_tasks, const std::function<void(int64_t task, int thread)>& fn);

  // Splits [0, n) into contiguous ranges of at least `grain` items, about one per thread
  // (several per thread when n is large, for balance), and runs fn(begin, end, thread).
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn);

  static int default_threads();

 private:
  void worker_loop(int thread);
  void work(int thread);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> active_{0};
  std::atomic<int64_t> next_task_{0};
  int64_t n_tasks_ = 0;
  const std::function<void(int64_t, int)>* job_ = nullptr;
  bool stop_ = false;
};

}  // namespace qwenrt
