// The load tester's driver through gRPC against an in-process fake
// Operator service that answers at once: the open loop sends exactly its
// schedule, whatever the machine's speed, and attex-load writes its reports.
// What is measured of the calls (latency from the intended send time, the
// timeline, a stall in the tail) is the recorder's, tested on a fake clock
// in recorder_test.cc.
#include "client/load/driver.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

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

class FakeServer {
 public:
  FakeServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~FakeServer() { server_->Shutdown(std::chrono::system_clock::now()); }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  InstantOperator service_;
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
