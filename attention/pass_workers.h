// A fixed pool of threads that run the parts of one attention pass, so that
// a large catalogue is read by more than one core (fork-join: the calling
// thread runs part 0 while the workers run the others, then waits for
// them). Threads are started once, never per request. One pass holds the
// pool at a time: a pass that finds it busy runs all its parts itself
// rather than waiting, so that no call ever queues behind another's pass.
// Thread-safe.
#ifndef ATTEX_ATTENTION_PASS_WORKERS_H_
#define ATTEX_ATTENTION_PASS_WORKERS_H_

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

namespace attex::attention {

class PassWorkers final {
 public:
  // `threads` helpers (at least 1) besides the calling thread.
  explicit PassWorkers(int threads);
  ~PassWorkers();
  PassWorkers(const PassWorkers&) = delete;
  PassWorkers& operator=(const PassWorkers&) = delete;

  // The parts a pass is split into: the helpers and the caller.
  int parts() const { return static_cast<int>(threads_.size()) + 1; }

  // If no other pass holds the pool, runs part(p) for every p in [0,
  // parts()), part 0 on this thread, and returns true once all have
  // returned. Returns false at once, having run nothing, when it is busy.
  bool TryRun(absl::FunctionRef<void(int)> part);

  // Passes split so far, and passes that found the pool busy.
  int64_t split() const { return split_.load(std::memory_order_relaxed); }
  int64_t busy() const { return busy_count_.load(std::memory_order_relaxed); }

 private:
  void Loop(int part);

  std::atomic<bool> held_{false};
  absl::Mutex mu_;
  const absl::FunctionRef<void(int)>* job_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> split_{0};
  std::atomic<int64_t> busy_count_{0};
  std::vector<std::thread> threads_;
};

}  // namespace attex::attention

#endif  // ATTEX_ATTENTION_PASS_WORKERS_H_
