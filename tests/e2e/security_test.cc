// TLS, mutual TLS, rate limits, the receive limit and privacy, through the
// real server. Certificates are made at test time with openssl.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "attex/v1/campaign.grpc.pb.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "attex/v1/operator.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {
namespace {

using namespace attex::v1;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// A CA, a server certificate for 127.0.0.1 and a client certificate.
class Certificates {
 public:
  explicit Certificates(const std::string& dir) : dir_(dir) {
    const std::string script =
        "set -e; cd '" + dir +
        "'; exec >openssl.log 2>&1;"
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=attex-test-ca"
        " -keyout ca.key -out ca.pem;"
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext;"
        "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out "
        "server.csr;"
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
        " -extfile san.ext -out server.pem;"
        "openssl req -newkey rsa:2048 -nodes -subj /CN=attex-client -keyout client.key -out "
        "client.csr;"
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
        " -out client.pem";
    ok_ = std::system(("bash -c \"" + script + "\"").c_str()) == 0;
  }
  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string pem(const std::string& name) const { return Slurp(path(name)); }

 private:
  std::string dir_;
  bool ok_ = false;
};

bool Pings(const std::shared_ptr<grpc::Channel>& channel, const std::string& token) {
  auto op = Operator::NewStub(channel);
  PingResponse pong;
  auto ctx = Context(token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  return op->Ping(ctx.get(), PingRequest(), &pong).ok();
}

std::shared_ptr<grpc::Channel> TlsChannel(int port, const Certificates& certs, bool client_cert) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = certs.pem("ca.pem");
  if (client_cert) {
    ssl.pem_private_key = certs.pem("client.key");
    ssl.pem_cert_chain = certs.pem("client.pem");
  }
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::SslCredentials(ssl));
}

TEST(SecurityTest, TlsServesEncryptedCallsAndRefusesPlaintext) {
  TempDir dir;
  Certificates certs(dir.path());
  ASSERT_TRUE(certs.ok()) << Slurp(dir.path() + "/openssl.log");
  ServerProcess server(dir.path() + "/data", {"--demo", "--tls_cert=" + certs.path("server.pem"),
                                              "--tls_key=" + certs.path("server.key")});
  ASSERT_TRUE(server.Start(/*plaintext=*/false));
  const std::string token = ReadFlatJson(dir.path() + "/data/demo-tokens.json")["platform"];
  EXPECT_TRUE(Pings(TlsChannel(server.port(), certs, false), token));
  EXPECT_FALSE(Pings(grpc::CreateChannel("127.0.0.1:" + std::to_string(server.port()),
                                         grpc::InsecureChannelCredentials()),
                     token));
}

TEST(SecurityTest, MutualTlsRequiresAClientCertificateFromTheCa) {
  TempDir dir;
  Certificates certs(dir.path());
  ASSERT_TRUE(certs.ok()) << Slurp(dir.path() + "/openssl.log");
  ServerProcess server(dir.path() + "/data", {"--demo", "--tls_cert=" + certs.path("server.pem"),
                                              "--tls_key=" + certs.path("server.key"),
                                              "--tls_client_ca=" + certs.path("ca.pem")});
  ASSERT_TRUE(server.Start(/*plaintext=*/false));
  const std::string token = ReadFlatJson(dir.path() + "/data/demo-tokens.json")["platform"];
  EXPECT_TRUE(Pings(TlsChannel(server.port(), certs, true), token));
  EXPECT_FALSE(Pings(TlsChannel(server.port(), certs, false), token));
}

TEST(SecurityTest, RateLimitIsResourceExhaustedWithARetryHint) {
  TempDir dir;
  ServerProcess server(dir.path(), {"--demo", "--rate_limit_platform=5"});
  ASSERT_TRUE(server.Start());
  auto tokens = ReadFlatJson(dir.path() + "/demo-tokens.json");
  auto op = Operator::NewStub(server.channel());
  int ok = 0;
  grpc::Status refused;
  std::string retry_after;
  for (int i = 0; i < 20; ++i) {
    auto ctx = Context(tokens["platform"]);
    PingResponse pong;
    grpc::Status s = op->Ping(ctx.get(), PingRequest(), &pong);
    if (s.ok()) {
      ++ok;
    } else if (refused.ok()) {
      refused = s;
      auto trailers = ctx->GetServerTrailingMetadata();
      auto it = trailers.find("retry-after-ms");
      if (it != trailers.end()) retry_after = std::string(it->second.data(), it->second.size());
    }
  }
  EXPECT_GE(ok, 5);
  EXPECT_LT(ok, 20);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("rate limit"), std::string::npos);
  EXPECT_GT(std::atoi(retry_after.c_str()), 0);
  // Another account has a bucket of its own.
  PingResponse pong;
  EXPECT_TRUE(op->Ping(Context(tokens["advertiser"]).get(), PingRequest(), &pong).ok());
}

TEST(SecurityTest, OversizedMessagesAreRefusedBeforeParsing) {
  TempDir dir;
  ServerProcess server(dir.path(), {"--demo"});
  ASSERT_TRUE(server.Start());
  auto tokens = ReadFlatJson(dir.path() + "/demo-tokens.json");
  auto op = Operator::NewStub(server.channel());
  PingRequest big;
  big.set_payload(std::string(5 << 20, 'x'));
  PingResponse pong;
  EXPECT_EQ(op->Ping(Context(tokens["platform"]).get(), big, &pong).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(op->Ping(Context(tokens["platform"]).get(), PingRequest(), &pong).ok());
}

TEST(SecurityTest, WithoutConsentNothingIsKeyedToTheUser) {
  TempDir dir;
  ServerProcess server(dir.path(), {"--demo"});
  ASSERT_TRUE(server.Start());
  auto tokens = ReadFlatJson(dir.path() + "/demo-tokens.json");
  auto exchange = Exchange::NewStub(server.channel());
  BidRequest req;
  req.set_request_id("private");
  req.mutable_user()->set_id("user-who-said-no");
  req.mutable_user()->add_features("interest:running");
  req.mutable_user()->mutable_consent()->set_gdpr_applies(true);
  req.mutable_context()->add_features("interest:travel");
  auto* slot = req.add_slots();
  slot->set_id("s");
  slot->set_format("banner");
  BidResponse resp;
  ASSERT_TRUE(exchange->Bid(Context(tokens["platform"]).get(), req, &resp).ok());
  ASSERT_EQ(resp.placements_size(), 1);
  // The query used the page only: the travel campaign drew the attention.
  EXPECT_EQ(resp.placements(0).campaign_id(), "cmp-3");
  EXPECT_EQ(resp.placements(0).billing_token().find("user-who-said-no"), std::string::npos);

  ReportEventsRequest report;
  report.add_events()->set_billing_token(resp.placements(0).billing_token());
  report.mutable_events(0)->set_type(EVENT_TYPE_IMPRESSION);
  ReportEventsResponse out;
  ASSERT_TRUE(exchange->ReportEvents(Context(tokens["platform"]).get(), report, &out).ok());
  auto op = Operator::NewStub(server.channel());
  GetLedgerBalancesRequest users;
  users.set_prefix("user:");
  LedgerBalances balances;
  ASSERT_TRUE(op->GetLedgerBalances(Context(tokens["operator"]).get(), users, &balances).ok());
  ASSERT_EQ(balances.balances_size(), 1);
  EXPECT_EQ(balances.balances(0).account(), "user:anonymous");
  // The database holds no trace of the user's id.
  EXPECT_EQ(Slurp(dir.path() + "/attex.db").find("user-who-said-no"), std::string::npos);
  EXPECT_EQ(Slurp(dir.path() + "/attex.db-wal").find("user-who-said-no"), std::string::npos);
}

}  // namespace
}  // namespace attex::testing
