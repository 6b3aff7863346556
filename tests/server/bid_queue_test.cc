// QueueLimit's arithmetic on explicit times and service times, and
// BidQueue's admission at arrival, order and expiry with tasks the test
// holds: outcomes, not timings, are asserted.
#include "server/bid_queue.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/admission.h"
#include "server/metrics.h"

namespace attex::server {
namespace {

using Reason = Metrics::ShedReason;

const absl::Time kNow = absl::FromUnixSeconds(1'790'000'000);
const absl::Time kFar = kNow + absl::Hours(1);

QueueLimit Measured(int workers, absl::Duration max_delay, absl::Duration service) {
  QueueLimit limit(workers, max_delay);
  for (int i = 0; i < 200; ++i) limit.Served(service);
  return limit;
}

TEST(QueueLimitTest, AJobStartsAtOnceWhileAWorkerIsFree) {
  const QueueLimit limit = Measured(2, absl::Milliseconds(10), absl::Milliseconds(1));
  EXPECT_EQ(limit.Wait(0, 0), absl::ZeroDuration());
  EXPECT_EQ(limit.Wait(0, 1), absl::ZeroDuration());
  EXPECT_GT(limit.Wait(0, 2), absl::ZeroDuration());
  EXPECT_EQ(limit.Refusal(kNow, kFar, 0, 1), std::nullopt);
}

TEST(QueueLimitTest, RefusesAJobThatWouldWaitPastMaxDelay) {
  const QueueLimit limit = Measured(1, absl::Milliseconds(10), absl::Milliseconds(1));
  EXPECT_NEAR(absl::ToDoubleMilliseconds(limit.service()), 1.0, 0.01);
  // One running and 8 queued: 9 ms ahead of the next one; 10 queued: 11 ms.
  EXPECT_EQ(limit.Refusal(kNow, kFar, 8, 1), std::nullopt);
  EXPECT_EQ(limit.Refusal(kNow, kFar, 10, 1), Reason::kQueue);
  EXPECT_EQ(limit.limit(), 10);
}

TEST(QueueLimitTest, WhatTheRunningJobsHaveDoneIsNotWaitedFor) {
  // 40 ms a job on one worker, 20 ms of queue: a job arriving while one has
  // only started waits too long; one arriving as it finishes (a client with
  // one call in flight sends its next as the answer leaves) does not.
  const QueueLimit limit = Measured(1, absl::Milliseconds(20), absl::Milliseconds(40));
  EXPECT_EQ(limit.Refusal(kNow, kFar, 0, 1), Reason::kQueue);
  EXPECT_EQ(limit.Refusal(kNow, kFar, 0, 1, absl::Milliseconds(5)), Reason::kQueue);
  EXPECT_EQ(limit.Refusal(kNow, kFar, 0, 1, absl::Milliseconds(39)), std::nullopt);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(limit.Wait(0, 1, absl::Milliseconds(30))), 10.0, 0.1);
  // Past its service time a running job counts as done, not as credit.
  EXPECT_EQ(limit.Wait(1, 1, absl::Seconds(1)), limit.service());
}

TEST(QueueLimitTest, MoreWorkersDrainTheSameQueueSooner) {
  const QueueLimit one = Measured(1, absl::Milliseconds(10), absl::Milliseconds(1));
  const QueueLimit four = Measured(4, absl::Milliseconds(10), absl::Milliseconds(1));
  EXPECT_EQ(one.Refusal(kNow, kFar, 20, 1), Reason::kQueue);
  EXPECT_EQ(four.Refusal(kNow, kFar, 20, 4), std::nullopt);
  EXPECT_EQ(four.limit(), 4 * one.limit());
}

TEST(QueueLimitTest, RefusesAJobThatCouldNotBeAnsweredBeforeItsDeadline) {
  const QueueLimit limit = Measured(1, absl::Milliseconds(10), absl::Milliseconds(1));
  // 3 ms ahead of it plus its own 1 ms: a deadline 5 ms away is met, 3.5 ms is not.
  EXPECT_EQ(limit.Refusal(kNow, kNow + absl::Milliseconds(5), 2, 1), std::nullopt);
  EXPECT_EQ(limit.Refusal(kNow, kNow + absl::Microseconds(3500), 2, 1), Reason::kLate);
  // Even with nothing ahead: a deadline shorter than the service time.
  EXPECT_EQ(limit.Refusal(kNow, kNow + absl::Microseconds(500), 0, 0), Reason::kLate);
}

TEST(QueueLimitTest, TheServiceTimeFollowsTheJobsAndOneSlowJobCountsLittle) {
  QueueLimit limit(1, absl::Milliseconds(10));
  EXPECT_EQ(limit.service(), QueueLimit::kInitialService);
  limit.Served(absl::Seconds(1));  // Capped at 4 ms, an eighth of the way.
  EXPECT_LE(limit.service(), absl::Microseconds(1375));
  for (int i = 0; i < 100; ++i) limit.Served(absl::Microseconds(300));
  EXPECT_NEAR(absl::ToDoubleMicroseconds(limit.service()), 300, 1);
  EXPECT_EQ(limit.limit(), 33);
}

// A task the test holds: it records the status it was run with and, when
// `hold` is set, waits in Run until released.
class HeldTask final : public BidQueue::Task {
 public:
  explicit HeldTask(absl::Time task_deadline, bool hold = false) : hold_(hold) {
    arrived = absl::Now();
    deadline = task_deadline;
  }
  void Run(const absl::Status& status) override {
    {
      absl::MutexLock lock(&mu_);
      status_ = status;
      ran_ = true;
      order_ = next_order_.fetch_add(1);
    }
    started_.Notify();
    if (hold_) release_.WaitForNotification();
  }
  void WaitStarted() { started_.WaitForNotification(); }
  void Release() { release_.Notify(); }
  bool ran() {
    absl::MutexLock lock(&mu_);
    return ran_;
  }
  absl::Status status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }
  int order() {
    absl::MutexLock lock(&mu_);
    return order_;
  }

 private:
  static inline std::atomic<int> next_order_{0};
  const bool hold_;
  absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  bool ran_ ABSL_GUARDED_BY(mu_) = false;
  int order_ ABSL_GUARDED_BY(mu_) = -1;
  absl::Notification started_, release_;
};

TEST(BidQueueTest, PastWhatDrainsWithinTheDelayCallsAreRefusedOnArrival) {
  Metrics metrics;
  BidQueue queue({.threads = 1, .max_queue_delay = absl::Milliseconds(10)}, &metrics);
  HeldTask first(absl::InfiniteFuture(), /*hold=*/true);
  ASSERT_TRUE(queue.Submit(&first).ok());
  first.WaitStarted();
  // Unmeasured, a call is taken to cost 1 ms: behind the running one, 9
  // more fit in 10 ms; the next is refused and never run.
  std::vector<std::unique_ptr<HeldTask>> queued;
  for (int i = 0; i < 10; ++i) {
    queued.push_back(std::make_unique<HeldTask>(absl::InfiniteFuture()));
    ASSERT_TRUE(queue.Submit(queued.back().get()).ok()) << i;
  }
  EXPECT_EQ(queue.waiting(), 10);
  HeldTask refused(absl::InfiniteFuture());
  const absl::Status s = queue.Submit(&refused);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("overloaded"), std::string::npos) << s;
  EXPECT_EQ(metrics.totals().shed, 1);

  first.Release();
  queue.Stop();
  EXPECT_FALSE(refused.ran());
  for (size_t i = 0; i < queued.size(); ++i) {
    EXPECT_TRUE(queued[i]->status().ok());
    if (i > 0) {
      EXPECT_GT(queued[i]->order(), queued[i - 1]->order());  // Arrival order.
    }
  }
}

TEST(BidQueueTest, AQueuedCallOlderThanTheDelayClosesTheQueueWhateverTheEstimate) {
  Metrics metrics;
  BidQueue queue({.threads = 1, .max_queue_delay = absl::Milliseconds(10)}, &metrics);
  HeldTask first(absl::InfiniteFuture(), /*hold=*/true);
  ASSERT_TRUE(queue.Submit(&first).ok());
  first.WaitStarted();
  // The estimate (1 ms a call) admits a second and a third; but the one
  // queued has waited 30 ms, as it would where the thread gets no CPU.
  HeldTask stale(absl::InfiniteFuture());
  stale.arrived = absl::Now() - absl::Milliseconds(30);
  ASSERT_TRUE(queue.Submit(&stale).ok());
  HeldTask next(absl::InfiniteFuture());
  const absl::Status s = queue.Submit(&next);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("overloaded"), std::string::npos) << s;
  EXPECT_EQ(metrics.totals().shed, 1);
  first.Release();
  queue.Stop();
  EXPECT_TRUE(stale.status().ok());
  EXPECT_FALSE(next.ran());
}

TEST(BidQueueTest, ACallWhoseDeadlineCannotBeMetIsRefusedOnArrival) {
  Metrics metrics;
  BidQueue queue({.threads = 1, .max_queue_delay = absl::Milliseconds(10)}, &metrics);
  HeldTask first(absl::InfiniteFuture(), /*hold=*/true);
  ASSERT_TRUE(queue.Submit(&first).ok());
  first.WaitStarted();
  // 1 ms of work ahead and 1 ms of its own: a deadline already as good as
  // passed cannot be met.
  HeldTask hurried(absl::Now() + absl::Microseconds(100));
  const absl::Status s = queue.Submit(&hurried);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("deadline"), std::string::npos) << s;
  first.Release();
  queue.Stop();
  EXPECT_FALSE(hurried.ran());
}

TEST(BidQueueTest, AnEstimatePastEveryDeadlineDoesNotLockTheQueueOut) {
  Metrics metrics;
  BidQueue queue({.threads = 1, .max_queue_delay = absl::Milliseconds(50)}, &metrics);
  // Slow calls (held 40 ms each) raise the estimate past a 2 ms deadline.
  while (queue.service_time() <= absl::Milliseconds(4)) {
    HeldTask slow(absl::InfiniteFuture(), /*hold=*/true);
    ASSERT_TRUE(queue.Submit(&slow).ok());
    slow.WaitStarted();
    absl::SleepFor(absl::Milliseconds(40));  // Its service time, not a wait for an event.
    const absl::Duration before = queue.service_time();
    slow.Release();
    while (queue.service_time() == before) absl::SleepFor(absl::Milliseconds(1));
  }
  // Idle: the first hurried call is taken anyway, to measure again; the
  // next within the second is refused as late.
  HeldTask probe(absl::Now() + absl::Milliseconds(2));
  EXPECT_TRUE(queue.Submit(&probe).ok());
  probe.WaitStarted();
  HeldTask next(absl::Now() + absl::Milliseconds(2));
  const absl::Status s = queue.Submit(&next);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("deadline"), std::string::npos) << s;
  queue.Stop();
  EXPECT_TRUE(probe.ran());
  EXPECT_FALSE(next.ran());
}

TEST(BidQueueTest, ACallWhoseDeadlinePassesWhileQueuedIsFinishedUndecided) {
  Metrics metrics;
  BidQueue queue({.threads = 1, .max_queue_delay = absl::Milliseconds(10)}, &metrics);
  HeldTask first(absl::InfiniteFuture(), /*hold=*/true);
  ASSERT_TRUE(queue.Submit(&first).ok());
  first.WaitStarted();
  HeldTask queued(absl::Now() + absl::Milliseconds(50));
  ASSERT_TRUE(queue.Submit(&queued).ok());
  // Holds the thread until the queued call's deadline has passed (waiting
  // for the event, not timing anything).
  while (absl::Now() <= queued.deadline) absl::SleepFor(absl::Milliseconds(5));
  first.Release();
  queue.Stop();
  ASSERT_TRUE(queued.ran());
  EXPECT_EQ(queued.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(metrics.totals().shed, 1);
}

TEST(BidQueueTest, StopRunsWhatIsQueuedThenRefuses) {
  Metrics metrics;
  BidQueue queue({.threads = 2, .max_queue_delay = absl::Milliseconds(100)}, &metrics);
  std::vector<std::unique_ptr<HeldTask>> tasks;
  for (int i = 0; i < 20; ++i) {
    tasks.push_back(std::make_unique<HeldTask>(absl::InfiniteFuture()));
    ASSERT_TRUE(queue.Submit(tasks.back().get()).ok());
  }
  queue.Stop();
  for (auto& t : tasks) EXPECT_TRUE(t->ran());
  HeldTask late(absl::InfiniteFuture());
  EXPECT_EQ(queue.Submit(&late).code(), absl::StatusCode::kUnavailable);
}

TEST(BidQueueTest, AnIdleQueueRunsACallOnTheCallersThreadABusyOneDoesNot) {
  Metrics metrics;
  BidQueue queue({.threads = 1,
                  .max_queue_delay = absl::Milliseconds(100),
                  .max_inline_service = absl::Milliseconds(5)},
                 &metrics);
  // Idle: run here, before TryRunInline returns.
  HeldTask here(absl::InfiniteFuture());
  ASSERT_TRUE(queue.TryRunInline(&here));
  EXPECT_TRUE(here.ran());
  EXPECT_TRUE(here.status().ok());
  EXPECT_EQ(queue.inline_runs(), 1);

  // While one runs inline (held on another thread), the next is not; nor
  // while one runs on the queue's thread.
  HeldTask held(absl::InfiniteFuture(), /*hold=*/true);
  std::thread inline_caller([&] { EXPECT_TRUE(queue.TryRunInline(&held)); });
  held.WaitStarted();
  HeldTask second(absl::InfiniteFuture());
  EXPECT_FALSE(queue.TryRunInline(&second));
  EXPECT_FALSE(second.ran());
  // Nor while a call is queued: it keeps its turn.
  HeldTask running(absl::InfiniteFuture(), /*hold=*/true);
  ASSERT_TRUE(queue.Submit(&running).ok());
  running.WaitStarted();
  HeldTask queued(absl::InfiniteFuture());
  ASSERT_TRUE(queue.Submit(&queued).ok());
  held.Release();
  inline_caller.join();
  HeldTask third(absl::InfiniteFuture());
  EXPECT_FALSE(queue.TryRunInline(&third));  // Queued, and one running.
  running.Release();
  queue.Stop();
  EXPECT_TRUE(queued.ran());
  EXPECT_FALSE(third.ran());
  EXPECT_EQ(queue.inline_runs(), 2);
}

TEST(BidQueueTest, SlowCallsOrAHurriedOneAreNotRunInline) {
  Metrics metrics;
  BidQueue off({.threads = 1, .max_queue_delay = absl::Milliseconds(100)}, &metrics);
  HeldTask task(absl::InfiniteFuture());
  EXPECT_FALSE(off.TryRunInline(&task));  // max_inline_service zero: never.
  // Unmeasured, a call is taken to cost 1 ms: past a bound of 0.5 ms.
  BidQueue slow({.threads = 1,
                 .max_queue_delay = absl::Milliseconds(100),
                 .max_inline_service = absl::Microseconds(500)},
                &metrics);
  EXPECT_FALSE(slow.TryRunInline(&task));
  // Within the bound, a call that could not meet its deadline is left to
  // Submit (which refuses it, or takes it as the idle queue's probe).
  BidQueue quick({.threads = 1,
                  .max_queue_delay = absl::Milliseconds(100),
                  .max_inline_service = absl::Milliseconds(5)},
                 &metrics);
  HeldTask hurried(absl::Now() + absl::Microseconds(100));
  EXPECT_FALSE(quick.TryRunInline(&hurried));
  EXPECT_EQ(quick.inline_runs(), 0);
  EXPECT_FALSE(task.ran());
  EXPECT_FALSE(hurried.ran());
}

TEST(UsableCpusTest, AtLeastOne) { EXPECT_GE(UsableCpus(), 1); }

}  // namespace
}  // namespace attex::server
