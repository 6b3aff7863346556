// attex-load's `--method report` against an in-process fake Exchange: the
// billing tokens are collected from Bid answers, then reported in batches,
// each token exactly once, and the events a second counted from what the
// ReportEvents answers say.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "client/load/driver.h"
#include "client/load/token_collector.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace attex::load {
namespace {

// Bid places one placement a slot, each with a new token ("tok-N"), or
// fails UNAVAILABLE for a request whose id starts with "fail"; ReportEvents
// accepts every event and keeps the tokens and batch sizes it was sent.
class FakeExchange final : public attex::v1::Exchange::CallbackService {
 public:
  grpc::ServerUnaryReactor* Bid(grpc::CallbackServerContext* ctx,
                                const attex::v1::BidRequest* request,
                                attex::v1::BidResponse* response) override {
    auto* reactor = ctx->DefaultReactor();
    if (request->request_id().rfind("fail", 0) == 0) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down for the test"));
      return reactor;
    }
    absl::MutexLock lock(&mu_);
    for (const auto& slot : request->slots()) {
      auto* p = response->add_placements();
      p->set_slot_id(slot.id());
      p->set_billing_token(absl::StrCat("tok-", next_token_++));
    }
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* ReportEvents(grpc::CallbackServerContext* ctx,
                                         const attex::v1::ReportEventsRequest* request,
                                         attex::v1::ReportEventsResponse* response) override {
    absl::MutexLock lock(&mu_);
    batches_.push_back(request->events_size());
    for (const auto& e : request->events()) {
      EXPECT_EQ(e.type(), attex::v1::EVENT_TYPE_IMPRESSION);
      ++reported_[e.billing_token()];
      auto* r = response->add_results();
      r->set_event_id(e.event_id());
      r->set_result(attex::v1::EVENT_RESULT_ACCEPTED);
    }
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::map<std::string, int> reported() {
    absl::MutexLock lock(&mu_);
    return reported_;
  }
  std::vector<int> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

 private:
  absl::Mutex mu_;
  int64_t next_token_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int> reported_ ABSL_GUARDED_BY(mu_);
  std::vector<int> batches_ ABSL_GUARDED_BY(mu_);
};

class FakeExchangeServer {
 public:
  FakeExchangeServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&exchange_);
    server_ = builder.BuildAndStart();
  }
  ~FakeExchangeServer() { server_->Shutdown(std::chrono::system_clock::now()); }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }
  FakeExchange& exchange() { return exchange_; }

 private:
  FakeExchange exchange_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

DriverOptions BidOptions(const std::string& addr, const std::string& request_id = "r") {
  DriverOptions o;
  o.addr = addr;
  o.token = "platform-token";
  o.concurrency = 4;
  attex::v1::BidRequest request;
  request.set_request_id(request_id);
  for (int k = 0; k < 3; ++k) request.add_slots()->set_id(absl::StrCat("s", k + 1));
  o.requests.push_back(request);
  return o;
}

TEST(CollectBillingTokensTest, CollectsAsManyDistinctTokensAsAskedFor) {
  FakeExchangeServer server;
  auto collected = CollectBillingTokens(BidOptions(server.addr()), 1000);
  ASSERT_TRUE(collected.ok()) << collected.status();
  ASSERT_EQ(collected->tokens.size(), 1000u);
  std::map<std::string, int> seen;
  for (const auto& t : collected->tokens) ++seen[t];
  EXPECT_EQ(seen.size(), 1000u);    // No token twice.
  EXPECT_GE(collected->bids, 334);  // 3 placements a bid.
  EXPECT_EQ(collected->failed, 0);
}

TEST(CollectBillingTokensTest, GivesUpWithTheErrorWhenEveryBidFails) {
  FakeExchangeServer server;
  auto collected = CollectBillingTokens(BidOptions(server.addr(), "fail-1"), 10);
  EXPECT_EQ(collected.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(collected.status().message().find("down for the test"), std::string::npos)
      << collected.status();
}

TEST(CollectBillingTokensTest, NeedsACountAndRequests) {
  DriverOptions o = BidOptions("127.0.0.1:1");
  EXPECT_EQ(CollectBillingTokens(o, 0).status().code(), absl::StatusCode::kInvalidArgument);
  o.requests.clear();
  EXPECT_EQ(CollectBillingTokens(o, 10).status().code(), absl::StatusCode::kInvalidArgument);
}

DriverOptions ReportOptions(const std::string& addr, int tokens) {
  DriverOptions o;
  o.addr = addr;
  o.token = "platform-token";
  o.method = Method::kReport;
  o.report_batch = 10;
  o.rate = 1000;
  o.warmup = absl::Milliseconds(100);
  o.duration = absl::Milliseconds(500);
  for (int i = 0; i < tokens; ++i) o.billing_tokens.push_back(absl::StrCat("tok-", i));
  return o;
}

TEST(ReportLoadTest, ReportsEveryTokenOnceInBatchesAndCountsTheEventsASecond) {
  FakeExchangeServer server;
  // 600 calls are due (100 ms of warm-up, 500 recorded) of 10 events each.
  auto report = RunLoad(ReportOptions(server.addr(), 6000));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->ran_out_of_tokens);
  EXPECT_EQ(report->methods.at("ReportEvents").calls, 500);
  EXPECT_EQ(report->errors, 0);
  EXPECT_EQ(report->event_results.at("ACCEPTED"), 5000);
  EXPECT_DOUBLE_EQ(report->events_rate(), 10000);
  const auto reported = server.exchange().reported();
  EXPECT_EQ(reported.size(), 6000u);
  for (const auto& [token, times] : reported) EXPECT_EQ(times, 1) << token;
  for (int batch : server.exchange().batches()) EXPECT_EQ(batch, 10);
}

TEST(ReportLoadTest, SaysSoWhenTheTokensRunOutAndReportsNoneTwice) {
  FakeExchangeServer server;
  // Enough for 200 of the 600 calls due; the last batch is short.
  auto report = RunLoad(ReportOptions(server.addr(), 1995));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ran_out_of_tokens);
  const auto reported = server.exchange().reported();
  EXPECT_EQ(reported.size(), 1995u);
  for (const auto& [token, times] : reported) EXPECT_EQ(times, 1) << token;
  EXPECT_EQ(server.exchange().batches().size(), 200u);
  // The calls recorded: those due from 100 ms on, while tokens lasted.
  EXPECT_EQ(report->methods.at("ReportEvents").calls, 100);
}

TEST(ReportLoadTest, NeedsTokensAndABatchTheServerTakes) {
  DriverOptions o = ReportOptions("127.0.0.1:1", 0);
  EXPECT_EQ(RunLoad(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = ReportOptions("127.0.0.1:1", 10);
  o.report_batch = 1001;
  EXPECT_EQ(RunLoad(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.report_batch = 0;
  EXPECT_EQ(RunLoad(o).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace attex::load
