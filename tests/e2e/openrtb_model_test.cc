// End to end through the OpenRTB 2.6 endpoint, what the model brings: a
// banner placed only where its size is accepted and answered with its size,
// advertiser domains (adomain) and badv, categories, requests and answers in
// another currency (--currency_rates) billed in the account's, and the win
// notice (--openrtb_nurl) that bills nothing.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "server/openrtb/openrtb_mapping.h"
#include "simdjson.h"
#include "tests/e2e/openrtb_fixture.h"
#include "tests/testing/campaign_builder.h"

namespace attex::testing {
namespace {

// A campaign of one 728x90 banner for requests with the keyword `kw`, which
// outbids the demo's, with an advertiser domain and two categories.
attex::v1::Campaign Leaderboard(const std::string& kw) {
  return CampaignBuilder()
      .Name("leaderboard")
      .BidCpm(9'000'000)
      .TotalBudget(1'000'000'000)
      .Adomain("Leader.example")
      .IncludeFeature("kw:" + kw)
      .Creative("banner")
      .Size(728, 90)
      .Category("IAB19")
      .MoreCategories({"IAB19-6"})
      .Features({"kw:" + kw})
      .Markup("<b>wide</b>")
      .Build();
}

TEST_F(OpenRtbEndToEndTest, ABannerCreativeIsPlacedOnlyWhereItsSizeIsAccepted) {
  attex::v1::Campaign created;
  ASSERT_TRUE(
      campaigns_
          ->CreateCampaign(Context(advertiser_token_).get(), Leaderboard("size-test"), &created)
          .ok());
  const std::string site = R"("site":{"kwarray":["size-test"]})";
  // A 300x250 slot: the leaderboard is not eligible, whatever its bid.
  FirstBid bid = First(
      Post(R"({"id":"s-1","imp":[{"id":"1","banner":{"w":300,"h":250}}],)" + site + "}").body);
  EXPECT_NE(bid.cid, created.id());
  // One of its formats is 728x90: it wins, and the answer says its size,
  // its advertiser's domain and its categories.
  const CurlResult r = Post(
      R"({"id":"s-2","imp":[{"id":"1","banner":{"format":[{"w":300,"h":250},{"w":728,"h":90}]}}],)" +
      site + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.body).get(doc), simdjson::SUCCESS) << r.body;
  simdjson::dom::element won = doc.at_pointer("/seatbid/0/bid/0");
  EXPECT_EQ(std::string_view(won["cid"]), created.id());
  EXPECT_EQ(int64_t(won["w"]), 728);
  EXPECT_EQ(int64_t(won["h"]), 90);
  EXPECT_EQ(std::string_view(won["adomain"].at(0)), "Leader.example");
  EXPECT_EQ(std::string_view(won["cat"].at(0)), "IAB19");
  EXPECT_EQ(std::string_view(won["cat"].at(1)), "IAB19-6");
  // Explain says why it was left out of the 300x250 slot.
  openrtb::Request mapped;
  ASSERT_TRUE(openrtb::ParseBidRequest(
                  R"({"id":"s-3","imp":[{"id":"1","banner":{"w":300,"h":250}}],)" + site + "}",
                  openrtb::MappingOptions(), &mapped)
                  .ok());
  attex::v1::Explanation explanation;
  ASSERT_TRUE(exchange_->Explain(Context(platform_token_).get(), mapped.bid, &explanation).ok());
  EXPECT_EQ(explanation.excluded().at("size"), 1);
}

TEST_F(OpenRtbEndToEndTest, BadvBlocksTheCampaignsOfThatAdvertiserDomain) {
  attex::v1::Campaign created;
  ASSERT_TRUE(
      campaigns_
          ->CreateCampaign(Context(advertiser_token_).get(), Leaderboard("badv-test"), &created)
          .ok());
  const std::string imp =
      R"("imp":[{"id":"1","banner":{"w":728,"h":90}}],"site":{"kwarray":["badv-test"]})";
  EXPECT_EQ(First(Post(R"({"id":"b-1",)" + imp + "}").body).cid, created.id());
  const CurlResult blocked = Post(R"({"id":"b-2","badv":["leader.EXAMPLE"],)" + imp + "}");
  EXPECT_NE(First(blocked.body).cid, created.id()) << blocked.body;
  EXPECT_FALSE(absl::StrContains(blocked.body, "Leader.example")) << blocked.body;
}

// A server whose account currency is USD, with rates for EUR and JPY.
class OpenRtbCurrencyTest : public OpenRtbEndToEndTest {
 protected:
  std::vector<std::string> Flags() const override {
    const std::string path = dir_.path() + "/rates.txt";
    std::ofstream(path) << "# test rates\nEUR 1.25\nJPY 0.0066\n";
    return {"--currency_rates=" + path, "--openrtb_nurl"};
  }
  static openrtb::MappingOptions Rates() {
    openrtb::MappingOptions options;
    options.rates = *openrtb::CurrencyRates::Parse("EUR 1.25\nJPY 0.0066\n", "t", "USD");
    return options;
  }
};

constexpr char kEuroRequest[] = R"({
  "id": "eur-1", "cur": ["EUR"], "at": 2,
  "imp": [{"id": "top", "banner": {"w": 300, "h": 250}, "bidfloor": 0.2, "bidfloorcur": "EUR"}],
  "site": {"keywords": "marathon"}, "device": {"devicetype": 4, "geo": {"country": "USA"}},
  "user": {"id": "u-1001", "keywords": "running"}
})";

TEST_F(OpenRtbCurrencyTest, AnswersInTheRequestsCurrencyAndBillsInTheAccounts) {
  // Explain decides the mapped request in USD: the floor 0.2 EUR is 0.25 USD.
  openrtb::Request mapped;
  ASSERT_TRUE(openrtb::ParseBidRequest(kEuroRequest, Rates(), &mapped).ok());
  EXPECT_EQ(mapped.bid.slots(0).floor_cpm_micros(), 250'000);
  attex::v1::Explanation explanation;
  ASSERT_TRUE(exchange_->Explain(Context(platform_token_).get(), mapped.bid, &explanation).ok());
  ASSERT_FALSE(explanation.slots(0).winner_campaign_id().empty());
  const int64_t usd = explanation.slots(0).price_cpm_micros();

  const CurlResult r = Post(kEuroRequest);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, R"("cur":"EUR")")) << r.body;
  const FirstBid bid = First(r.body);
  // The USD price over 1.25, rounded down to the micro of a euro.
  EXPECT_EQ(Micros(bid.price), usd * 1'000'000'000 / 1'250'000'000) << bid.price;
  EXPECT_TRUE(absl::StrContains(bid.burl, "&cur=EUR")) << bid.burl;
  // The win notice is logged, as often as it comes, and bills nothing.
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.body).get(doc), simdjson::SUCCESS);
  const std::string nurl(std::string_view(doc.at_pointer("/seatbid/0/bid/0/nurl")));
  ASSERT_TRUE(absl::StartsWith(nurl, Url("/openrtb2/win?token="))) << nurl;
  const std::string win = absl::StrReplaceAll(nurl, {{"${AUCTION_PRICE}", bid.price}});
  for (int i = 0; i < 2; ++i) {
    const CurlResult w = Curl({}, win);
    EXPECT_EQ(w.status, 200);
    EXPECT_EQ(w.body, R"({"result":"logged"})");
  }
  attex::v1::GetSpendRequest spend_request;
  spend_request.set_campaign_id(bid.cid);
  attex::v1::SpendReport spend;
  ASSERT_TRUE(campaigns_->GetSpend(Context(advertiser_token_).get(), spend_request, &spend).ok());
  EXPECT_EQ(spend.impressions(), 0);
  // The burl with the price as written bills the token's USD price.
  const CurlResult billed =
      Curl({}, absl::StrReplaceAll(bid.burl, {{"${AUCTION_PRICE}", bid.price}}));
  EXPECT_EQ(billed.body,
            absl::StrCat(R"({"result":"accepted","charged_micros":)", usd / 1000, "}"));
}

TEST_F(OpenRtbCurrencyTest, ALowerClearingPriceInEurosIsConvertedIntoDollars) {
  const FirstBid bid = First(Post(kEuroRequest).body);
  ASSERT_FALSE(bid.burl.empty());
  // 0.4 EUR a thousand = 0.5 USD: 500 micros for the impression.
  const CurlResult billed = Curl({}, absl::StrReplaceAll(bid.burl, {{"${AUCTION_PRICE}", "0.4"}}));
  EXPECT_EQ(billed.body, R"({"result":"accepted","charged_micros":500})") << billed.body;
}

TEST_F(OpenRtbCurrencyTest, AFloorInACurrencyWithoutARateIs400NamingTheField) {
  CurlResult r = Post(
      R"({"id":"g","imp":[{"id":"1","banner":{"w":300,"h":250},"bidfloor":1,"bidfloorcur":"GBP"}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, R"("field":"imp[0].bidfloorcur")")) << r.body;
  r = Post(R"({"id":"g","cur":["GBP"],"imp":[{"id":"1","banner":{"w":300,"h":250}}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, R"("field":"cur")")) << r.body;
  // A yen floor converts: 1000 JPY is 6.6 USD, more than any demo campaign bids.
  r = Post(R"({"id":"y","cur":["JPY"],"imp":[{"id":"1","banner":{"w":300,"h":250},
      "bidfloor":1000,"bidfloorcur":"JPY"}]})");
  EXPECT_EQ(r.status, 204) << r.body;
}

}  // namespace
}  // namespace attex::testing
