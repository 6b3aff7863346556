// The load tester's recorder on a fake clock, fed the calls an open and a
// closed loop make against a server that stalls once for 200 ms (as a
// server does in a GC pause or a blocked reactor): every time is one the
// test chose, so counts, rates and latencies are exact.
#include "client/load/recorder.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "client/load/report.h"
#include "gtest/gtest.h"

namespace attex::load {
namespace {

constexpr int64_t kMs = 1'000'000;
// 200 ms of warm-up, then 2 s recorded; the stall comes 1 s into them.
constexpr int64_t kRecordNs = 200 * kMs;
constexpr absl::Duration kDuration = absl::Seconds(2);
constexpr int64_t kEndNs = kRecordNs + 2000 * kMs;
constexpr int64_t kStallNs = 1200 * kMs;

// Stands where the test puts it.
class FakeClock final : public Clock {
 public:
  int64_t NowNs() const override { return now_ns_.load(); }
  void Set(int64_t ns) { now_ns_.store(ns); }

 private:
  std::atomic<int64_t> now_ns_{0};
};

// When the server answers a call sent at `sent_ns`: 100 us later, except
// that a call arriving in the 200 ms from kStallNs waits until they are over.
int64_t AnsweredAt(int64_t sent_ns) {
  const int64_t stall_end = kStallNs + 200 * kMs;
  if (sent_ns >= kStallNs && sent_ns < stall_end) return stall_end;
  return sent_ns + kMs / 10;
}

struct Call {
  int64_t intended_ns;
  int64_t answered_ns;
};

// Open loop: call i is sent at i / rate, whatever has come back.
std::vector<Call> OpenLoop(double rate) {
  std::vector<Call> calls;
  for (int64_t i = 0;; ++i) {
    const int64_t due = static_cast<int64_t>(i * (1e9 / rate));
    if (due >= kEndNs) break;
    calls.push_back({due, AnsweredAt(due)});
  }
  return calls;
}

// Closed loop, one call in flight: each is sent when the last is answered.
std::vector<Call> ClosedLoop() {
  std::vector<Call> calls;
  for (int64_t t = 0; t < kEndNs; t = calls.back().answered_ns) calls.push_back({t, AnsweredAt(t)});
  return calls;
}

// Records `calls` as they complete, the clock at each one's answer.
Report RecordAll(std::vector<Call> calls) {
  FakeClock clock;
  Recorder recorder(clock, kRecordNs, kDuration);
  std::stable_sort(calls.begin(), calls.end(),
                   [](const Call& a, const Call& b) { return a.answered_ns < b.answered_ns; });
  for (const Call& call : calls) {
    clock.Set(call.answered_ns);
    recorder.Record("Ping", grpc::Status::OK, call.intended_ns);
  }
  return recorder.Finish();
}

TEST(OpenLoopTest, AServerStallShowsInP99AndMax) {
  const Report report = RecordAll(OpenLoop(500));
  // 2 s at 500/s; the 100 calls due during the stall wait up to 200 ms each.
  EXPECT_EQ(report.calls, 1000);
  EXPECT_EQ(report.errors, 0);
  EXPECT_EQ(report.methods.at("Ping").calls, 1000);
  EXPECT_GE(report.latency.max(), 180'000'000);
  EXPECT_GE(report.latency.Percentile(0.99), 100'000'000);
  EXPECT_GE(report.latency.Percentile(0.95), 50'000'000);  // 10% of calls waited 0-200 ms.
  EXPECT_DOUBLE_EQ(report.achieved_rate(), 500);
}

TEST(ClosedLoopTest, TheSameStallHidesFromP99) {
  // What coordinated omission looks like: one slow call among thousands.
  const Report report = RecordAll(ClosedLoop());
  EXPECT_GE(report.latency.max(), 180'000'000);
  EXPECT_LT(report.latency.Percentile(0.99), 100'000'000);
  EXPECT_GT(report.calls, 100);
}

TEST(ReportTest, TimelineHasOneEntryASecondWithTheStallInIt) {
  const Report report = RecordAll(OpenLoop(200));
  ASSERT_GE(report.timeline.size(), 2u);
  ASSERT_LE(report.timeline.size(), 3u);
  int64_t worst = 0, calls = 0;
  for (const auto& s : report.timeline) {
    worst = std::max(worst, s.max_ns);
    calls += s.calls;
  }
  EXPECT_EQ(calls, report.calls);
  EXPECT_GE(worst, 180'000'000);
}

TEST(RecorderTest, CallsIntendedOutsideTheWindowAreNotCounted) {
  FakeClock clock;
  Recorder recorder(clock, kRecordNs, kDuration);
  clock.Set(kRecordNs + 5 * kMs);  // Answered in the window, but sent in the warm-up.
  recorder.Record("Ping", grpc::Status::OK, kRecordNs - 1);
  clock.Set(kEndNs + 300 * kMs);  // Sent at the last moment, answered after the end.
  recorder.Record("Ping", grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, ""), kEndNs - 1);
  clock.Set(kEndNs + 400 * kMs);
  recorder.Record("Ping", grpc::Status::OK, kEndNs);
  const Report report = recorder.Finish();
  EXPECT_EQ(report.calls, 1);
  EXPECT_EQ(report.errors, 1);
  EXPECT_EQ(report.errors_by_status.at("DEADLINE_EXCEEDED"), 1);
  EXPECT_EQ(report.latency.max(), 300 * kMs + 1);
  // By completion time: the third second since recording began.
  ASSERT_EQ(report.timeline.size(), 3u);
  EXPECT_EQ(report.timeline[2].calls, 1);
  EXPECT_EQ(report.timeline[2].errors, 1);
}

TEST(RecorderTest, AnsweredAndRefusedCallsAreTimedApart) {
  // Under overload: answered calls take 20 ms, refused ones 1 ms.
  FakeClock clock;
  Recorder recorder(clock, kRecordNs, kDuration);
  const grpc::Status refused(grpc::StatusCode::RESOURCE_EXHAUSTED, "overloaded");
  for (int i = 0; i < 100; ++i) {
    const int64_t sent = kRecordNs + i * kMs;
    const bool ok = i % 4 == 0;
    clock.Set(sent + (ok ? 20 : 1) * kMs);
    recorder.Record("Bid", ok ? grpc::Status::OK : refused, sent);
  }
  const Report report = recorder.Finish();
  const MethodStats& bid = report.methods.at("Bid");
  ASSERT_EQ(bid.status_latency.size(), 2u);
  EXPECT_EQ(bid.status_latency.at("OK").count(), 25);
  EXPECT_EQ(bid.status_latency.at("RESOURCE_EXHAUSTED").count(), 75);
  EXPECT_EQ(bid.status_latency.at("OK").min(), 20 * kMs);
  EXPECT_EQ(bid.status_latency.at("RESOURCE_EXHAUSTED").max(), kMs);
  // All calls together: the p50 is a refusal's, the p99 an answer's.
  EXPECT_LE(bid.latency.Percentile(0.5), 2 * kMs);
  EXPECT_GE(bid.latency.Percentile(0.99), 19 * kMs);
  // One status a line in the JSON report, as deploy/bench.sh reads it.
  const std::string json = ToJson(report);
  EXPECT_NE(json.find("\n      \"OK\": {\"count\": 25, "), std::string::npos) << json;
  EXPECT_NE(json.find("\n      \"RESOURCE_EXHAUSTED\": {\"count\": 75, "), std::string::npos);
  EXPECT_NE(SummaryText(report).find("RESOURCE_EXHAUSTED   75 calls"), std::string::npos)
      << SummaryText(report);
}

}  // namespace
}  // namespace attex::load
