#include "server/work_queue.h"

#include <vector>
#include <cstdio>
#include <chrono>
static double g_t[4]={};
static long g_batches=0,g_tasks=0;

namespace attex::server {

WorkQueue::WorkQueue(std::function<void()> after_batch, absl::Duration idle_tick)
    : after_batch_(std::move(after_batch)), idle_tick_(idle_tick), thread_([this] { Loop(); }) {}

WorkQueue::~WorkQueue() { Stop(); }

void WorkQueue::Submit(Task task) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
}

void WorkQueue::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void WorkQueue::Loop() {
  std::vector<Completion> done;
  for (;;) {
    std::deque<Task> batch;
    bool idle = false;
    {
      absl::MutexLock lock(&mu_);
      const absl::Condition ready(
          +[](WorkQueue* q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu_) {
            return q->stopping_ || !q->tasks_.empty();
          },
          this);
      idle = !mu_.AwaitWithTimeout(ready, idle_tick_);
      if (!idle) {
        if (tasks_.empty()) { if (g_batches) fprintf(stderr,"batches %ld avg %.1f per batch us: wait %.0f tasks %.0f commit %.0f completions %.0f\n",g_batches,(double)g_tasks/g_batches,g_t[3]/g_batches*1e6,g_t[0]/g_batches*1e6,g_t[1]/g_batches*1e6,g_t[2]/g_batches*1e6); g_batches=0; g_tasks=0; for(auto&x:g_t)x=0; return; }
        batch.swap(tasks_);
      }
    }
    if (idle) {
      if (after_batch_) after_batch_();  // Housekeeping while nothing comes.
      continue;
    }
    ++g_batches; g_tasks+=batch.size();
    done.clear();
    auto t0=std::chrono::steady_clock::now();
    for (Task& task : batch) done.push_back(task());
    auto t1=std::chrono::steady_clock::now();
    if (after_batch_) after_batch_();
    auto t2=std::chrono::steady_clock::now();
    for (Completion& c : done) {
      if (c) c();
    }
    auto t3=std::chrono::steady_clock::now();
    g_t[0]+=std::chrono::duration<double>(t1-t0).count(); g_t[1]+=std::chrono::duration<double>(t2-t1).count(); g_t[2]+=std::chrono::duration<double>(t3-t2).count();
    static auto last=t3; g_t[3]+=std::chrono::duration<double>(t0-last).count(); last=t3;
  }
}

}  // namespace attex::server
