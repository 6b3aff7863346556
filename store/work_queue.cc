#include "store/work_queue.h"

#include <pthread.h>

#include <vector>

namespace attex::store {

WorkQueue::WorkQueue(std::function<void()> after_batch, absl::Duration idle_tick,
                     absl::Duration gather)
    : after_batch_(std::move(after_batch)),
      idle_tick_(idle_tick),
      gather_(gather),
      thread_([this] { Loop(); }) {}

WorkQueue::~WorkQueue() { Stop(); }

void WorkQueue::Submit(Task task) {
  {
    absl::MutexLock lock(&mu_);
    if (!exited_) {
      tasks_.push_back(std::move(task));
      return;
    }
  }
  RunAlone(task);
}

void WorkQueue::RunAlone(Task& task) {
  absl::MutexLock lock(&alone_mu_);
  Completion done = task();
  if (after_batch_) after_batch_();
  if (done) done();
}

void WorkQueue::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void WorkQueue::Loop() {
  pthread_setname_np(pthread_self(), "attex-store");  // For top -H, perf and ps.
  std::vector<Completion> done;
  absl::Time last_start = absl::InfinitePast();
  size_t last_size = 0;
  for (;;) {
    std::deque<Task> batch;
    bool idle = false;
    {
      absl::MutexLock lock(&mu_);
      const absl::Condition ready(
          +[](WorkQueue* q)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu_) { return q->stopping_ || !q->tasks_.empty(); },
          this);
      idle = !mu_.AwaitWithTimeout(ready, idle_tick_);
      if (!idle) {
        if (tasks_.empty()) {  // Stopping, and nothing left.
          exited_ = true;
          return;
        }
        if (last_size > 1 && gather_ > absl::ZeroDuration()) {
          // Concurrent callers: gather until `gather` after the last batch
          // began (a stop cuts it short).
          mu_.AwaitWithDeadline(absl::Condition(&stopping_), last_start + gather_);
        }
        batch.swap(tasks_);
      }
    }
    if (idle) {
      if (after_batch_) after_batch_();  // Housekeeping while nothing comes.
      continue;
    }
    last_start = absl::Now();
    last_size = batch.size();
    done.clear();
    for (Task& task : batch) done.push_back(task());
    if (after_batch_) after_batch_();
    for (Completion& c : done) {
      if (c) c();
    }
  }
}

}  // namespace attex::store
