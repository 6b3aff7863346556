// The Bid calls' own queue and threads. A Bid reactor only authenticates,
// validates and submits here (or, while the queue is idle, runs the call
// itself: TryRunInline), so that gRPC's threads stay free to read,
// refuse and answer calls however busy the auctions are: nothing waits
// unseen in gRPC's executor, and a call's arrival is the moment its handler
// runs. Admission is decided at arrival (QueueLimit): a call is queued only
// if the work ahead of it, at the service time measured on these threads,
// lets it start within max_queue_delay and be answered before its deadline
// (tmax counted from arrival, or its gRPC deadline if sooner), and the
// oldest queued call has waited less than max_queue_delay (the wait
// observed, which also sees threads starved of the CPU); otherwise it
// is refused at once with RESOURCE_EXHAUSTED and counted in the metrics
// (reason queue or late); while the queue is idle, one call a second that
// the estimate would refuse as late is taken, so that an estimate past
// every deadline cannot lock the queue out. The threads run at a lower priority than gRPC's
// (Options::nice). Queued calls are decided in arrival order (FIFO:
// every one of them was admitted because it fits its deadline, so the
// oldest is the one with least time left); one whose deadline has passed
// by its turn is finished unanswered (DEADLINE_EXCEEDED, reason deadline).
// Thread-safe. Once warm, neither Submit nor the threads allocate.
#ifndef ATTEX_SERVER_BID_QUEUE_H_
#define ATTEX_SERVER_BID_QUEUE_H_

#include <cstdint>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/admission.h"
#include "server/metrics.h"

namespace attex::server {

class BidQueue final {
 public:
  struct Options {
    int threads = 1;
    absl::Duration max_queue_delay = absl::Milliseconds(20);
    // The threads' niceness (Linux, 0 to 19). Above gRPC's threads' 0, so
    // that when the CPU is short, reading, refusing and answering calls
    // comes first and what waits is the work queued here, whose wait is
    // measured and bounded: never calls the server has not seen yet.
    int nice = 10;
    // A call may run on the thread that submits it (TryRunInline) while
    // the measured service time is at most this; zero: never.
    absl::Duration max_inline_service = absl::ZeroDuration();
  };

  // One call's work. The submitter owns it and keeps it alive until Run has
  // returned; Run is called once, on a queue thread.
  class Task {
   public:
    absl::Time arrived;   // When the call was first seen.
    absl::Time deadline;  // When its answer is no longer wanted.
    // OK: decide and finish the call. Otherwise finish it with `status`
    // without deciding it.
    virtual void Run(const absl::Status& status) = 0;

   protected:
    ~Task() = default;
  };

  // `metrics` counts the refused calls; it must outlive the queue.
  BidQueue(const Options& options, Metrics* metrics);
  ~BidQueue();  // Stop.
  BidQueue(const BidQueue&) = delete;
  BidQueue& operator=(const BidQueue&) = delete;

  // Queues `task`, or refuses it (RESOURCE_EXHAUSTED, saying why; once
  // stopped UNAVAILABLE) and leaves it untouched.
  absl::Status Submit(Task* task);
  // Runs `task` on the calling thread, now, and returns true, where that
  // is as good as queueing it and cheaper: the queue is idle (nothing
  // queued, nothing running, inline or on its threads), the service time
  // measured is at most Options::max_inline_service and the call would be
  // admitted. A call handed to the queue's threads costs thread switches
  // and their cache misses (at 10,000 ads about as much as the auction);
  // one at a time inline leaves gRPC's other threads free to read and
  // refuse while it runs, and a busy queue (overload) keeps every call on
  // its threads, in arrival order, below gRPC's priority. Otherwise
  // returns false and leaves the task untouched (Submit it).
  bool TryRunInline(Task* task);
  // Calls TryRunInline ran.
  int64_t inline_runs() const;
  // Runs what is queued, then joins the threads; Submit refuses from now
  // on. Idempotent.
  void Stop();

  // For metrics and tests.
  int64_t waiting() const;
  absl::Duration service_time() const;
  int64_t limit() const;  // Calls that may wait at the measured service time.
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  void Loop(int nice);

  Metrics* const metrics_;
  mutable absl::Mutex mu_;
  QueueLimit limit_ ABSL_GUARDED_BY(mu_);
  // A ring of queued tasks: grows by doubling, never shrinks.
  std::vector<Task*> ring_ ABSL_GUARDED_BY(mu_);
  size_t head_ ABSL_GUARDED_BY(mu_) = 0;
  size_t size_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t running_ ABSL_GUARDED_BY(mu_) = 0;  // Inline ones too.
  // The running calls' start times, summed (since the Unix epoch): how long
  // they have run, all together, is running_ x now less this.
  absl::Duration started_sum_ ABSL_GUARDED_BY(mu_);
  // What the running calls have done so far, all together.
  absl::Duration RunningElapsed(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t inline_runs_ ABSL_GUARDED_BY(mu_) = 0;
  const absl::Duration max_inline_service_;
  // While idle, a call the estimate would refuse as late is taken once a
  // kProbeInterval, so that a stale estimate is measured again.
  static constexpr absl::Duration kProbeInterval = absl::Seconds(1);
  absl::Time last_probe_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// The CPUs this process may run on (its affinity mask, as taskset sets
// it), at least 1.
int UsableCpus();

}  // namespace attex::server

#endif  // ATTEX_SERVER_BID_QUEUE_H_
