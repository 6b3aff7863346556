// End to end through the OpenRTB 2.6 endpoint, what the model brings: a
// banner placed only where its size is accepted and answered with its size,
// advertiser domains (adomain) and badv, and categories.
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

}  // namespace
}  // namespace attex::testing
