#include "attention/pass_workers.h"

#include "attention/check.h"

namespace attex::attention {

PassWorkers::PassWorkers(int threads) {
  ATTEX_CHECK(threads >= 1);
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { Loop(t + 1); });
}

PassWorkers::~PassWorkers() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

bool PassWorkers::TryRun(absl::FunctionRef<void(int)> part) {
  if (held_.exchange(true, std::memory_order_acquire)) {
    busy_count_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  {
    absl::MutexLock lock(&mu_);
    job_ = &part;
    pending_ = static_cast<int>(threads_.size());
    ++generation_;
  }
  part(0);
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* pending) { return *pending == 0; }, &pending_));
    job_ = nullptr;
  }
  split_.fetch_add(1, std::memory_order_relaxed);
  held_.store(false, std::memory_order_release);
  return true;
}

void PassWorkers::Loop(int part) {
  struct Wait {
    PassWorkers* self;
    uint64_t seen;
  } wait{this, 0};
  for (;;) {
    const absl::FunctionRef<void(int)>* job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Wait* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return w->self->stop_ || w->self->generation_ != w->seen;
          },
          &wait));
      if (stop_) return;
      wait.seen = generation_;
      job = job_;
    }
    (*job)(part);
    absl::MutexLock lock(&mu_);
    --pending_;
  }
}

}  // namespace attex::attention
