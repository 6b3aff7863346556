// End to end through the real attex-server's OpenRTB 2.6 endpoint
// (--openrtb_listen), with curl as the platform: a bid decided as the gRPC
// path decides it, gzip bodies, no-bids, errors naming the field.
#include <signal.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "attex/v1/campaign.grpc.pb.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "attex/v1/operator.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/openrtb/gzip.h"
#include "server/openrtb/openrtb_mapping.h"
#include "simdjson.h"
#include "tests/e2e/openrtb_fixture.h"
#include "tests/testing/campaign_builder.h"

namespace attex::testing {
namespace {

TEST_F(OpenRtbEndToEndTest, BannerBidIsTheGrpcPathsDecisionInOpenRtbForm) {
  const CurlResult r = Post(kRunnerRequest);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.headers, "Content-Type: application/json")) << r.headers;
  EXPECT_TRUE(absl::StrContains(r.headers, "x-openrtb-version: 2.6")) << r.headers;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.body).get(doc), simdjson::SUCCESS) << r.body;
  EXPECT_EQ(std::string_view(doc["id"]), "ortb-e2e-1");
  simdjson::dom::array seats = doc["seatbid"];
  ASSERT_EQ(seats.size(), 1u) << r.body;  // The demo's campaigns share one advertiser.
  simdjson::dom::array bids = seats.at(0)["bid"];
  ASSERT_EQ(bids.size(), 2u) << r.body;
  simdjson::dom::element top = bids.at(0);
  EXPECT_EQ(std::string_view(top["impid"]), "top");
  EXPECT_EQ(int64_t(top["w"]), 300);
  EXPECT_EQ(int64_t(top["mtype"]), 1);
  EXPECT_TRUE(absl::StrContains(std::string(std::string_view(top["adm"])), "Stride"));
  EXPECT_TRUE(absl::StartsWith(std::string(std::string_view(top["burl"])),
                               Url("/openrtb2/billing?token=v1.")));
  // The price as written in the body, to the micro.
  const size_t at = r.body.find("\"price\":");
  ASSERT_NE(at, std::string::npos);
  const std::string price = r.body.substr(at + 8, r.body.find(',', at) - at - 8);

  // gRPC's Explain decides the mapped request the same way (and reserves
  // nothing, so that the two see the same budgets).
  openrtb::Request mapped;
  ASSERT_TRUE(openrtb::ParseBidRequest(kRunnerRequest, openrtb::MappingOptions(), &mapped).ok());
  attex::v1::Explanation explanation;
  grpc::Status s = exchange_->Explain(Context(platform_token_).get(), mapped.bid, &explanation);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_GE(explanation.slots_size(), 1);
  const auto& slot = explanation.slots(0);
  EXPECT_EQ(slot.slot_id(), "top");
  EXPECT_EQ(std::string_view(top["cid"]), slot.winner_campaign_id());
  EXPECT_EQ(Micros(price), slot.price_cpm_micros()) << price;
}

TEST_F(OpenRtbEndToEndTest, GzipBodiesAreInflated) {
  const CurlResult r = Post(openrtb::Gzip(kRunnerRequest), {"-H", "Content-Encoding: gzip"});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "\"seatbid\"")) << r.body;
  const CurlResult bad = Post("not gzip at all", {"-H", "Content-Encoding: gzip"});
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(absl::StrContains(bad.body, "gzip")) << bad.body;
}

TEST_F(OpenRtbEndToEndTest, NoBidIs204) {
  // A floor no demo campaign bids.
  const CurlResult r =
      Post(R"({"id":"nb-1","imp":[{"id":"1","banner":{"w":300,"h":250},"bidfloor":50}]})");
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(absl::StrContains(r.headers, "Content-Length")) << r.headers;
}

TEST_F(OpenRtbEndToEndTest, BadRequestsAre400NamingTheField) {
  CurlResult r = Post(R"({"id":"e","imp":[{"id":"1","banner":{}}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, R"("field":"imp[0].banner")")) << r.body;
  r = Post(R"({"id":"e","imp":[{"id":"1","native":{}},{"id":"1","native":{}}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, R"("field":"imp[1].id")")) << r.body;
  r = Post(R"({"id":"e","site":{},"app":{},"imp":[{"id":"1","native":{}}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, R"("field":"app")")) << r.body;
  r = Post("{\"id\":");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, "malformed JSON")) << r.body;
  // What only validation refuses is named in OpenRTB's terms too.
  r = Post(R"({"id":")" + std::string(200, 'x') + R"(","imp":[{"id":"1","native":{}}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, R"("field":"id")")) << r.body;
}

TEST_F(OpenRtbEndToEndTest, CallersNeedAPlatformToken) {
  CurlResult r = Curl({"--data-binary", kRunnerRequest}, Url("/openrtb2/bid"));
  EXPECT_EQ(r.status, 401) << r.body;
  r = Curl({"-H", "Authorization: Bearer attex_not-a-token", "--data-binary", kRunnerRequest},
           Url("/openrtb2/bid"));
  EXPECT_EQ(r.status, 401) << r.body;
  auto tokens = ReadFlatJson(dir_.path() + "/data/demo-tokens.json");
  r = Curl({"-H", "Authorization: Bearer " + tokens["advertiser"], "--data-binary", kRunnerRequest},
           Url("/openrtb2/bid"));
  EXPECT_EQ(r.status, 403) << r.body;
  r = Curl({"-H", "Authorization: Bearer " + platform_token_}, Url("/openrtb2/bid"));
  EXPECT_EQ(r.status, 405) << r.body;  // GET.
  r = Curl({}, Url("/elsewhere"));
  EXPECT_EQ(r.status, 404) << r.body;
}

TEST_F(OpenRtbEndToEndTest, KeepAliveServesManyRequestsOnOneConnection) {
  // curl reuses its connection for the URLs of one invocation.
  const std::string body = WriteBody("keepalive", kRunnerRequest);
  const std::string log = dir_.path() + "/curl.log";
  // The second and third bodies go to /dev/null (-o pairs with the URLs in order).
  const CurlResult r = Curl({"-v", "--stderr", log, "-o", "/dev/null", "-o", "/dev/null", "-H",
                             "Authorization: Bearer " + platform_token_, "--data-binary",
                             "@" + body, Url("/openrtb2/bid"), Url("/openrtb2/bid")},
                            Url("/openrtb2/bid"));
  EXPECT_EQ(r.statuses, "200200200");
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(absl::StrContains(text.str(), "Re-using existing connection")) << text.str();
  EXPECT_FALSE(absl::StrContains(text.str(), "Connection: close")) << text.str();
}

TEST_F(OpenRtbEndToEndTest, BurlBillsTheImpressionOnceWhicheverOfBurlAndReportEventsComesFirst) {
  const FirstBid bid = First(Post(kRunnerRequest).body);
  ASSERT_FALSE(bid.burl.empty());
  const int64_t price_micros = Micros(bid.price) / 1000;  // One impression at the CPM.
  // The platform substitutes its clearing price, here the bid's own.
  const std::string burl = absl::StrReplaceAll(bid.burl, {{"${AUCTION_PRICE}", bid.price}});
  CurlResult r = Curl({}, burl);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, absl::StrCat(R"({"result":"accepted","charged_micros":)", price_micros, "}"));
  r = Curl({}, burl);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"result":"duplicate","charged_micros":0})");
  // ReportEvents with the same token: the impression is known.
  attex::v1::ReportEventsRequest report;
  auto* event = report.add_events();
  event->set_billing_token(bid.burl.substr(bid.burl.find("token=") + 6,
                                           bid.burl.find('&') - bid.burl.find("token=") - 6));
  event->set_type(attex::v1::EVENT_TYPE_IMPRESSION);
  event->set_event_id("imp-1");
  attex::v1::ReportEventsResponse reported;
  ASSERT_TRUE(exchange_->ReportEvents(Context(platform_token_).get(), report, &reported).ok());
  ASSERT_EQ(reported.results_size(), 1);
  EXPECT_EQ(reported.results(0).result(), attex::v1::EVENT_RESULT_DUPLICATE);

  attex::v1::GetSpendRequest spend_request;
  spend_request.set_campaign_id(bid.cid);
  attex::v1::SpendReport spend;
  ASSERT_TRUE(campaigns_->GetSpend(Context(advertiser_token_).get(), spend_request, &spend).ok());
  EXPECT_EQ(spend.total_micros(), price_micros);
  EXPECT_EQ(spend.impressions(), 1);
  attex::v1::LedgerBalances balances;
  ASSERT_TRUE(operator_
                  ->GetLedgerBalances(Context(operator_token_).get(),
                                      attex::v1::GetLedgerBalancesRequest(), &balances)
                  .ok());
  EXPECT_EQ(balances.ledger_sum_micros(), 0);
  int64_t user = 0, advertiser = 0;
  for (const auto& b : balances.balances()) {
    if (b.account() == "user:u-1001") user = b.balance_micros();
    if (absl::StartsWith(b.account(), "advertiser:")) advertiser += b.balance_micros();
  }
  EXPECT_EQ(advertiser, -price_micros);
  EXPECT_EQ(user, price_micros / 10);  // The user's attention dividend, 10%.
}

TEST_F(OpenRtbEndToEndTest, BurlAfterReportEventsIsADuplicate) {
  const FirstBid bid = First(Post(kRunnerRequest).body);
  ASSERT_FALSE(bid.burl.empty());
  attex::v1::ReportEventsRequest report;
  auto* event = report.add_events();
  const size_t token_at = bid.burl.find("token=") + 6;
  event->set_billing_token(bid.burl.substr(token_at, bid.burl.find('&') - token_at));
  event->set_type(attex::v1::EVENT_TYPE_IMPRESSION);
  event->set_event_id("imp-2");
  attex::v1::ReportEventsResponse reported;
  ASSERT_TRUE(exchange_->ReportEvents(Context(platform_token_).get(), report, &reported).ok());
  EXPECT_EQ(reported.results(0).result(), attex::v1::EVENT_RESULT_ACCEPTED);
  const CurlResult r = Curl({}, absl::StrReplaceAll(bid.burl, {{"${AUCTION_PRICE}", bid.price}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"result":"duplicate","charged_micros":0})");
}

TEST_F(OpenRtbEndToEndTest, BurlBillsTheClearingPriceWhenLowerAndNeverMore) {
  FirstBid bid = First(Post(kRunnerRequest).body);
  ASSERT_FALSE(bid.burl.empty());
  CurlResult r = Curl({}, absl::StrReplaceAll(bid.burl, {{"${AUCTION_PRICE}", "0.5"}}));
  EXPECT_EQ(r.body, R"({"result":"accepted","charged_micros":500})") << r.body;
  bid = First(Post(kRunnerRequest).body);
  r = Curl({}, absl::StrReplaceAll(bid.burl, {{"${AUCTION_PRICE}", "999"}}));
  EXPECT_EQ(r.body, absl::StrCat(R"({"result":"accepted","charged_micros":)",
                                 Micros(bid.price) / 1000, "}"))
      << r.body;
  r = Curl({}, absl::StrReplaceAll(bid.burl, {{"${AUCTION_PRICE}", "-1"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, R"("field":"price")")) << r.body;
  r = Curl({}, Url("/openrtb2/billing?token=v1.forged.token&price=1"));
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, R"("field":"token")")) << r.body;
}

TEST_F(OpenRtbEndToEndTest, LurlReleasesTheReservationAtOnce) {
  // A campaign whose budget covers one impression, for requests with its keyword.
  const attex::v1::Campaign c = CampaignBuilder()
                                    .Name("one impression")
                                    .BidCpm(5'000'000)
                                    .TotalBudget(5'000)
                                    .IncludeFeature("kw:lurl-test")
                                    .Creative("banner")
                                    .Features({"kw:lurl-test"})
                                    .Markup("<b>once</b>")
                                    .Build();
  attex::v1::Campaign created;
  ASSERT_TRUE(campaigns_->CreateCampaign(Context(advertiser_token_).get(), c, &created).ok());
  const std::string request = R"({"id":"l-1","imp":[{"id":"top","banner":{"w":300,"h":250}}],
      "user":{"id":"u-9","keywords":"lurl-test"},"site":{"kwarray":["lurl-test"]}})";
  FirstBid first = First(Post(request).body);
  ASSERT_EQ(first.cid, created.id());
  // Its budget is reserved: the next request goes elsewhere.
  EXPECT_NE(First(Post(request).body).cid, created.id());
  const std::string lurl = absl::StrReplaceAll(first.lurl, {{"${AUCTION_LOSS}", "102"}});
  const CurlResult r = Curl({}, lurl);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, absl::StrCat(R"({"released_micros":)", Micros(first.price) / 1000, "}"));
  EXPECT_EQ(First(Post(request).body).cid, created.id());
  // Released once: a second loss notice has nothing to give back.
  EXPECT_EQ(Curl({}, lurl).body, R"({"released_micros":0})");
}

TEST_F(OpenRtbEndToEndTest, SigtermDrainsAndExitsCleanly) {
  ASSERT_EQ(Post(kRunnerRequest).status, 200);
  EXPECT_EQ(server_->Stop(SIGTERM), 0);
  EXPECT_EQ(Curl({}, Url("/openrtb2/bid")).status, 0);  // Nothing listens any more.
}

class OpenRtbNoBid200Test : public OpenRtbEndToEndTest {
 protected:
  std::vector<std::string> Flags() const override { return {"--openrtb_nobid_status=200"}; }
};

TEST_F(OpenRtbNoBid200Test, NoBidIs200WithTheOpenRtbReasonCode) {
  const CurlResult r =
      Post(R"({"id":"nb-2","imp":[{"id":"1","banner":{"w":300,"h":250},"bidfloor":50}]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"id":"nb-2","nbr":501,"ext":{"reason":"below_floor"}})");
}

}  // namespace
}  // namespace attex::testing
