#include "server/bid_queue.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace attex::server {
namespace {

std::string Ms(absl::Duration d) {
  return absl::StrFormat("%.2f ms", absl::ToDoubleMilliseconds(d));
}

}  // namespace

BidQueue::BidQueue(const Options& options, Metrics* metrics)
    : metrics_(metrics),
      limit_(options.threads, options.max_queue_delay),
      ring_(64),
      max_inline_service_(options.max_inline_service) {
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    threads_.emplace_back([this, nice = options.nice] { Loop(nice); });
  }
}

BidQueue::~BidQueue() { Stop(); }

absl::Status BidQueue::Submit(Task* task) {
  Metrics::ShedReason reason;
  absl::Duration wait, service, oldest;
  int64_t waiting;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("the server is shutting down");
    const absl::Time now = absl::Now();
    std::optional<Metrics::ShedReason> refusal = limit_.Refusal(
        now, task->deadline, static_cast<int64_t>(size_), running_, RunningElapsed(now));
    // What the estimate cannot see: threads that do not get the CPU at all
    // between calls (a busy machine, a neighbour at a higher priority). The
    // oldest queued call's age is the wait actually observed; past the
    // bound, the queue is not draining as estimated and nothing joins it.
    oldest = size_ > 0 ? now - ring_[head_]->arrived : absl::ZeroDuration();
    if (!refusal.has_value() && oldest > limit_.max_delay()) refusal = Metrics::ShedReason::kQueue;
    // An estimate past every deadline would refuse every call as late, and
    // with nothing served it would never come down: while idle, one call a
    // second is taken anyway, to measure again.
    if (refusal == Metrics::ShedReason::kLate && size_ == 0 && running_ == 0 &&
        now - last_probe_ >= kProbeInterval) {
      refusal.reset();
      last_probe_ = now;
    }
    if (!refusal.has_value()) {
      if (size_ == ring_.size()) {
        // Full: unroll into a ring twice the size.
        std::vector<Task*> bigger(ring_.size() * 2);
        for (size_t i = 0; i < size_; ++i) bigger[i] = ring_[(head_ + i) % ring_.size()];
        ring_ = std::move(bigger);
        head_ = 0;
      }
      ring_[(head_ + size_) % ring_.size()] = task;
      ++size_;
      return absl::OkStatus();
    }
    reason = *refusal;
    waiting = static_cast<int64_t>(size_);
    wait = limit_.Wait(waiting, running_, RunningElapsed(now));
    service = limit_.service();
  }
  metrics_->Shed(reason);
  if (reason == Metrics::ShedReason::kQueue) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the server is overloaded: ", waiting, " Bid calls are queued, about ", Ms(wait),
        " of work, the oldest waiting ", Ms(oldest), "; retry with backoff or another replica"));
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "the server cannot answer this Bid within its deadline (tmax from arrival, or the gRPC "
      "deadline): about ",
      Ms(wait), " of work is queued ahead of it and one takes about ", Ms(service)));
}

bool BidQueue::TryRunInline(Task* task) {
  absl::Time start;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || size_ > 0 || running_ > 0 || limit_.service() > max_inline_service_ ||
        limit_.Refusal(absl::Now(), task->deadline, 0, running_).has_value()) {
      return false;
    }
    ++running_;
    start = absl::Now();
    started_sum_ += start - absl::UnixEpoch();
  }
  task->Run(absl::OkStatus());  // May free the task.
  const absl::Duration service = absl::Now() - start;
  absl::MutexLock lock(&mu_);
  --running_;
  started_sum_ -= start - absl::UnixEpoch();
  ++inline_runs_;
  limit_.Served(service);
  return true;
}

absl::Duration BidQueue::RunningElapsed(absl::Time now) const {
  return (now - absl::UnixEpoch()) * running_ - started_sum_;
}

int64_t BidQueue::inline_runs() const {
  absl::MutexLock lock(&mu_);
  return inline_runs_;
}

void BidQueue::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

int64_t BidQueue::waiting() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(size_);
}

absl::Duration BidQueue::service_time() const {
  absl::MutexLock lock(&mu_);
  return limit_.service();
}

int64_t BidQueue::limit() const {
  absl::MutexLock lock(&mu_);
  return limit_.limit();
}

void BidQueue::Loop(int nice) {
  pthread_setname_np(pthread_self(), "attex-bid");  // For top -H, perf and ps.
  // Linux's niceness is per thread. Raising one's own needs no privilege;
  // where it fails the thread keeps its priority.
  if (nice > 0) setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice);
  for (;;) {
    Task* task;
    absl::Time start;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](BidQueue* q) ABSL_NO_THREAD_SAFETY_ANALYSIS { return q->stopping_ || q->size_ > 0; },
          this));
      if (size_ == 0) return;  // Stopping, and nothing left.
      task = ring_[head_];
      head_ = (head_ + 1) % ring_.size();
      --size_;
      ++running_;
      start = absl::Now();
      started_sum_ += start - absl::UnixEpoch();
    }
    // Admitted calls fit their deadline when they arrive; one that no
    // longer does (the service time rose meanwhile) is not decided.
    const bool wanted = start < task->deadline;
    if (wanted) {
      task->Run(absl::OkStatus());
    } else {
      metrics_->Shed(Metrics::ShedReason::kDeadline);
      task->Run(absl::DeadlineExceededError(
          "the Bid's deadline (tmax from arrival, or the gRPC deadline) passed before its turn"));
    }
    const absl::Duration service = absl::Now() - start;
    absl::MutexLock lock(&mu_);
    --running_;
    started_sum_ -= start - absl::UnixEpoch();
    if (wanted) limit_.Served(service);
  }
}

int UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

}  // namespace attex::server
