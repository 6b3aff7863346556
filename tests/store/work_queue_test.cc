#include "store/work_queue.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace attex::store {
namespace {

using Entries = std::vector<std::string>;

// A thread-safe list of what happened, in order.
class Log final {
 public:
  void Add(std::string entry) {
    absl::MutexLock lock(&mu_);
    entries_.push_back(std::move(entry));
  }
  std::vector<std::string> entries() const {
    absl::MutexLock lock(&mu_);
    return entries_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> entries_ ABSL_GUARDED_BY(mu_);
};

// A task that logs "task <name>" and whose completion logs "done <name>".
WorkQueue::Task Logged(Log* log, const std::string& name) {
  return [log, name]() -> WorkQueue::Completion {
    log->Add("task " + name);
    return [log, name] { log->Add("done " + name); };
  };
}

TEST(WorkQueueTest, TasksRunInSubmissionOrder) {
  std::vector<int> ran;  // Touched only by the queue's thread until Stop joins it.
  WorkQueue queue(nullptr);
  for (int i = 0; i < 200; ++i) {
    queue.Submit([&ran, i]() -> WorkQueue::Completion {
      ran.push_back(i);
      return nullptr;
    });
  }
  queue.Stop();
  ASSERT_EQ(ran.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(ran[i], i);
}

TEST(WorkQueueTest, AfterBatchHookRunsBeforeTheBatchsCompletions) {
  Log log;
  WorkQueue queue([&log] { log.Add("batch"); });
  absl::Notification a_started;
  absl::Notification release_a;
  // A holds the queue's thread so that B and C queue up into one batch.
  queue.Submit([&]() -> WorkQueue::Completion {
    log.Add("task A");
    a_started.Notify();
    release_a.WaitForNotification();
    return [&log] { log.Add("done A"); };
  });
  a_started.WaitForNotification();
  queue.Submit(Logged(&log, "B"));
  queue.Submit(Logged(&log, "C"));
  release_a.Notify();
  queue.Stop();
  EXPECT_EQ(log.entries(), (Entries{"task A", "batch", "done A", "task B", "task C", "batch",
                                    "done B", "done C"}));
}

// Batches as the after-batch hook sees them: how many tasks each held.
class BatchSizes final {
 public:
  void TaskRan() {
    absl::MutexLock lock(&mu_);
    ++open_;
  }
  void BatchEnded() {
    absl::MutexLock lock(&mu_);
    sizes_.push_back(open_);
    open_ = 0;
  }
  std::vector<int> sizes() const {
    absl::MutexLock lock(&mu_);
    return sizes_;
  }

 private:
  mutable absl::Mutex mu_;
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> sizes_ ABSL_GUARDED_BY(mu_);
};

WorkQueue::Task Counted(BatchSizes* sizes, absl::Notification* done = nullptr) {
  return [sizes, done]() -> WorkQueue::Completion {
    sizes->TaskRan();
    return [done] {
      if (done != nullptr) done->Notify();
    };
  };
}

TEST(WorkQueueTest, ALoneCallersTasksRunAtOnceWhateverTheGatherDelay) {
  BatchSizes sizes;
  // An hour's gather: were a lone caller's task held, this would not end.
  WorkQueue queue([&sizes] { sizes.BatchEnded(); }, absl::InfiniteDuration(), absl::Hours(1));
  for (int i = 0; i < 5; ++i) {
    absl::Notification done;
    queue.Submit(Counted(&sizes, &done));
    done.WaitForNotification();
  }
  EXPECT_EQ(sizes.sizes(), (std::vector<int>{1, 1, 1, 1, 1}));
}

TEST(WorkQueueTest, AfterABatchOfConcurrentCallersTheNextGathers) {
  BatchSizes sizes;
  WorkQueue queue([&sizes] { sizes.BatchEnded(); }, absl::InfiniteDuration(), absl::Hours(1));
  // Two callers at once: a blocked first task lets both queue up.
  absl::Notification started, release, both_done;
  queue.Submit([&]() -> WorkQueue::Completion {
    started.Notify();
    release.WaitForNotification();
    return nullptr;
  });
  started.WaitForNotification();
  queue.Submit(Counted(&sizes));
  queue.Submit(Counted(&sizes, &both_done));
  release.Notify();
  both_done.WaitForNotification();
  // One after another now, each answered only by the gathered batch: none
  // runs before the gather ends (Stop cuts it short here).
  std::atomic<int> answered{0};
  for (int i = 0; i < 3; ++i) {
    queue.Submit([&sizes, &answered]() -> WorkQueue::Completion {
      sizes.TaskRan();
      return [&answered] { ++answered; };
    });
  }
  EXPECT_EQ(answered.load(), 0);
  queue.Stop();
  EXPECT_EQ(answered.load(), 3);
  EXPECT_EQ(sizes.sizes(), (std::vector<int>{0, 2, 3}));
}

TEST(WorkQueueTest, NullCompletionIsSkipped) {
  Log log;
  WorkQueue queue([&log] { log.Add("batch"); });
  queue.Submit([&log]() -> WorkQueue::Completion {
    log.Add("task");
    return nullptr;
  });
  queue.Stop();
  EXPECT_EQ(log.entries(), (Entries{"task", "batch"}));
}

TEST(WorkQueueTest, StopRunsQueuedTasksBeforeReturning) {
  std::atomic<int> tasks{0};
  std::atomic<int> completions{0};
  WorkQueue queue(nullptr);
  absl::Notification started;
  absl::Notification stopping;
  // Holds the queue's thread until the moment Stop is called, so that Stop
  // finds the 50 tasks still queued (and if the thread wins the race to
  // them, they must have run all the same when Stop returns).
  queue.Submit([&]() -> WorkQueue::Completion {
    started.Notify();
    stopping.WaitForNotification();
    return nullptr;
  });
  started.WaitForNotification();
  for (int i = 0; i < 50; ++i) {
    queue.Submit([&]() -> WorkQueue::Completion {
      tasks.fetch_add(1);
      return [&] { completions.fetch_add(1); };
    });
  }
  EXPECT_EQ(tasks.load(), 0);
  stopping.Notify();
  queue.Stop();
  EXPECT_EQ(tasks.load(), 50);
  EXPECT_EQ(completions.load(), 50);
}

TEST(WorkQueueTest, StopIsIdempotent) {
  std::atomic<int> ran{0};
  WorkQueue queue(nullptr);
  queue.Submit([&]() -> WorkQueue::Completion {
    ran.fetch_add(1);
    return nullptr;
  });
  queue.Stop();
  queue.Stop();
  EXPECT_EQ(ran.load(), 1);
}

TEST(WorkQueueTest, ATaskSubmittedAfterStopRunsOnTheCallersThread) {
  // During shutdown a late caller (an HTTP request draining, a reload
  // finishing) must still be answered: its task, the hook and its
  // completion run before Submit returns.
  std::vector<std::string> order;
  WorkQueue queue([&] { order.push_back("batch"); });
  queue.Stop();
  const std::thread::id caller = std::this_thread::get_id();
  std::thread::id ran_on;
  queue.Submit([&]() -> WorkQueue::Completion {
    ran_on = std::this_thread::get_id();
    order.push_back("task");
    return [&] { order.push_back("done"); };
  });
  EXPECT_EQ(ran_on, caller);
  EXPECT_EQ(order, (std::vector<std::string>{"task", "batch", "done"}));
}

TEST(WorkQueueTest, DestructorRunsQueuedTasks) {
  std::atomic<int> ran{0};
  {
    WorkQueue queue(nullptr);
    for (int i = 0; i < 20; ++i) {
      queue.Submit([&]() -> WorkQueue::Completion {
        ran.fetch_add(1);
        return nullptr;
      });
    }
  }
  EXPECT_EQ(ran.load(), 20);
}

TEST(WorkQueueTest, TasksSubmittedFromManyThreadsEachRunExactlyOnce) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1000;
  // Written only by the queue's thread; read after Stop has joined it.
  std::vector<int> task_runs(kThreads * kPerThread, 0);
  std::vector<std::atomic<int>> completion_runs(kThreads * kPerThread);
  std::atomic<int> batches{0};
  WorkQueue queue([&batches] { batches.fetch_add(1); });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int id = t * kPerThread + i;
        queue.Submit([&, id]() -> WorkQueue::Completion {
          ++task_runs[id];
          return [&, id] { completion_runs[id].fetch_add(1); };
        });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  queue.Stop();
  for (int id = 0; id < kThreads * kPerThread; ++id) {
    ASSERT_EQ(task_runs[id], 1) << "task " << id;
    ASSERT_EQ(completion_runs[id].load(), 1) << "completion " << id;
  }
  EXPECT_GE(batches.load(), 1);
  EXPECT_LE(batches.load(), kThreads * kPerThread);
}

}  // namespace
}  // namespace attex::store
