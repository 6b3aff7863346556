#include "attention/pass_workers.h"

#include "attention/check.h"

namespace attex::attention {

PassWorkers::PassWorkers(int threads) {
  ATTEX_CHECK(threads >= 1);
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this] { Loop(); });
}

PassWorkers::~PassWorkers() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

int PassWorkers::RunClaimed(uint32_t generation, const absl::FunctionRef<void(int)>* job,
                            int parts) {
  int ran = 0;
  uint64_t v = claim_.load(std::memory_order_acquire);
  for (;;) {
    const auto next = static_cast<int>(v & 0xffffffffu);
    if (static_cast<uint32_t>(v >> 32) != generation || next >= parts) return ran;
    if (claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) {
      (*job)(next);
      ++ran;
      v = claim_.load(std::memory_order_acquire);
    }
  }
}

bool PassWorkers::TryRun(int parts, absl::FunctionRef<void(int)> part) {
  ATTEX_CHECK(parts >= 1);
  if (held_.exchange(true, std::memory_order_acquire)) {
    busy_count_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  uint32_t generation;
  {
    absl::MutexLock lock(&mu_);
    job_ = &part;
    parts_ = parts;
    done_ = 0;
    generation = ++generation_;
    claim_.store(uint64_t{generation} << 32, std::memory_order_release);
  }
  const int ran = RunClaimed(generation, &part, parts);
  {
    absl::MutexLock lock(&mu_);
    done_ += ran;
    // Every part is claimed: wait for those still running on the helpers.
    mu_.Await(absl::Condition(
        +[](PassWorkers* self)
             ABSL_NO_THREAD_SAFETY_ANALYSIS { return self->done_ == self->parts_; },
        this));
    job_ = nullptr;
  }
  split_.fetch_add(1, std::memory_order_relaxed);
  held_.store(false, std::memory_order_release);
  return true;
}

void PassWorkers::Loop() {
  struct Wait {
    PassWorkers* self;
    uint32_t seen;
  } wait{this, 0};
  for (;;) {
    const absl::FunctionRef<void(int)>* job;
    int parts;
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
      parts = parts_;
    }
    // A job that ended before this thread woke has no part left to claim
    // (and job_ may be gone): RunClaimed returns at once.
    const int ran = job != nullptr ? RunClaimed(wait.seen, job, parts) : 0;
    if (ran > 0) {
      absl::MutexLock lock(&mu_);
      done_ += ran;
    }
  }
}

}  // namespace attex::attention
