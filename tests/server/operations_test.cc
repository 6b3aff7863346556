// What operators rely on: the Prometheus endpoint serves the named series,
// and past --max_in_flight calls are refused at once with RESOURCE_EXHAUSTED.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "attex/v1/campaign.grpc.pb.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "attex/v1/operator.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/admission.h"
#include "server/metrics.h"
#include "server/server.h"
#include "tests/testing/curl.h"
#include "tests/testing/temp_dir.h"

namespace attex::server {
namespace {

using ::attex::testing::TempDir;

// GET http://127.0.0.1:port/metrics, the body.
std::string Scrape(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!::write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) response.append(buf, n);
  ::close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// The value of the sample whose name and labels are exactly `series`; -1 if absent.
double Sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

std::string Token(const std::string& dir, const std::string& role) {
  std::ifstream in(dir + "/demo-tokens.json");
  std::stringstream json;
  json << in.rdbuf();
  const std::string needle = absl::StrCat("\"", role, "\": \"");
  const size_t at = json.str().find(needle);
  if (at == std::string::npos) return "";
  const size_t begin = at + needle.size();
  return json.str().substr(begin, json.str().find('"', begin) - begin);
}

std::unique_ptr<Server> StartServer(const TempDir& dir, int64_t max_in_flight) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = dir.path();
  options.demo = true;
  options.metrics_listen = "127.0.0.1:0";
  options.max_in_flight = max_in_flight;
  auto server = Server::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

void Authorize(grpc::ClientContext& ctx, const std::string& token) {
  ctx.AddMetadata("authorization", "Bearer " + token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

TEST(MetricsEndpointTest, ServesCallsLatencyAuctionAndBudgetSeries) {
  TempDir dir;
  auto server = StartServer(dir, 0);
  ASSERT_NE(server, nullptr);
  ASSERT_GT(server->metrics_port(), 0);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port()),
                                     grpc::InsecureChannelCredentials());
  auto exchange = attex::v1::Exchange::NewStub(channel);
  auto op = attex::v1::Operator::NewStub(channel);

  attex::v1::BidRequest bid;
  bid.set_request_id("r1");
  bid.mutable_user()->add_features("interest:coffee");
  bid.mutable_context()->set_country("US");
  auto* slot = bid.add_slots();
  slot->set_id("s1");
  slot->set_format("banner");
  attex::v1::ReportEventsRequest events;
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    Authorize(ctx, Token(dir.path(), "platform"));
    attex::v1::BidResponse response;
    ASSERT_TRUE(exchange->Bid(&ctx, bid, &response).ok());
    for (const auto& p : response.placements()) {
      auto* e = events.add_events();
      e->set_billing_token(p.billing_token());
      e->set_type(attex::v1::EVENT_TYPE_IMPRESSION);
    }
  }
  ASSERT_GT(events.events_size(), 0) << "the demo coffee campaign should win";
  {
    grpc::ClientContext ctx;
    Authorize(ctx, Token(dir.path(), "platform"));
    attex::v1::ReportEventsResponse response;
    ASSERT_TRUE(exchange->ReportEvents(&ctx, events, &response).ok());
  }
  grpc::ClientContext bad;
  Authorize(bad, "not-a-token");
  attex::v1::PingRequest ping;
  attex::v1::PingResponse pong;
  EXPECT_EQ(op->Ping(&bad, ping, &pong).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  const std::string text = Scrape(server->metrics_port());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(Sample(text, R"(attex_calls_total{code="0",method="Exchange/Bid"})"), 3) << text;
  EXPECT_EQ(Sample(text, R"(attex_calls_total{code="16",method="Operator/Ping"})"), 1);
  EXPECT_EQ(Sample(text, R"(attex_calls_total{code="0",method="Exchange/ReportEvents"})"), 1);
  EXPECT_EQ(Sample(text, R"(attex_call_latency_seconds_count{code="0",method="Exchange/Bid"})"), 3);
  EXPECT_NE(
      text.find(R"(attex_call_latency_seconds_bucket{code="0",method="Exchange/Bid",le="0.001"})"),
      std::string::npos);
  EXPECT_EQ(Sample(text, "attex_auction_slots_total"), 3);
  EXPECT_EQ(Sample(text, "attex_auction_placements_total"), events.events_size());
  EXPECT_GE(Sample(text, "attex_auction_floor_priced_total"), 0);
  EXPECT_GE(Sample(text, "attex_calls_in_flight"), 0);
  EXPECT_GE(Sample(text, "attex_ledger_commit_seconds_count"), 1);
  EXPECT_GT(Sample(text, "attex_spend_micros_total"), 0);
  EXPECT_EQ(Sample(text, "attex_spend_today_micros"), Sample(text, "attex_spend_micros_total"));
  EXPECT_EQ(Sample(text, "attex_campaigns_out_of_budget"), 0);
  EXPECT_EQ(Sample(text, "attex_active_ads"), 6);

  grpc::ClientContext ctx;
  Authorize(ctx, Token(dir.path(), "operator"));
  attex::v1::Stats stats;
  ASSERT_TRUE(op->GetStats(&ctx, attex::v1::GetStatsRequest(), &stats).ok());
  EXPECT_GT(stats.bids_per_second(), 0);
  EXPECT_GT(stats.calls_per_second(), stats.bids_per_second());
  EXPECT_GT(stats.spend_micros_per_second(), 0);
  EXPECT_DOUBLE_EQ(stats.fill_rate_last_minute(), events.events_size() / 3.0);
  EXPECT_GE(stats.calls_in_flight(), 1);  // GetStats itself.
  EXPECT_EQ(stats.calls_shed(), 0);
}

TEST(ReloadModelTest, ReembedsTheStoresCampaignsInOneWholeBuild) {
  TempDir dir;
  auto server = StartServer(dir, 0);
  ASSERT_NE(server, nullptr);
  auto op = attex::v1::Operator::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server->port()), grpc::InsecureChannelCredentials()));
  const double builds = Sample(Scrape(server->metrics_port()), "attex_catalog_builds");
  grpc::ClientContext ctx;
  Authorize(ctx, Token(dir.path(), "operator"));
  attex::v1::ReloadModelResponse response;
  ASSERT_TRUE(op->ReloadModel(&ctx, attex::v1::ReloadModelRequest(), &response).ok());
  EXPECT_EQ(response.ads_embedded(), 6);  // The demo's three campaigns, from the store.
  const std::string text = Scrape(server->metrics_port());
  EXPECT_EQ(Sample(text, "attex_catalog_builds"), builds + 1);
  EXPECT_EQ(Sample(text, "attex_active_ads"), 6);
  EXPECT_NE(text.find("attex_model_info{version=\"" + response.model_version() + "\"} 1"),
            std::string::npos)
      << text;
}

TEST(AdmissionTest, PastMaxInFlightCallsAreRefusedWithResourceExhausted) {
  TempDir dir;
  auto server = StartServer(dir, 2);
  ASSERT_NE(server, nullptr);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port()),
                                     grpc::InsecureChannelCredentials());
  auto campaigns = attex::v1::Campaigns::NewStub(channel);
  const std::string token = Token(dir.path(), "advertiser");

  // 64 campaign writes at once: each waits for the store, so they pile up.
  struct Call {
    grpc::ClientContext ctx;
    attex::v1::Campaign request, response;
  };
  constexpr int kCalls = 64;
  std::vector<std::unique_ptr<Call>> calls;
  absl::Mutex mu;
  int done = 0;
  std::map<grpc::StatusCode, int> codes;
  for (int i = 0; i < kCalls; ++i) {
    auto call = std::make_unique<Call>();
    Authorize(call->ctx, token);
    call->request.set_name(absl::StrCat("overload ", i));
    call->request.set_bid_cpm_micros(1'000'000);
    call->request.mutable_budget()->set_daily_micros(1'000'000);
    call->request.mutable_budget()->set_total_micros(10'000'000);
    auto* creative = call->request.add_creatives();
    creative->set_format("banner");
    creative->add_features("interest:coffee");
    creative->set_markup("<b>coffee</b>");
    calls.push_back(std::move(call));
  }
  for (auto& call : calls) {
    campaigns->async()->CreateCampaign(&call->ctx, &call->request, &call->response,
                                       [&](grpc::Status status) {
                                         absl::MutexLock lock(&mu);
                                         ++codes[status.error_code()];
                                         ++done;
                                       });
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n == kCalls; }, &done));
  }
  EXPECT_GT(codes[grpc::StatusCode::RESOURCE_EXHAUSTED], 0);
  EXPECT_GT(codes[grpc::StatusCode::OK], 0);
  EXPECT_EQ(codes[grpc::StatusCode::OK] + codes[grpc::StatusCode::RESOURCE_EXHAUSTED], kCalls);
  const std::string text = Scrape(server->metrics_port());
  EXPECT_EQ(Sample(text, R"(attex_calls_shed_total{reason="capacity"})"),
            codes[grpc::StatusCode::RESOURCE_EXHAUSTED]);
}

TEST(MetricsEndpointTest, CountsOpenRtbLossNoticesByReason) {
  TempDir dir;
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = dir.path();
  options.demo = true;
  options.metrics_listen = "127.0.0.1:0";
  options.openrtb.listen = "127.0.0.1:0";
  auto server = Server::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string base = absl::StrCat("http://127.0.0.1:", (*server)->openrtb_port());
  const auto bid = testing::Curl(
      {"-H", "Authorization: Bearer " + Token(dir.path(), "platform"), "--data-binary",
       R"({"id":"l","imp":[{"id":"1","banner":{"w":300,"h":250}}],"user":{"keywords":"coffee"}})"},
      base + "/openrtb2/bid");
  ASSERT_EQ(bid.status, 200) << bid.body;
  const size_t at = bid.body.find("\"lurl\":\"") + 8;
  const std::string lurl = bid.body.substr(at, bid.body.find('"', at) - at);
  ASSERT_NE(lurl.find("reason=${AUCTION_LOSS}"), std::string::npos) << lurl;
  const std::string prefix = lurl.substr(0, lurl.find("${AUCTION_LOSS}"));
  for (const std::string reason : {"102", "102", "1001", "${AUCTION_LOSS}"}) {
    EXPECT_EQ(testing::Curl({"-g"}, prefix + reason).status, 200) << reason;
  }
  const std::string text = Scrape((*server)->metrics_port());
  EXPECT_EQ(Sample(text, R"(attex_openrtb_losses_total{reason="102"})"), 2) << text;
  EXPECT_EQ(Sample(text, R"(attex_openrtb_losses_total{reason="exchange_specific"})"), 1);
  EXPECT_EQ(Sample(text, R"(attex_openrtb_losses_total{reason="unknown"})"), 1);
}

TEST(AdmissionTest, WorkWhoseDeadlineHasPassedIsNotWanted) {
  Metrics metrics;
  Admission admission(0, &metrics);
  EXPECT_TRUE(admission.StillWanted(absl::Now() + absl::Seconds(1)).ok());
  EXPECT_EQ(admission.StillWanted(absl::Now() - absl::Milliseconds(1)).code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST(AdmissionTest, CountsTheCallBeingAdmittedAgainstTheBound) {
  Metrics metrics;
  Admission admission(2, &metrics);
  grpc::CallbackServerContext ctx;
  metrics.CallStarted();
  metrics.CallStarted();
  EXPECT_TRUE(admission.Admit(ctx).ok());
  metrics.CallStarted();
  EXPECT_EQ(admission.Admit(ctx).code(), absl::StatusCode::kResourceExhausted);
  metrics.CallEnded();
  EXPECT_TRUE(admission.Admit(ctx).ok());
}

}  // namespace
}  // namespace attex::server
