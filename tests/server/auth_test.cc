// Authentication and roles end to end: a real Server on 127.0.0.1:0 with the
// demo accounts, called through gRPC stubs.
#include "server/auth.h"

#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attex/v1/campaign.grpc.pb.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "attex/v1/operator.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/testing/temp_dir.h"

namespace attex::server {
namespace {

using ::attex::testing::TempDir;

// The string value of "key" in the flat JSON object `json`; empty if absent.
std::string JsonString(const std::string& json, const std::string& key) {
  const std::string needle = absl::StrCat("\"", key, "\": \"");
  const size_t start = json.find(needle);
  if (start == std::string::npos) return "";
  const size_t begin = start + needle.size();
  const size_t end = json.find('"', begin);
  return end == std::string::npos ? "" : json.substr(begin, end - begin);
}

class AuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.data_dir = dir_->path();
    options.demo = true;
    auto server = Server::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    ASSERT_GT(server_->port(), 0);

    std::ifstream in(dir_->path() + "/demo-tokens.json");
    ASSERT_TRUE(in) << "no demo-tokens.json";
    std::stringstream json;
    json << in.rdbuf();
    tokens_ = new Tokens{JsonString(json.str(), "operator"), JsonString(json.str(), "platform"),
                         JsonString(json.str(), "advertiser")};
    ASSERT_FALSE(tokens_->op.empty());
    ASSERT_FALSE(tokens_->platform.empty());
    ASSERT_FALSE(tokens_->advertiser.empty());

    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                       grpc::InsecureChannelCredentials());
    exchange_ = attex::v1::Exchange::NewStub(channel).release();
    campaigns_ = attex::v1::Campaigns::NewStub(channel).release();
    operator_ = attex::v1::Operator::NewStub(channel).release();
  }

  static void TearDownTestSuite() {
    delete exchange_;
    delete campaigns_;
    delete operator_;
    delete server_;  // Shuts down.
    delete tokens_;
    delete dir_;
    exchange_ = nullptr;
    campaigns_ = nullptr;
    operator_ = nullptr;
    server_ = nullptr;
    tokens_ = nullptr;
    dir_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(operator_, nullptr) << "the server did not start"; }

  // A context with `authorization` set to `value` (none when empty).
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& value) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!value.empty()) ctx->AddMetadata("authorization", value);
    return ctx;
  }
  static std::string Bearer(const std::string& token) { return "Bearer " + token; }

  static grpc::Status Ping(const std::string& authorization) {
    attex::v1::PingRequest request;
    request.set_payload("hello");
    attex::v1::PingResponse response;
    auto ctx = Context(authorization);
    grpc::Status status = operator_->Ping(ctx.get(), request, &response);
    if (status.ok()) {
      EXPECT_EQ(response.payload(), "hello");
    }
    return status;
  }

  static grpc::Status GetStats(const std::string& authorization) {
    attex::v1::Stats stats;
    auto ctx = Context(authorization);
    return operator_->GetStats(ctx.get(), attex::v1::GetStatsRequest(), &stats);
  }

  static grpc::Status Bid(const std::string& authorization) {
    attex::v1::BidRequest request;
    request.set_request_id("req-1");
    auto* slot = request.add_slots();
    slot->set_id("s1");
    slot->set_format("banner");
    attex::v1::BidResponse response;
    auto ctx = Context(authorization);
    return exchange_->Bid(ctx.get(), request, &response);
  }

  static grpc::Status ListCampaigns(const std::string& authorization) {
    attex::v1::ListCampaignsResponse response;
    auto ctx = Context(authorization);
    return campaigns_->ListCampaigns(ctx.get(), attex::v1::ListCampaignsRequest(), &response);
  }

  struct Tokens {
    std::string op;
    std::string platform;
    std::string advertiser;
  };

  static TempDir* dir_;
  static Server* server_;
  static Tokens* tokens_;
  static attex::v1::Exchange::Stub* exchange_;
  static attex::v1::Campaigns::Stub* campaigns_;
  static attex::v1::Operator::Stub* operator_;
};

TempDir* AuthTest::dir_ = nullptr;
Server* AuthTest::server_ = nullptr;
AuthTest::Tokens* AuthTest::tokens_ = nullptr;
attex::v1::Exchange::Stub* AuthTest::exchange_ = nullptr;
attex::v1::Campaigns::Stub* AuthTest::campaigns_ = nullptr;
attex::v1::Operator::Stub* AuthTest::operator_ = nullptr;

TEST_F(AuthTest, CallWithoutTokenIsUnauthenticated) {
  EXPECT_EQ(Ping("").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Bid("").error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthTest, UnknownTokenIsUnauthenticated) {
  EXPECT_EQ(Ping("Bearer nope").error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthTest, NonBearerSchemeIsUnauthenticated) {
  EXPECT_EQ(Ping("Basic x").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // A valid token without the scheme is not enough either.
  EXPECT_EQ(Ping(tokens_->op).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthTest, BearerWithoutTokenIsUnauthenticated) {
  EXPECT_EQ(Ping("Bearer ").error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthTest, TokenWithExtraCharactersIsUnauthenticated) {
  EXPECT_EQ(Ping(Bearer(tokens_->op + "0")).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthTest, PlatformMayNotCallOperatorMethods) {
  grpc::Status status = GetStats(Bearer(tokens_->platform));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
}

TEST_F(AuthTest, AdvertiserMayNotBid) {
  grpc::Status status = Bid(Bearer(tokens_->advertiser));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "ROLE_ADVERTISER"))
      << status.error_message();
}

TEST_F(AuthTest, PlatformMayNotListCampaigns) {
  grpc::Status status = ListCampaigns(Bearer(tokens_->platform));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
}

TEST_F(AuthTest, PlatformMayBid) {
  grpc::Status status = Bid(Bearer(tokens_->platform));
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
}

TEST_F(AuthTest, AdvertiserMayListCampaigns) {
  grpc::Status status = ListCampaigns(Bearer(tokens_->advertiser));
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
}

TEST_F(AuthTest, OperatorMayGetStats) {
  grpc::Status status = GetStats(Bearer(tokens_->op));
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
}

TEST_F(AuthTest, EveryRoleMayPing) {
  for (const std::string* token : {&tokens_->op, &tokens_->platform, &tokens_->advertiser}) {
    grpc::Status status = Ping(Bearer(*token));
    EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  }
}

TEST(AuthenticatorTest, NewTokensAreDistinctAndPrefixedHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string token = Authenticator::NewToken();
    ASSERT_EQ(token.size(), 54u) << token;
    ASSERT_TRUE(absl::StartsWith(token, "attex_")) << token;
    for (char ch : token.substr(6)) {
      ASSERT_TRUE(absl::ascii_isdigit(ch) || (ch >= 'a' && ch <= 'f')) << token;
    }
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace attex::server
