// Eligibility by what a slot accepts of a creative (sizes, MIME types,
// durations) and by what a platform blocks of the advertiser (domains) and
// of the creative (all of its categories), with the exclusion counts
// Explain reports and the documented defaults: a slot without sizes accepts
// any, a creative without a size fits any slot.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "auction/auction.h"
#include "gtest/gtest.h"
#include "tests/testing/campaign_builder.h"

namespace attex::auction {
namespace {

using attex::testing::CampaignBuilder;
using attex::v1::BidRequest;
using attex::v1::Campaign;

constexpr int64_t kNow = 1'790'000'000'000;

CampaignBuilder Base(const std::string& id, int64_t bid = 1'000'000) {
  CampaignBuilder b;
  b.Id(id)
      .Advertiser("adv-" + id)
      .Name(id)
      .Status(attex::v1::CAMPAIGN_STATUS_ACTIVE)
      .BidCpm(bid)
      .TotalBudget(1'000'000'000);
  return b;
}

Campaign Banner(const std::string& id, int32_t w, int32_t h, int64_t bid = 1'000'000) {
  CampaignBuilder b = Base(id, bid);
  b.Creative("banner").CreativeId("cr-1").Features({"interest:running"});
  if (w > 0) b.Size(w, h);
  return b.Build();
}

Campaign Video(const std::string& id, const std::string& mime, int32_t duration_s) {
  CampaignBuilder b = Base(id);
  b.Creative("video").CreativeId("cr-1").Features({"interest:running"});
  if (!mime.empty()) b.Mime(mime);
  if (duration_s > 0) b.DurationS(duration_s);
  return b.Build();
}

class CreativeFitTest : public ::testing::Test {
 protected:
  void Build(const std::vector<Campaign>& campaigns) {
    std::vector<std::shared_ptr<const CompiledCampaign>> compiled;
    for (const auto& c : campaigns) {
      compiled.push_back(CompileCampaign(c, *model_, std::make_shared<BudgetState>()));
    }
    catalog_ = BuildCatalog(model_, compiled);
  }

  static BidRequest Request(const std::string& format = "banner") {
    BidRequest r;
    r.set_request_id("r");
    r.mutable_user()->add_features("interest:running");
    auto* s = r.add_slots();
    s->set_id("s0");
    s->set_format(format);
    return r;
  }

  static void AddSize(attex::v1::Slot* slot, int32_t w, int32_t h) {
    auto* size = slot->add_sizes();
    size->set_w(w);
    size->set_h(h);
  }

  AuctionResult Run(const BidRequest& r, attex::v1::Explanation* ex) {
    AuctionResult result;
    RunAuction(*catalog_, AuctionConfig(), r, kNow, absl::InfiniteFuture(), &result, ex);
    return result;
  }

  // The campaigns an explanation's first slot found eligible, by id.
  static std::vector<std::string> Eligible(const attex::v1::Explanation& ex, int slot = 0) {
    std::vector<std::string> ids;
    for (const auto& c : ex.slots(slot).candidates()) ids.push_back(c.campaign_id());
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  std::string Winner(const AuctionResult& r, int i) const {
    return catalog_->campaigns[catalog_->ads[r.slots[i].ad].campaign]->id;
  }

  std::shared_ptr<const attention::Model> model_ = attention::Model::Default();
  std::shared_ptr<const Catalog> catalog_;
};

TEST_F(CreativeFitTest, ABannerFitsOnlySlotsThatListItsSizeAndNoSizeFitsAny) {
  Build({Banner("rect", 300, 250), Banner("leader", 728, 90), Banner("any", 0, 0)});
  BidRequest r = Request();
  AddSize(r.mutable_slots(0), 300, 250);
  AddSize(r.mutable_slots(0), 320, 50);
  attex::v1::Explanation ex;
  Run(r, &ex);
  EXPECT_EQ(Eligible(ex), (std::vector<std::string>{"any", "rect"}));
  EXPECT_EQ(ex.excluded().at("size"), 1);
  EXPECT_EQ(ex.slots(0).eligible(), 2);
}

TEST_F(CreativeFitTest, ASlotWithoutSizesAcceptsEverySize) {
  Build({Banner("rect", 300, 250), Banner("leader", 728, 90), Banner("any", 0, 0)});
  attex::v1::Explanation ex;
  Run(Request(), &ex);
  EXPECT_EQ(Eligible(ex), (std::vector<std::string>{"any", "leader", "rect"}));
  EXPECT_EQ(ex.excluded().count("size"), 0u);
}

TEST_F(CreativeFitTest, SlotsOfOneFormatWithOtherSizesAreFilledByTheirOwnSizes) {
  // The leaderboard bids more, but only the second slot takes it.
  Build({Banner("rect", 300, 250), Banner("leader", 728, 90, 5'000'000)});
  BidRequest r = Request();
  AddSize(r.mutable_slots(0), 300, 250);
  auto* second = r.add_slots();
  second->set_id("s1");
  second->set_format("banner");
  second->set_position(1);
  AddSize(second, 728, 90);
  attex::v1::Explanation ex;
  const AuctionResult result = Run(r, &ex);
  ASSERT_EQ(result.slots.size(), 2u);
  EXPECT_EQ(Winner(result, 0), "rect");
  EXPECT_EQ(Winner(result, 1), "leader");
  EXPECT_EQ(Eligible(ex, 0), std::vector<std::string>{"rect"});
  EXPECT_EQ(Eligible(ex, 1), std::vector<std::string>{"leader"});
}

TEST_F(CreativeFitTest, VideoIsMatchedByMimeTypeThenByDuration) {
  Build({Video("mp4-30", "video/mp4", 30), Video("webm-30", "video/webm", 30),
         Video("mp4-90", "video/mp4", 90), Video("unknown", "", 0)});
  BidRequest r = Request("video");
  r.mutable_slots(0)->add_mimes("video/mp4");
  r.mutable_slots(0)->set_min_duration_s(15);
  r.mutable_slots(0)->set_max_duration_s(60);
  attex::v1::Explanation ex;
  Run(r, &ex);
  EXPECT_EQ(Eligible(ex), (std::vector<std::string>{"mp4-30", "unknown"}));
  EXPECT_EQ(ex.excluded().at("mime"), 1);
  EXPECT_EQ(ex.excluded().at("duration"), 1);
  EXPECT_EQ(ex.excluded().count("size"), 0u);

  // Without mimes or durations the slot accepts them all.
  ex.Clear();
  Run(Request("video"), &ex);
  EXPECT_EQ(Eligible(ex).size(), 4u);
  EXPECT_TRUE(ex.excluded().empty());
}

TEST_F(CreativeFitTest, AMisfitIsCountedUnderItsFirstReasonAcrossTheSlotsOfItsFormat) {
  // One slot refuses the mime, the other the duration: "mime" comes first.
  Build({Video("mp4-90", "video/mp4", 90)});
  BidRequest r = Request("video");
  r.mutable_slots(0)->add_mimes("video/webm");
  auto* second = r.add_slots();
  second->set_id("s1");
  second->set_format("video");
  second->add_mimes("video/mp4");
  second->set_max_duration_s(30);
  attex::v1::Explanation ex;
  const AuctionResult result = Run(r, &ex);
  EXPECT_TRUE(result.slots.empty());
  EXPECT_EQ(ex.excluded().at("mime"), 1);
  EXPECT_EQ(ex.excluded().count("duration"), 0u);
}

TEST_F(CreativeFitTest, BlockedDomainsExcludeTheCampaignsThatNameThemIgnoringCase) {
  Build({Base("stride").Adomain("Stride.example").Creative("banner").Features({"x"}).Build(),
         Base("shop").Adomain("shop.stride.example").Creative("banner").Features({"x"}).Build(),
         Base("plain").Creative("banner").Features({"x"}).Build()});
  BidRequest r = Request();
  r.add_blocked_domains("stride.EXAMPLE");
  r.add_blocked_domains("nobody.example");
  attex::v1::Explanation ex;
  Run(r, &ex);
  EXPECT_EQ(Eligible(ex), (std::vector<std::string>{"plain", "shop"}));
  EXPECT_EQ(ex.excluded().at("blocked_domain"), 1);
}

TEST_F(CreativeFitTest, AnyOfACreativesCategoriesCanBeBlocked) {
  Build({Base("multi")
             .Creative("banner")
             .Category("sports")
             .MoreCategories({"IAB17-44"})
             .Features({"x"})
             .Build(),
         Base("one").Creative("banner").Category("IAB17").Features({"x"}).Build()});
  BidRequest r = Request();
  r.add_blocked_categories("IAB17-44");
  attex::v1::Explanation ex;
  Run(r, &ex);
  EXPECT_EQ(Eligible(ex), std::vector<std::string>{"one"});
  EXPECT_EQ(ex.excluded().at("blocked_category"), 1);
  ex.Clear();
  r.set_blocked_categories(0, "sports");
  Run(r, &ex);
  EXPECT_EQ(Eligible(ex), std::vector<std::string>{"one"});
}

TEST_F(CreativeFitTest, ASharedPassDecidesSizedSlotsAsSeparatePassesDo) {
  Build({Banner("rect", 300, 250, 2'000'000), Banner("leader", 728, 90, 3'000'000),
         Banner("any", 0, 0)});
  BidRequest a = Request();
  AddSize(a.mutable_slots(0), 300, 250);
  BidRequest b = Request();
  AddSize(b.mutable_slots(0), 728, 90);
  AuctionResult alone_a, alone_b, shared_a, shared_b;
  RunAuction(*catalog_, AuctionConfig(), a, kNow, absl::InfiniteFuture(), &alone_a, nullptr);
  RunAuction(*catalog_, AuctionConfig(), b, kNow, absl::InfiniteFuture(), &alone_b, nullptr);
  const AuctionJob jobs[] = {{&a, kNow, absl::InfiniteFuture(), &shared_a, nullptr},
                             {&b, kNow, absl::InfiniteFuture(), &shared_b, nullptr}};
  RunAuctions(*catalog_, AuctionConfig(), jobs);
  ASSERT_EQ(shared_a.slots.size(), 1u);
  ASSERT_EQ(shared_b.slots.size(), 1u);
  EXPECT_EQ(shared_a.slots[0].ad, alone_a.slots[0].ad);
  EXPECT_EQ(shared_a.slots[0].price_cpm_micros, alone_a.slots[0].price_cpm_micros);
  EXPECT_EQ(shared_b.slots[0].ad, alone_b.slots[0].ad);
  EXPECT_EQ(shared_b.slots[0].price_cpm_micros, alone_b.slots[0].price_cpm_micros);
  EXPECT_EQ(shared_a.excluded, alone_a.excluded);
  EXPECT_EQ(shared_b.excluded, alone_b.excluded);
}

}  // namespace
}  // namespace attex::auction
