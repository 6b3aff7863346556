#include "client/connection.h"

#include <chrono>
#include <memory>
#include <string>

#include "client/channel_target.h"
#include "gtest/gtest.h"

namespace attex::client {
namespace {

ClientOptions Options(std::string addr, int timeout_ms) {
  ClientOptions options;
  options.addr = std::move(addr);
  options.token = "tok-1";
  options.timeout_ms = timeout_ms;
  return options;
}

TEST(FailureMessageTest, NamesTheCodeAndKeepsTheServersMessageOnOneLine) {
  grpc::Status status(grpc::StatusCode::INVALID_ARGUMENT, "slots[0].id:\r\nmust not be empty");
  EXPECT_EQ(FailureMessage(status, Options("h:1", 5000)),
            "INVALID_ARGUMENT: slots[0].id:  must not be empty");
}

TEST(FailureMessageTest, UnavailableNamesTheAddress) {
  ClientOptions options = Options("10.0.0.7:50051", 5000);
  EXPECT_EQ(FailureMessage(grpc::Status(grpc::StatusCode::UNAVAILABLE, "refused"), options),
            "UNAVAILABLE: cannot reach attex-server at 10.0.0.7:50051: refused");
  EXPECT_EQ(FailureMessage(grpc::Status(grpc::StatusCode::UNAVAILABLE, ""), options),
            "UNAVAILABLE: cannot reach attex-server at 10.0.0.7:50051");
}

TEST(FailureMessageTest, DeadlineExceededNamesTheAddressAndTheTimeout) {
  ClientOptions options = Options("h:1", 250);
  EXPECT_EQ(
      FailureMessage(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded"),
                     options),
      "DEADLINE_EXCEEDED: no answer from h:1 within 250 ms (--timeout_ms): Deadline Exceeded");
  EXPECT_EQ(FailureMessage(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, ""), options),
            "DEADLINE_EXCEEDED: no answer from h:1 within 250 ms (--timeout_ms)");
}

// An Operator service that answers GetStats and refuses Ping, and notes
// what the client sent. The notes are written before Finish and read after
// the client's call returns, so the call itself orders them.
class FakeOperator final : public attex::v1::Operator::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const attex::v1::GetStatsRequest* /*request*/,
                                     attex::v1::Stats* response) override {
    auto it = context->client_metadata().find("authorization");
    if (it != context->client_metadata().end()) {
      authorization = std::string(it->second.data(), it->second.size());
    }
    deadline = context->deadline();
    response->set_model_version("model-7");
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context,
                                 const attex::v1::PingRequest* /*request*/,
                                 attex::v1::PingResponse* /*response*/) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not you"));
    return reactor;
  }

  std::string authorization;
  std::chrono::system_clock::time_point deadline;
};

class ConnectionCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  Connection Open(int timeout_ms) {
    absl::StatusOr<Connection> conn =
        Connection::Open(Options("127.0.0.1:" + std::to_string(port_), timeout_ms));
    EXPECT_TRUE(conn.ok()) << conn.status();
    return *std::move(conn);
  }

  FakeOperator service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ConnectionCallTest, FillsTheResponseAndSendsTheBearerTokenAndTheDeadline) {
  Connection conn = Open(60000);
  auto before = std::chrono::system_clock::now();
  attex::v1::Stats stats;
  EXPECT_EQ(conn.Call(&attex::v1::Operator::Stub::GetStats, {}, &stats), kExitOk);
  auto after = std::chrono::system_clock::now();
  EXPECT_EQ(stats.model_version(), "model-7");
  EXPECT_EQ(service_.authorization, "Bearer tok-1");
  // now + timeout_ms, taken between `before` and `after`.
  EXPECT_GE(service_.deadline, before + std::chrono::seconds(59));
  EXPECT_LE(service_.deadline, after + std::chrono::seconds(61));
}

TEST_F(ConnectionCallTest, ARefusedCallIsAnRpcError) {
  Connection conn = Open(60000);
  attex::v1::PingResponse response;
  EXPECT_EQ(conn.Call(&attex::v1::Operator::Stub::Ping, {}, &response), kExitRpcError);
  EXPECT_EQ(conn.CallAndPrint(&attex::v1::Operator::Stub::Ping, {}), kExitRpcError);
}

TEST(ChannelTargetTest, AListBecomesIpv4AndANameOrOneAddressIsKept) {
  EXPECT_EQ(ChannelTarget("127.0.0.1:50051"), "127.0.0.1:50051");
  EXPECT_EQ(ChannelTarget("127.0.0.1:1,127.0.0.1:2"), "ipv4:127.0.0.1:1,127.0.0.1:2");
  EXPECT_EQ(ChannelTarget("ipv4:127.0.0.1:1,127.0.0.1:2"), "ipv4:127.0.0.1:1,127.0.0.1:2");
  EXPECT_EQ(ChannelTarget("dns:///attex.internal:50051"), "dns:///attex.internal:50051");
}

// Round robin over a list: a call is answered while one of the addresses
// has no server at all.
TEST_F(ConnectionCallTest, AListOfAddressesIsServedByTheOneThatAnswers) {
  auto conn = Connection::Open(Options("127.0.0.1:1,127.0.0.1:" + std::to_string(port_), 60000));
  ASSERT_TRUE(conn.ok()) << conn.status();
  for (int i = 0; i < 4; ++i) {
    attex::v1::Stats stats;
    EXPECT_EQ(conn->Call(&attex::v1::Operator::Stub::GetStats, {}, &stats), kExitOk);
    EXPECT_EQ(stats.model_version(), "model-7");
  }
}

}  // namespace
}  // namespace attex::client
