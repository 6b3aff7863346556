// A fixed pool of threads that run the parts of one attention pass, so that
// a large catalogue is read by more than one core (fork-join: the calling
// thread and the workers claim the parts one at a time until none is left,
// then the caller waits for the parts still running). Threads are started
// once, never per request. A pass is split into more parts than there are
// threads, and a thread takes the next part when it is done with one, so a
// worker that wakes late (its core busy with something else) costs the pass
// the parts it did not take, not its whole share: the caller takes them.
// One pass holds the pool at a time: a pass that finds it busy runs all its
// parts itself rather than waiting, so that no call ever queues behind
// another's pass. Which thread ran a part is not part of any result: each
// part writes its own state, which the caller merges in part order. Thread-
// safe.
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

  // The threads that run a pass's parts at once: the helpers and the caller.
  int concurrency() const { return static_cast<int>(threads_.size()) + 1; }
  // Parts a job is split into for each thread of concurrency() (where it is
  // large enough): enough that a thread that starts late leaves most of its
  // share to the others.
  static constexpr int kPartsPerThread = 4;

  // If no other pass holds the pool, runs part(p) once for every p in [0,
  // parts), each on this thread or a helper, whichever claims it first, and
  // returns true once all have returned. Returns false at once, having run
  // nothing, when it is busy.
  bool TryRun(int parts, absl::FunctionRef<void(int)> part);

  // Passes split so far, and passes that found the pool busy.
  int64_t split() const { return split_.load(std::memory_order_relaxed); }
  int64_t busy() const { return busy_count_.load(std::memory_order_relaxed); }

 private:
  void Loop();
  // Claims and runs parts of job `generation` while any is left; how many.
  int RunClaimed(uint32_t generation, const absl::FunctionRef<void(int)>* job, int parts);

  std::atomic<bool> held_{false};
  // The job's generation (high 32 bits) and its next unclaimed part: a
  // thread claims part p by moving it on from p, so a helper that wakes
  // after its job ended claims nothing of the next.
  std::atomic<uint64_t> claim_{0};
  absl::Mutex mu_;
  const absl::FunctionRef<void(int)>* job_ ABSL_GUARDED_BY(mu_) = nullptr;
  int parts_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  int done_ ABSL_GUARDED_BY(mu_) = 0;  // Parts of the job that have returned.
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> split_{0};
  std::atomic<int64_t> busy_count_{0};
  std::vector<std::thread> threads_;
};

}  // namespace attex::attention

#endif  // ATTEX_ATTENTION_PASS_WORKERS_H_
