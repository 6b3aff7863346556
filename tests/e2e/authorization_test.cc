// The authorisation matrix of docs/security.md, checked against the real
// server: every RPC called by every role, and by no one.
#include <future>

#include "attex/v1/operator.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {
namespace {

enum Who { kNone, kPlatform, kAdvertiser, kOperator };

struct Row {
  const char* method;
  bool allowed[4];  // none, platform, advertiser, operator
};

// Keep in step with the table in docs/security.md.
constexpr Row kMatrix[] = {
    {"/attex.v1.Exchange/Bid", {false, true, false, true}},
    {"/attex.v1.Exchange/Explain", {false, true, false, true}},
    {"/attex.v1.Exchange/ReportEvents", {false, true, false, true}},
    {"/attex.v1.Campaigns/CreateCampaign", {false, false, true, true}},
    {"/attex.v1.Campaigns/UpdateCampaign", {false, false, true, true}},
    {"/attex.v1.Campaigns/GetCampaign", {false, false, true, true}},
    {"/attex.v1.Campaigns/ListCampaigns", {false, false, true, true}},
    {"/attex.v1.Campaigns/SetCampaignStatus", {false, false, true, true}},
    {"/attex.v1.Campaigns/GetSpend", {false, false, true, true}},
    {"/attex.v1.Operator/Ping", {false, true, true, true}},
    {"/attex.v1.Operator/CreateAccount", {false, false, false, true}},
    {"/attex.v1.Operator/GetStats", {false, false, false, true}},
    {"/attex.v1.Operator/ReloadModel", {false, false, false, true}},
    {"/attex.v1.Operator/GetLedgerBalances", {false, false, false, true}},
    {"/attex.v1.Operator/CheckLedger", {false, false, false, true}},
    {"/attex.v1.Operator/ListAccounts", {false, false, false, true}},
    {"/attex.v1.Operator/RevokeToken", {false, false, false, true}},
};

// Calls `method` with an empty (all-default) request.
grpc::Status CallEmpty(grpc::GenericStub& stub, const std::string& method,
                       const std::string& token) {
  auto ctx = Context(token);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;  // The empty encoding of any message.
  std::promise<grpc::Status> done;
  stub.UnaryCall(ctx.get(), method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

TEST(AuthorizationMatrixTest, EveryMethodAdmitsExactlyTheRolesOfTheTable) {
  TempDir dir;
  ServerProcess server(dir.path(), {"--demo"});
  ASSERT_TRUE(server.Start());
  auto tokens = ReadFlatJson(dir.path() + "/demo-tokens.json");
  const std::string token[4] = {"", tokens["platform"], tokens["advertiser"], tokens["operator"]};
  const char* names[4] = {"no token", "platform", "advertiser", "operator"};
  grpc::GenericStub stub(server.channel());
  for (const Row& row : kMatrix) {
    for (int who = kNone; who <= kOperator; ++who) {
      const grpc::Status s = CallEmpty(stub, row.method, token[who]);
      SCOPED_TRACE(std::string(row.method) + " as " + names[who] + ": " +
                   std::to_string(s.error_code()) + " " + s.error_message());
      EXPECT_NE(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
      if (row.allowed[who]) {
        EXPECT_NE(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
        EXPECT_NE(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      } else {
        EXPECT_EQ(s.error_code(), who == kNone ? grpc::StatusCode::UNAUTHENTICATED
                                               : grpc::StatusCode::PERMISSION_DENIED);
      }
    }
  }
}

TEST(AuthorizationMatrixTest, RevokedTokenIsUnauthenticatedAtOnce) {
  TempDir dir;
  ServerProcess server(dir.path(), {"--demo"});
  ASSERT_TRUE(server.Start());
  auto tokens = ReadFlatJson(dir.path() + "/demo-tokens.json");
  auto op = attex::v1::Operator::NewStub(server.channel());
  attex::v1::PingResponse pong;
  ASSERT_TRUE(op->Ping(Context(tokens["platform"]).get(), {}, &pong).ok());

  attex::v1::RevokeTokenRequest revoke;
  revoke.set_account_id(tokens["platform_id"]);
  attex::v1::Account account;
  ASSERT_TRUE(op->RevokeToken(Context(tokens["operator"]).get(), revoke, &account).ok());
  EXPECT_TRUE(account.revoked());
  EXPECT_TRUE(account.token().empty());
  EXPECT_EQ(op->Ping(Context(tokens["platform"]).get(), {}, &pong).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  attex::v1::ListAccountsResponse list;
  ASSERT_TRUE(op->ListAccounts(Context(tokens["operator"]).get(), {}, &list).ok());
  ASSERT_EQ(list.accounts_size(), 3);
  for (const auto& a : list.accounts()) {
    EXPECT_TRUE(a.token().empty());
    EXPECT_EQ(a.revoked(), a.id() == tokens["platform_id"]);
  }
  // Revocation is durable: still refused after a restart.
  ASSERT_EQ(server.Stop(), 0);
  ASSERT_TRUE(server.Start());
  op = attex::v1::Operator::NewStub(server.channel());
  EXPECT_EQ(op->Ping(Context(tokens["platform"]).get(), {}, &pong).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  revoke.set_account_id("acc-999");
  EXPECT_EQ(op->RevokeToken(Context(tokens["operator"]).get(), revoke, &account).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace attex::testing
