// The OpenRTB 2.6 response writer (server/openrtb/openrtb_mapping.h): seats,
// bids, exact prices, notice URLs, no-bid codes and error bodies, read back
// with simdjson.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/openrtb/openrtb_mapping.h"
#include "simdjson.h"

namespace attex::openrtb {
namespace {

std::string Cpm(int64_t micros) {
  std::string out;
  AppendCpm(micros, &out);
  return out;
}

TEST(OpenRtbResponseTest, CpmIsWrittenExactlyFromMicros) {
  EXPECT_EQ(Cpm(2'436'191), "2.436191");
  EXPECT_EQ(Cpm(2'500'000), "2.5");
  EXPECT_EQ(Cpm(7), "0.000007");
  EXPECT_EQ(Cpm(0), "0");
  EXPECT_EQ(Cpm(1'000'000), "1");
  EXPECT_EQ(Cpm(1'000'000'000'000), "1000000");
  EXPECT_EQ(Cpm(100'010), "0.10001");
}

TEST(OpenRtbResponseTest, ClearingPricesParseExactlyToMicros) {
  int64_t micros = -1;
  EXPECT_TRUE(ParseCpm("2.436191", &micros));
  EXPECT_EQ(micros, 2'436'191);
  EXPECT_TRUE(ParseCpm("3", &micros));
  EXPECT_EQ(micros, 3'000'000);
  EXPECT_TRUE(ParseCpm("0.1234567", &micros));  // Past the micro: dropped.
  EXPECT_EQ(micros, 123'456);
  EXPECT_TRUE(ParseCpm(".5", &micros));
  EXPECT_EQ(micros, 500'000);
  EXPECT_TRUE(ParseCpm("150000000", &micros));  // In yen, say.
  EXPECT_EQ(micros, 150'000'000'000'000);
  for (const char* bad : {"", ".", "-1", "1e3", "1.2.3", "${AUCTION_PRICE}", "1000000001", " 1"}) {
    EXPECT_FALSE(ParseCpm(bad, &micros)) << bad;
  }
}

TEST(OpenRtbResponseTest, StringsAreEscapedForJson) {
  std::string out;
  AppendJsonString("a\"b\\c\n<a href=\"x\">\x01", &out);
  EXPECT_EQ(out, R"("a\"b\\c\n<a href=\"x\">\u0001")");
}

Request TwoImps() {
  Request r;
  r.bid.set_request_id("req-9");
  auto* s1 = r.bid.add_slots();
  s1->set_id("top");
  s1->set_format("banner");
  auto* s2 = r.bid.add_slots();
  s2->set_id("feed");
  s2->set_format("native");
  r.imps.push_back(Imp{300, 250, MediaType::kBanner});
  r.imps.push_back(Imp{0, 0, MediaType::kNative});
  return r;
}

attex::v1::Placement* Add(attex::v1::BidResponse* resp, const std::string& slot,
                          const std::string& advertiser, const std::string& campaign,
                          int64_t price) {
  auto* p = resp->add_placements();
  p->set_slot_id(slot);
  p->set_advertiser_id(advertiser);
  p->set_campaign_id(campaign);
  p->set_creative_id("cr-" + campaign);
  p->set_price_cpm_micros(price);
  p->set_markup("<b>" + campaign + "</b>");
  p->set_billing_token("v1.abc_-." + campaign);
  return p;
}

TEST(OpenRtbResponseTest, OneSeatPerAdvertiserOneBidPerPlacement) {
  const Request request = TwoImps();
  attex::v1::BidResponse resp;
  Add(&resp, "top", "acc-3", "cmp-4", 2'436'191);
  Add(&resp, "feed", "acc-3", "cmp-1", 648'868);
  ResponseOptions options;
  options.billing_url = "http://h:1/openrtb2/billing";
  options.loss_url = "http://h:1/openrtb2/loss";
  options.billing_token_ttl_s = 600;
  const std::vector<std::string> more = {"IAB17-44", "sports"};
  const std::vector<std::string> adomain = {"stride.example"};
  const BidDetails details[] = {{"sports", more, adomain, 0, 0}, {}};
  std::string out;
  WriteBidResponse(request, resp, details, options, &out);
  EXPECT_TRUE(absl::StrContains(out, "\"price\":2.436191,")) << out;
  EXPECT_TRUE(absl::StrContains(out, "\"price\":0.648868,")) << out;

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(out).get(doc), simdjson::SUCCESS) << out;
  EXPECT_EQ(std::string_view(doc["id"]), "req-9");
  EXPECT_EQ(std::string_view(doc["cur"]), "USD");
  simdjson::dom::array seats = doc["seatbid"];
  ASSERT_EQ(seats.size(), 1u);
  simdjson::dom::element seat = seats.at(0);
  EXPECT_EQ(std::string_view(seat["seat"]), "acc-3");
  simdjson::dom::array bids = seat["bid"];
  ASSERT_EQ(bids.size(), 2u);
  simdjson::dom::element top = bids.at(0);
  EXPECT_EQ(std::string_view(top["impid"]), "top");
  EXPECT_EQ(std::string_view(top["adm"]), "<b>cmp-4</b>");
  EXPECT_EQ(std::string_view(top["cid"]), "cmp-4");
  EXPECT_EQ(std::string_view(top["crid"]), "cr-cmp-4");
  simdjson::dom::array cat = top["cat"];
  ASSERT_EQ(cat.size(), 2u);  // category, then the others, each once.
  EXPECT_EQ(std::string_view(cat.at(0)), "sports");
  EXPECT_EQ(std::string_view(cat.at(1)), "IAB17-44");
  EXPECT_EQ(std::string_view(top["adomain"].at(0)), "stride.example");
  EXPECT_EQ(int64_t(top["w"]), 300);
  EXPECT_EQ(int64_t(top["h"]), 250);
  EXPECT_EQ(int64_t(top["mtype"]), 1);
  EXPECT_EQ(int64_t(top["exp"]), 600);
  EXPECT_EQ(std::string_view(top["burl"]),
            "http://h:1/openrtb2/billing?token=v1.abc_-.cmp-4&price=${AUCTION_PRICE}");
  EXPECT_EQ(std::string_view(top["lurl"]),
            "http://h:1/openrtb2/loss?token=v1.abc_-.cmp-4&reason=${AUCTION_LOSS}");
  simdjson::dom::element feed = bids.at(1);
  EXPECT_EQ(int64_t(feed["mtype"]), 4);
  EXPECT_EQ(feed["w"].error(), simdjson::NO_SUCH_FIELD);  // Size unknown: not written.
  EXPECT_EQ(feed["cat"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(feed["adomain"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(feed["nurl"].error(), simdjson::NO_SUCH_FIELD);  // No win URL configured.
}

TEST(OpenRtbResponseTest, TheWinningCreativesSizeIsTheAnswersSize) {
  Request request = TwoImps();
  request.imps[0] = Imp{0, 0, MediaType::kBanner};  // Several sizes: none named.
  attex::v1::BidResponse resp;
  Add(&resp, "top", "acc-3", "cmp-4", 1'000'000);
  Add(&resp, "feed", "acc-3", "cmp-5", 1'000'000);
  const BidDetails details[] = {{"", {}, {}, 320, 50}, {"", {}, {}, 0, 0}};
  std::string out;
  WriteBidResponse(request, resp, details, ResponseOptions(), &out);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(out).get(doc), simdjson::SUCCESS) << out;
  simdjson::dom::element top = doc.at_pointer("/seatbid/0/bid/0");
  EXPECT_EQ(int64_t(top["w"]), 320);
  EXPECT_EQ(int64_t(top["h"]), 50);
  EXPECT_EQ(doc.at_pointer("/seatbid/0/bid/1/w").error(), simdjson::NO_SUCH_FIELD);
}

TEST(OpenRtbResponseTest, PricesInAnotherCurrencyAreConvertedDownAndTheNoticesNameIt) {
  Request request = TwoImps();
  request.currency = "EUR";
  request.rate = 1'250'000'000;  // 1 EUR = 1.25 USD.
  attex::v1::BidResponse resp;
  Add(&resp, "top", "acc-3", "cmp-4", 2'500'001);
  ResponseOptions options;
  options.billing_url = "http://h/openrtb2/billing";
  options.loss_url = "http://h/openrtb2/loss";
  options.win_url = "http://h/openrtb2/win";
  std::string out;
  WriteBidResponse(request, resp, {}, options, &out);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(out).get(doc), simdjson::SUCCESS) << out;
  EXPECT_EQ(std::string_view(doc["cur"]), "EUR");
  // 2.500001 USD / 1.25 = 2.0000008 EUR, written to the micro below.
  EXPECT_TRUE(absl::StrContains(out, "\"price\":2,")) << out;
  simdjson::dom::element bid = doc.at_pointer("/seatbid/0/bid/0");
  EXPECT_EQ(std::string_view(bid["burl"]),
            "http://h/openrtb2/billing?token=v1.abc_-.cmp-4&price=${AUCTION_PRICE}&cur=EUR");
  EXPECT_EQ(std::string_view(bid["lurl"]),
            "http://h/openrtb2/loss?token=v1.abc_-.cmp-4&reason=${AUCTION_LOSS}&cur=EUR");
  EXPECT_EQ(std::string_view(bid["nurl"]),
            "http://h/openrtb2/win?token=v1.abc_-.cmp-4&price=${AUCTION_PRICE}&cur=EUR");
}

TEST(OpenRtbResponseTest, LossReasonsAreLabelledFromABoundedSet) {
  EXPECT_EQ(LossReasonLabel("102"), "102");
  EXPECT_EQ(LossReasonLabel("0"), "0");
  EXPECT_EQ(LossReasonLabel("215"), "215");
  EXPECT_EQ(LossReasonLabel("0102"), "102");
  EXPECT_EQ(LossReasonLabel("1001"), "exchange_specific");
  EXPECT_EQ(LossReasonLabel("500"), "exchange_specific");
  EXPECT_EQ(LossReasonLabel("42"), "other");
  EXPECT_EQ(LossReasonLabel("${AUCTION_LOSS}"), "unknown");
  EXPECT_EQ(LossReasonLabel(""), "unknown");
  EXPECT_EQ(LossReasonLabel("-1"), "unknown");
  EXPECT_EQ(LossReasonLabel("99999999999999"), "unknown");
}

TEST(OpenRtbResponseTest, AdvertisersGetSeatsInOrderOfTheirFirstPlacement) {
  const Request request = TwoImps();
  attex::v1::BidResponse resp;
  Add(&resp, "top", "acc-5", "cmp-9", 1'000'000);
  Add(&resp, "feed", "acc-3", "cmp-1", 900'000);
  std::string out;
  WriteBidResponse(request, resp, {}, ResponseOptions(), &out);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(out).get(doc), simdjson::SUCCESS) << out;
  simdjson::dom::array seats = doc["seatbid"];
  ASSERT_EQ(seats.size(), 2u);
  EXPECT_EQ(std::string_view(seats.at(0)["seat"]), "acc-5");
  EXPECT_EQ(std::string_view(seats.at(1)["seat"]), "acc-3");
  EXPECT_EQ(std::string_view(seats.at(1)["bid"].at(0)["impid"]), "feed");
}

TEST(OpenRtbResponseTest, NoBidReasonsMapToTheOpenRtbList) {
  EXPECT_EQ(NoBidReasonCode("timeout"), 15);
  EXPECT_EQ(NoBidReasonCode("no_slots"), 2);
  EXPECT_EQ(NoBidReasonCode("no_eligible_campaigns"), 500);
  EXPECT_EQ(NoBidReasonCode("below_floor"), 501);
  EXPECT_EQ(NoBidReasonCode("budget"), 502);
  EXPECT_EQ(NoBidReasonCode("something new"), 0);
  std::string out;
  WriteNoBidResponse("r\"1", "below_floor", &out);
  EXPECT_EQ(out, R"({"id":"r\"1","nbr":501,"ext":{"reason":"below_floor"}})");
}

TEST(OpenRtbResponseTest, ErrorBodiesNameTheField) {
  std::string out;
  WriteError(absl::InvalidArgumentError("imp[1].id: repeats \"1\""), &out);
  EXPECT_EQ(out, R"({"error":{"field":"imp[1].id","message":"imp[1].id: repeats \"1\""}})");
  WriteError(absl::UnauthenticatedError("unknown token"), &out);
  EXPECT_EQ(out, R"({"error":{"message":"unknown token"}})");
}

}  // namespace
}  // namespace attex::openrtb
