// One background thread that runs blocking work (the store) off the gRPC
// reactors. Tasks run in submission order, in batches: after each batch the
// `after_batch` hook runs (the catalogue is rebuilt once for all campaign
// changes of the batch), then each task's completion (which finishes its
// RPC). So a caller is answered only once its change is visible to Bid
// (and, for billing events, durable: the hook group-commits them).
#ifndef ATTEX_STORE_WORK_QUEUE_H_
#define ATTEX_STORE_WORK_QUEUE_H_

#include <deque>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace attex::store {

class WorkQueue final {
 public:
  // A task does the work and returns what answers the caller.
  using Completion = std::function<void()>;
  using Task = std::function<Completion()>;

  // after_batch also runs every `idle_tick` while no task comes (for
  // housekeeping such as releasing expired reservations).
  //
  // `gather`: a group-commit delay, in the manner of PostgreSQL's
  // commit_delay and commit_siblings. Once a batch held more than one task
  // (callers are arriving concurrently), the next batch starts no sooner
  // than `gather` after it began, so that a stream of changes is committed
  // and published in a few large batches rather than many of one or two,
  // each with its fsync and its catalogue version. A lone caller's task
  // (the previous batch held one) runs at once.
  explicit WorkQueue(std::function<void()> after_batch,
                     absl::Duration idle_tick = absl::InfiniteDuration(),
                     absl::Duration gather = absl::ZeroDuration());
  ~WorkQueue();  // Runs what is queued, then joins.

  // Queues `task`. Once Stop has returned there is no thread to run it:
  // the task, the after_batch hook and its completion then run on the
  // calling thread before Submit returns (a late caller during shutdown is
  // still answered, not dropped).
  void Submit(Task task);
  // Runs every queued task and stops the thread. Idempotent.
  void Stop();

 private:
  void Loop();
  void RunAlone(Task& task);

  std::function<void()> after_batch_;
  const absl::Duration idle_tick_;
  const absl::Duration gather_;
  absl::Mutex mu_;
  std::deque<Task> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;  // The thread has returned.
  absl::Mutex alone_mu_;                      // One task at a time once the thread is gone.
  std::thread thread_;
};

}  // namespace attex::store

#endif  // ATTEX_STORE_WORK_QUEUE_H_
