// The load tester against an in-process fake Operator service that stalls
// once for 200 ms, as a server does in a GC pause or a blocked reactor.
#include "client/load/driver.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "attex/v1/operator.grpc.pb.h"
#include "client/load/report.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace attex::load {
namespace {

using Clock = std::chrono::steady_clock;

// Answers Ping at once, except that the first call after `stall_after` of
// serving, and every call in the 200 ms after it, is answered only when the
// 200 ms are over.
class StallingOperator final : public attex::v1::Operator::CallbackService {
 public:
  explicit StallingOperator(std::chrono::milliseconds stall_after)
      : started_(Clock::now()), stall_after_(stall_after), finisher_([this] { Finisher(); }) {}
  ~StallingOperator() override {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    finisher_.join();
  }

  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* ctx,
                                 const attex::v1::PingRequest* request,
                                 attex::v1::PingResponse* response) override {
    auto* reactor = ctx->DefaultReactor();
    const auto now = Clock::now();
    absl::MutexLock lock(&mu_);
    if (!stalled_ && now - started_ >= stall_after_) {
      stalled_ = true;
      stall_end_ = now + std::chrono::milliseconds(200);
    }
    if (stalled_ && now < stall_end_) {
      held_.push_back(reactor);
      return reactor;
    }
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  void Finisher() {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      absl::MutexLock lock(&mu_);
      if (stalled_ && Clock::now() >= stall_end_) {
        for (auto* r : held_) r->Finish(grpc::Status::OK);
        held_.clear();
      }
      if (stop_) return;
    }
  }

  const Clock::time_point started_;
  const std::chrono::milliseconds stall_after_;
  absl::Mutex mu_;
  bool stalled_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  Clock::time_point stall_end_ ABSL_GUARDED_BY(mu_);
  std::vector<grpc::ServerUnaryReactor*> held_ ABSL_GUARDED_BY(mu_);
  std::thread finisher_;
};

class FakeServer {
 public:
  explicit FakeServer(std::chrono::milliseconds stall_after) : service_(stall_after) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~FakeServer() { server_->Shutdown(std::chrono::system_clock::now()); }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  StallingOperator service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

DriverOptions PingOptions(const std::string& addr) {
  DriverOptions o;
  o.addr = addr;
  o.token = "any";
  o.method = Method::kPing;
  o.warmup = absl::Milliseconds(200);
  o.duration = absl::Seconds(2);
  return o;
}

TEST(OpenLoopTest, AServerStallShowsInP99AndMax) {
  // The stall comes 1.2 s after start: 1 s into the recorded 2 s.
  FakeServer server(std::chrono::milliseconds(1200));
  DriverOptions o = PingOptions(server.addr());
  o.rate = 500;
  auto report = RunLoad(o);
  ASSERT_TRUE(report.ok()) << report.status();
  // 2 s at 500/s; the 100 calls due during the stall wait up to 200 ms each.
  EXPECT_NEAR(report->calls, 1000, 50);
  EXPECT_EQ(report->errors, 0);
  EXPECT_GE(report->latency.max(), 180'000'000);
  EXPECT_GE(report->latency.Percentile(0.99), 100'000'000);
  EXPECT_GE(report->latency.Percentile(0.95), 50'000'000);  // 10% of calls waited 0-200 ms.
  EXPECT_NEAR(report->achieved_rate(), 500, 25);
}

TEST(ClosedLoopTest, TheSameStallHidesFromP99) {
  // What coordinated omission looks like: one slow call among thousands.
  FakeServer server(std::chrono::milliseconds(1200));
  DriverOptions o = PingOptions(server.addr());
  o.concurrency = 1;
  auto report = RunLoad(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GE(report->latency.max(), 180'000'000);
  EXPECT_LT(report->latency.Percentile(0.99), 100'000'000);
  EXPECT_GT(report->calls, 100);
}

TEST(ReportTest, TimelineHasOneEntryASecondWithTheStallInIt) {
  FakeServer server(std::chrono::milliseconds(1200));
  DriverOptions o = PingOptions(server.addr());
  o.rate = 200;
  auto report = RunLoad(o);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_GE(report->timeline.size(), 2u);
  ASSERT_LE(report->timeline.size(), 3u);
  int64_t worst = 0, calls = 0;
  for (const auto& s : report->timeline) {
    worst = std::max(worst, s.max_ns);
    calls += s.calls;
  }
  EXPECT_EQ(calls, report->calls);
  EXPECT_GE(worst, 180'000'000);
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
  FakeServer server(std::chrono::hours(1));
  const auto dir = std::filesystem::temp_directory_path() /
                   ("attex-load-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string json = (dir / "r.json").string(), html = (dir / "r.html").string();
  const std::string command = std::string(ATTEX_LOAD_BIN) + " --addr " + server.addr() +
                              " --token t --method ping --rate 300 --duration 1 --warmup 0.2"
                              " --quiet --json " + json + " --html " + html + " > " +
                              (dir / "out.txt").string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(ReadAll(json), &parsed).ok())
      << ReadAll(json);
  EXPECT_EQ(parsed.fields().at("method").string_value(), "ping");
  EXPECT_EQ(parsed.fields().at("mode").string_value(), "open");
  EXPECT_NEAR(parsed.fields().at("calls").number_value(), 300, 30);
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

  const std::string summary = ReadAll((dir / "out.txt").string());
  EXPECT_NE(summary.find("p99.9"), std::string::npos);
  EXPECT_NE(summary.find("achieved"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace attex::load
