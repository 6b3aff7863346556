// The load tester's driver through gRPC against an in-process fake
// Operator service that answers at once: the open loop sends exactly its
// schedule, whatever the machine's speed, and attex-load writes its reports.
// What is measured of the calls (latency from the intended send time, the
// timeline, a stall in the tail) is the recorder's, tested on a fake clock
// in recorder_test.cc.
#include "client/load/driver.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "attex/v1/campaign.grpc.pb.h"
#include "attex/v1/operator.grpc.pb.h"
#include "client/load/report.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace attex::load {
namespace {

// Answers every Ping at once.
class InstantOperator final : public attex::v1::Operator::CallbackService {
 public:
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* ctx,
                                 const attex::v1::PingRequest* request,
                                 attex::v1::PingResponse* response) override {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// Answers every UpdateCampaign at once, and keeps what it was sent.
class RecordingCampaigns final : public attex::v1::Campaigns::CallbackService {
 public:
  grpc::ServerUnaryReactor* UpdateCampaign(grpc::CallbackServerContext* ctx,
                                           const attex::v1::Campaign* request,
                                           attex::v1::Campaign* response) override {
    {
      absl::MutexLock lock(&mu_);
      updates_.push_back(*request);
      const auto auth = ctx->client_metadata().find("authorization");
      if (auth != ctx->client_metadata().end()) {
        tokens_.emplace_back(auth->second.data(), auth->second.size());
      }
    }
    *response = *request;
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  std::vector<attex::v1::Campaign> updates() {
    absl::MutexLock lock(&mu_);
    return updates_;
  }
  std::vector<std::string> tokens() {
    absl::MutexLock lock(&mu_);
    return tokens_;
  }

 private:
  absl::Mutex mu_;
  std::vector<attex::v1::Campaign> updates_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> tokens_ ABSL_GUARDED_BY(mu_);
};

class FakeServer {
 public:
  FakeServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    builder.RegisterService(&campaigns_);
    server_ = builder.BuildAndStart();
  }
  ~FakeServer() { server_->Shutdown(std::chrono::system_clock::now()); }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }
  RecordingCampaigns& campaigns() { return campaigns_; }

 private:
  InstantOperator service_;
  RecordingCampaigns campaigns_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

DriverOptions PingOptions(const std::string& addr) {
  DriverOptions o;
  o.addr = addr;
  o.token = "any";
  o.method = Method::kPing;
  o.warmup = absl::Milliseconds(100);
  o.duration = absl::Milliseconds(500);
  return o;
}

TEST(OpenLoopTest, EveryCallDueInTheWindowIsSentAndRecorded) {
  FakeServer server;
  DriverOptions o = PingOptions(server.addr());
  o.rate = 1000;
  auto report = RunLoad(o);
  ASSERT_TRUE(report.ok()) << report.status();
  // Call i is due at i ms: those due from 100 ms to 600 ms are recorded,
  // however late a slow machine sent them.
  EXPECT_EQ(report->calls, 500);
  EXPECT_EQ(report->errors, 0);
  EXPECT_EQ(report->methods.at("Ping").calls, 500);
  EXPECT_EQ(report->methods.at("Ping").status.at("OK"), 500);
  EXPECT_DOUBLE_EQ(report->achieved_rate(), 1000);
  int64_t calls = 0;
  for (const auto& s : report->timeline) calls += s.calls;
  EXPECT_EQ(calls, report->calls);
}

TEST(ClosedLoopTest, CallsAreAnsweredAndRecorded) {
  FakeServer server;
  DriverOptions o = PingOptions(server.addr());
  o.concurrency = 2;
  auto report = RunLoad(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(report->calls, 0);
  EXPECT_EQ(report->errors, 0);
  EXPECT_EQ(report->methods.at("Ping").calls, report->calls);
}

TEST(UpdateLoadTest, EachCallChangesTheNextCampaignsBidWithTheAdvertisersToken) {
  FakeServer server;
  DriverOptions o = PingOptions(server.addr());
  o.method = Method::kUpdate;
  o.rate = 1000;
  o.update_token = "advertiser-token";
  for (int i = 0; i < 3; ++i) {
    attex::v1::Campaign c;
    c.set_id("cmp-" + std::to_string(i + 1));
    c.set_bid_cpm_micros(1'000'000 * (i + 1));
    c.set_version(7);
    o.campaigns.push_back(c);
  }
  auto report = RunLoad(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->methods.at("UpdateCampaign").calls, 500);
  EXPECT_EQ(report->errors, 0);
  const auto updates = server.campaigns().updates();
  ASSERT_EQ(updates.size(), 600u);  // The warm-up's 100 too.
  std::map<std::string, std::vector<int64_t>> bids;
  for (const auto& u : updates) {
    EXPECT_EQ(u.version(), 0);  // No version check.
    bids[u.id()].push_back(u.bid_cpm_micros());
  }
  ASSERT_EQ(bids.size(), 3u);
  for (const auto& [id, seen] : bids) {
    std::set<int64_t> distinct(seen.begin(), seen.end());
    EXPECT_EQ(distinct.size(), seen.size()) << id << ": a call that changes nothing";
  }
  for (const auto& token : server.campaigns().tokens()) {
    EXPECT_EQ(token, "Bearer advertiser-token");
  }
}

TEST(UpdateLoadTest, NeedsCampaigns) {
  DriverOptions o = PingOptions("127.0.0.1:1");
  o.method = Method::kUpdate;
  EXPECT_EQ(RunLoad(o).status().code(), absl::StatusCode::kInvalidArgument);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(AttexLoadTest, WritesWellFormedJsonAndSelfContainedHtmlReports) {
  FakeServer server;
  attex::testing::TempDir dir;
  const std::string json = dir.path() + "/r.json", html = dir.path() + "/r.html";
  const std::string command = std::string(ATTEX_LOAD_BIN) + " --addr " + server.addr() +
                              " --token t --method ping --rate 300 --duration 1 --warmup 0.2"
                              " --quiet --json " +
                              json + " --html " + html + " > " + dir.path() + "/out.txt";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(ReadAll(json), &parsed).ok())
      << ReadAll(json);
  EXPECT_EQ(parsed.fields().at("method").string_value(), "ping");
  EXPECT_EQ(parsed.fields().at("mode").string_value(), "open");
  // Open loop: exactly the 300 calls due in the recorded second.
  EXPECT_EQ(parsed.fields().at("calls").number_value(), 300);
  const auto& latency = parsed.fields().at("latency").struct_value().fields();
  for (const char* key : {"p50_ms", "p90_ms", "p99_ms", "p99.9_ms", "max_ms"}) {
    ASSERT_TRUE(latency.contains(key)) << key;
    EXPECT_GT(latency.at(key).number_value(), 0) << key;
  }
  EXPECT_FALSE(parsed.fields().at("timeline").list_value().values().empty());

  const std::string page = ReadAll(html);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(Count(page, "<svg "), 3);
  EXPECT_EQ(Count(page, "</svg>"), 3);
  EXPECT_EQ(Count(page, "<script"), 0);
  EXPECT_EQ(Count(page, "src="), 0);
  EXPECT_EQ(Count(page, "http"), Count(page, "xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_NE(page.find("Latency histogram"), std::string::npos);
  EXPECT_NE(page.find("Throughput over time"), std::string::npos);

  const std::string summary = ReadAll(dir.path() + "/out.txt");
  EXPECT_NE(summary.find("p99.9"), std::string::npos);
  EXPECT_NE(summary.find("achieved"), std::string::npos);
}

}  // namespace
}  // namespace attex::load
