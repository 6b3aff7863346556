#include "auction/auction.h"

#include <cmath>
#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/campaign_builder.h"

namespace attex::auction {
namespace {

using attex::v1::BidRequest;
using attex::v1::Campaign;

constexpr int64_t kNowMs = 1'790'000'000'000;  // A fixed instant in 2026.

Campaign MakeCampaign(const std::string& id, int64_t bid, std::vector<std::string> features,
                      const std::string& format = "banner") {
  return attex::testing::CampaignBuilder()
      .Id(id)
      .Advertiser("adv-" + id)
      .Name(id)
      .Status(attex::v1::CAMPAIGN_STATUS_ACTIVE)
      .BidCpm(bid)
      .TotalBudget(1'000'000'000)
      .Creative(format)
      .CreativeId("cr-1")
      .Category("cat-" + id)
      .Features(features)
      .Build();
}

class AuctionTest : public ::testing::Test {
 protected:
  void Build(const std::vector<Campaign>& campaigns) {
    std::vector<std::shared_ptr<const CompiledCampaign>> compiled;
    for (const auto& c : campaigns) {
      compiled.push_back(CompileCampaign(c, *model_, std::make_shared<BudgetState>()));
    }
    catalog_ = BuildCatalog(model_, compiled);
  }

  static BidRequest Request(std::vector<std::string> user_features, int slots = 1) {
    BidRequest r;
    r.set_request_id("r1");
    for (auto& f : user_features) r.mutable_user()->add_features(f);
    r.mutable_context()->set_country("US");
    for (int i = 0; i < slots; ++i) {
      auto* s = r.add_slots();
      s->set_id("s" + std::to_string(i));
      s->set_format("banner");
      s->set_position(i);
    }
    return r;
  }

  AuctionResult Run(const BidRequest& r, attex::v1::Explanation* ex = nullptr) {
    AuctionResult result;
    RunAuction(*catalog_, config_, r, kNowMs, absl::InfiniteFuture(), &result, ex);
    return result;
  }

  const std::string& WinnerId(const AuctionResult& r, int i = 0) {
    return catalog_->campaigns[catalog_->ads[r.slots[i].ad].campaign]->id;
  }

  std::shared_ptr<const attention::Model> model_ = attention::Model::Default();
  std::shared_ptr<const Catalog> catalog_;
  AuctionConfig config_;
};

TEST_F(AuctionTest, UserSharingTokensWithAnAdAttractsIt) {
  Build({MakeCampaign("run", 1'000'000, {"interest:running", "kw:marathon"}),
         MakeCampaign("coffee", 1'000'000, {"interest:coffee", "kw:espresso"}),
         MakeCampaign("travel", 1'000'000, {"interest:travel", "kw:flights"})});
  attex::v1::Explanation ex;
  AuctionResult r = Run(Request({"interest:coffee", "kw:espresso"}), &ex);
  ASSERT_EQ(r.slots.size(), 1u);
  EXPECT_EQ(WinnerId(r), "coffee");
  ASSERT_GE(ex.slots(0).candidates_size(), 3);
  // The shared tokens make the coffee ad's weight dominate the others'.
  EXPECT_GT(ex.slots(0).candidates(0).attention_weight(),
            2 * ex.slots(0).candidates(1).attention_weight());

  r = Run(Request({"interest:running"}));
  EXPECT_EQ(WinnerId(r), "run");
}

TEST_F(AuctionTest, SecondPriceWinnerPaysRunnerUpsScoreOverItsWeight) {
  Build({MakeCampaign("a", 3'000'000, {"interest:running"}),
         MakeCampaign("b", 2'000'000, {"interest:running"})});
  attex::v1::Explanation ex;
  AuctionResult r = Run(Request({"interest:running"}), &ex);
  ASSERT_EQ(r.slots.size(), 1u);
  EXPECT_EQ(WinnerId(r), "a");
  const auto& c = ex.slots(0).candidates();
  const double expected = c[1].ranking_score() / c[0].attention_weight();
  EXPECT_NEAR(r.slots[0].price_cpm_micros, expected, 1.0);
  EXPECT_LE(r.slots[0].price_cpm_micros, 3'000'000);
  EXPECT_GE(r.slots[0].price_cpm_micros, config_.default_floor_cpm_micros);
}

TEST_F(AuctionTest, FirstPriceWinnerPaysItsBid) {
  Build({MakeCampaign("a", 3'000'000, {"interest:running"}),
         MakeCampaign("b", 2'000'000, {"interest:running"})});
  BidRequest req = Request({"interest:running"});
  req.set_auction_type(attex::v1::AUCTION_TYPE_FIRST_PRICE);
  AuctionResult r = Run(req);
  ASSERT_EQ(r.slots.size(), 1u);
  EXPECT_EQ(r.slots[0].price_cpm_micros, 3'000'000);
}

TEST_F(AuctionTest, LoneBidderPaysTheFloor) {
  Build({MakeCampaign("a", 3'000'000, {"interest:running"})});
  BidRequest req = Request({"interest:running"});
  req.mutable_slots(0)->set_floor_cpm_micros(500'000);
  AuctionResult r = Run(req);
  ASSERT_EQ(r.slots.size(), 1u);
  EXPECT_EQ(r.slots[0].price_cpm_micros, 500'000);
}

TEST_F(AuctionTest, BidsBelowTheFloorAreNotPlaced) {
  Build({MakeCampaign("a", 300'000, {"interest:running"})});
  BidRequest req = Request({"interest:running"});
  req.mutable_slots(0)->set_floor_cpm_micros(500'000);
  AuctionResult r = Run(req);
  EXPECT_TRUE(r.slots.empty());
  EXPECT_EQ(r.no_bid_reason, "below_floor");
}

TEST_F(AuctionTest, OneCampaignFillsAtMostOneSlot) {
  Campaign a = MakeCampaign("a", 3'000'000, {"interest:running"});
  *a.add_creatives() = a.creatives(0);
  a.mutable_creatives(1)->set_id("cr-2");
  Build({a, MakeCampaign("b", 1'000'000, {"interest:coffee"})});
  AuctionResult r = Run(Request({"interest:running"}, 3));
  ASSERT_EQ(r.slots.size(), 2u);  // Two campaigns, three slots.
  EXPECT_EQ(WinnerId(r, 0), "a");
  EXPECT_EQ(WinnerId(r, 1), "b");
  EXPECT_EQ(r.slots[0].slot, 0);
  EXPECT_EQ(r.slots[1].slot, 1);
}

TEST_F(AuctionTest, IneligibleCampaignsAreCountedByReason) {
  Campaign paused = MakeCampaign("paused", 1'000'000, {"x"});
  paused.set_status(attex::v1::CAMPAIGN_STATUS_PAUSED);
  Campaign canada = MakeCampaign("canada", 1'000'000, {"x"});
  canada.mutable_targeting()->add_countries("CA");
  Campaign needs = MakeCampaign("needs", 1'000'000, {"x"});
  needs.mutable_targeting()->add_include_features("interest:golf");
  Campaign avoids = MakeCampaign("avoids", 1'000'000, {"x"});
  avoids.mutable_targeting()->add_exclude_features("interest:running");
  Campaign video = MakeCampaign("video", 1'000'000, {"x"}, "video");
  Campaign blocked = MakeCampaign("blocked", 1'000'000, {"x"});
  // Out of budget and the best ad: the ranking checks its budget (only the
  // campaigns that could win are), and it cannot be placed.
  Campaign poor = MakeCampaign("poor", 2'000'000, {"x"});
  Campaign later = MakeCampaign("later", 1'000'000, {"x"});
  later.mutable_schedule()->set_start(kNowMs / 1000 + 3600);
  Build({paused, canada, needs, avoids, video, blocked, poor, later,
         MakeCampaign("ok", 1'000'000, {"x"})});
  catalog_->campaigns[6]->budget->Charge(1'000'000'000, kNowMs);  // "poor" spent it all.

  BidRequest req = Request({"interest:running"});
  req.add_blocked_categories("cat-blocked");
  attex::v1::Explanation ex;
  AuctionResult r = Run(req, &ex);
  ASSERT_EQ(r.slots.size(), 1u);
  EXPECT_EQ(WinnerId(r), "ok");
  const auto& excluded = ex.excluded();
  EXPECT_EQ(excluded.at("status"), 1);
  EXPECT_EQ(excluded.at("country"), 1);
  EXPECT_EQ(excluded.at("include_features"), 1);
  EXPECT_EQ(excluded.at("exclude_features"), 1);
  EXPECT_EQ(excluded.at("format"), 1);
  EXPECT_EQ(excluded.at("blocked_category"), 1);
  EXPECT_EQ(excluded.at("budget"), 1);
  EXPECT_EQ(excluded.at("schedule"), 1);
  // Budget is checked late: "poor" takes part in the attention, unplaced.
  EXPECT_EQ(ex.slots(0).eligible(), 2);
  ASSERT_EQ(ex.slots(0).candidates_size(), 2);
  EXPECT_EQ(ex.slots(0).candidates(0).campaign_id(), "poor");
  EXPECT_EQ(ex.slots(0).candidates(0).lost_reason(), "budget");
  EXPECT_TRUE(ex.slots(0).candidates(1).winner());
}

TEST_F(AuctionTest, OnlyCampaignsThatCouldWinHaveTheirBudgetChecked) {
  // Ten campaigns out of budget that rank below ten that can pay: the
  // ranking never looks at them, so none is counted (an eager check would
  // have read all twenty budgets).
  std::vector<Campaign> campaigns;
  for (int i = 0; i < 10; ++i) {
    campaigns.push_back(MakeCampaign("rich" + std::to_string(i), 5'000'000, {"interest:running"}));
  }
  for (int i = 0; i < 10; ++i) {
    campaigns.push_back(MakeCampaign("poor" + std::to_string(i), 1'000'000, {"kw:other"}));
  }
  Build(campaigns);
  for (int i = 10; i < 20; ++i) catalog_->campaigns[i]->budget->Charge(1'000'000'000, kNowMs);
  attex::v1::Explanation ex;
  AuctionResult r = Run(Request({"interest:running"}), &ex);
  ASSERT_EQ(r.slots.size(), 1u);
  EXPECT_EQ(WinnerId(r).substr(0, 4), "rich");
  EXPECT_EQ(ex.excluded().count("budget"), 0u);
  EXPECT_EQ(ex.slots(0).eligible(), 20);
  // With every campaign out of budget nothing is placed, and it says why.
  for (int i = 0; i < 10; ++i) catalog_->campaigns[i]->budget->Charge(1'000'000'000, kNowMs);
  r = Run(Request({"interest:running"}), &ex);
  EXPECT_TRUE(r.slots.empty());
  EXPECT_EQ(r.no_bid_reason, "no_eligible_campaigns");
  EXPECT_EQ(r.excluded[static_cast<int>(Exclusion::kBudget)], 20);
}

TEST_F(AuctionTest, TargetingMatchesCountDevicesHoursAndBlockedAdvertisers) {
  // Pairs that differ in one rule: the first of each pair is eligible.
  Campaign us = MakeCampaign("us", 1'000'000, {"x"});
  us.mutable_targeting()->add_countries("CA");
  us.mutable_targeting()->add_countries("US");
  Campaign mobile = MakeCampaign("mobile", 1'000'000, {"x"});
  mobile.mutable_targeting()->add_device_types("mobile");
  Campaign desktop = MakeCampaign("desktop", 1'000'000, {"x"});
  desktop.mutable_targeting()->add_device_types("desktop");
  const int hour = static_cast<int>((kNowMs / 3'600'000) % 24);
  Campaign now = MakeCampaign("now", 1'000'000, {"x"});
  now.mutable_targeting()->add_hours(hour);
  Campaign night = MakeCampaign("night", 1'000'000, {"x"});
  night.mutable_targeting()->add_hours((hour + 12) % 24);
  Campaign runner = MakeCampaign("runner", 1'000'000, {"x"});
  runner.mutable_targeting()->add_include_features("kw:golf");
  runner.mutable_targeting()->add_include_features("interest:running");
  Campaign shunned = MakeCampaign("shunned", 1'000'000, {"x"});
  shunned.set_advertiser_id("adv-shunned");
  Campaign shunned_too = MakeCampaign("shunned-too", 1'000'000, {"x"});
  shunned_too.set_advertiser_id("adv-shunned");  // Both of one advertiser.
  Build({us, mobile, desktop, now, night, runner, shunned, shunned_too});

  BidRequest req = Request({"interest:running"}, 4);
  req.mutable_context()->set_device_type("mobile");
  req.add_blocked_advertisers("adv-shunned");
  req.add_blocked_advertisers("adv-nobody");
  attex::v1::Explanation ex;
  const AuctionResult r = Run(req, &ex);
  EXPECT_EQ(ex.slots(0).eligible(), 4);  // us, mobile, now, runner.
  std::set<std::string> winners;
  for (size_t i = 0; i < r.slots.size(); ++i) winners.insert(WinnerId(r, static_cast<int>(i)));
  EXPECT_EQ(winners, (std::set<std::string>{"us", "mobile", "now", "runner"}));
  const auto& excluded = ex.excluded();
  EXPECT_EQ(excluded.at("device_type"), 1);
  EXPECT_EQ(excluded.at("hours"), 1);
  EXPECT_EQ(excluded.at("blocked_advertiser"), 2);
  EXPECT_EQ(excluded.count("country"), 0u);
  EXPECT_EQ(excluded.count("include_features"), 0u);
}

TEST_F(AuctionTest, WithoutConsentUserFeaturesAreNotUsed) {
  Campaign golf = MakeCampaign("golf", 1'000'000, {"interest:golf"});
  golf.mutable_targeting()->add_include_features("interest:golf");
  Build({golf});
  BidRequest req = Request({"interest:golf"});
  EXPECT_EQ(Run(req).slots.size(), 1u);
  req.mutable_user()->mutable_consent()->set_gdpr_applies(true);
  AuctionResult r = Run(req);
  EXPECT_TRUE(r.user_restricted);
  EXPECT_TRUE(r.slots.empty());
  req.mutable_user()->mutable_consent()->set_tcf_consent("CO-consent");
  EXPECT_EQ(Run(req).slots.size(), 1u);
}

TEST_F(AuctionTest, ExplanationLetsAnyoneRecomputeTheWeights) {
  Build({MakeCampaign("a", 3'000'000, {"interest:running"}),
         MakeCampaign("b", 2'000'000, {"interest:coffee"}),
         MakeCampaign("c", 1'000'000, {"kw:flights"})});
  attex::v1::Explanation ex;
  Run(Request({"interest:running"}), &ex);
  const auto& slot = ex.slots(0);
  ASSERT_EQ(slot.candidates_size(), 3);
  const int heads = ex.heads(), dh = ex.d_model() / heads;
  double total = 0;
  for (const auto& cand : slot.candidates()) {
    double w = 0;
    for (int h = 0; h < heads; ++h) {
      double dot = 0;
      for (int j = h * dh; j < (h + 1) * dh; ++j) dot += slot.query(j) * cand.key(j);
      EXPECT_NEAR(dot * slot.scale(), cand.head_scores(h), 1e-4);
      w += std::exp(dot * slot.scale() - slot.log_normalisers(h)) / heads;
    }
    EXPECT_NEAR(w, cand.attention_weight(), 1e-5);
    total += w;
  }
  EXPECT_NEAR(total, 1.0, 1e-5);
  EXPECT_TRUE(slot.candidates(0).winner());
  EXPECT_GT(slot.attention_price_cpm_micros(), 1'000'000);
  EXPECT_LT(slot.attention_price_cpm_micros(), 3'000'000);
}

// An advertiser auditing a charge recomputes a two-slot decision from the
// explanation alone (every eligible ad listed): weights, log normalisers,
// the attention price and the second price, in every key storage.
class ExplainRecomputeTest : public AuctionTest,
                             public ::testing::WithParamInterface<attention::KeyFormat> {};

TEST_P(ExplainRecomputeTest, TwoSlotsRecomputeFromTheirOwnNumbers) {
  std::vector<std::shared_ptr<const CompiledCampaign>> compiled;
  const std::vector<std::vector<std::string>> features = {
      {"interest:running"}, {"interest:coffee"}, {"kw:flights"}, {"interest:running", "kw:shoes"},
      {"kw:marathon"},      {"interest:tea"},    {"kw:hotel"}};
  for (size_t i = 0; i < features.size(); ++i) {
    const std::string id = "c" + std::to_string(i);
    const int64_t bid = 1'000'000 + 370'000 * static_cast<int64_t>(i);
    compiled.push_back(
        CompileCampaign(MakeCampaign(id, bid, features[i], i % 2 ? "native" : "banner"), *model_,
                        std::make_shared<BudgetState>()));
  }
  catalog_ = BuildCatalog(model_, compiled, GetParam());
  BidRequest req = Request({"interest:running", "kw:marathon"}, 3);
  req.mutable_slots(1)->set_format("native");
  attex::v1::Explanation ex;
  const AuctionResult result = Run(req, &ex);
  ASSERT_EQ(ex.slots_size(), 3);
  ASSERT_EQ(result.slots.size(), 3u);
  const int heads = ex.heads(), dh = ex.d_model() / heads;
  for (const auto& slot : ex.slots()) {
    SCOPED_TRACE(slot.slot_id());
    ASSERT_EQ(slot.candidates_size(), slot.eligible());  // Every eligible ad is listed.
    std::vector<std::vector<double>> scores;
    for (const auto& cand : slot.candidates()) {
      scores.emplace_back();
      for (int h = 0; h < heads; ++h) {
        double dot = 0;
        for (int j = h * dh; j < (h + 1) * dh; ++j) dot += slot.query(j) * cand.key(j);
        scores.back().push_back(dot * slot.scale());
        EXPECT_NEAR(scores.back()[h], cand.head_scores(h), 1e-5);
      }
    }
    for (int h = 0; h < heads; ++h) {
      double z = 0;
      for (const auto& s : scores) z += std::exp(s[h]);
      EXPECT_NEAR(std::log(z), slot.log_normalisers(h), 1e-5);
    }
    double price = 0, winner_weight = 0, runner_up = -1;
    std::string winner;
    for (int i = 0; i < slot.candidates_size(); ++i) {
      const auto& cand = slot.candidates(i);
      double w = 0;
      for (int h = 0; h < heads; ++h) w += std::exp(scores[i][h] - slot.log_normalisers(h)) / heads;
      EXPECT_NEAR(w, cand.attention_weight(), 1e-5 * w);
      price += w * cand.bid_cpm_micros();
      if (cand.winner()) {
        winner_weight = cand.attention_weight();
        winner = cand.campaign_id();
      }
    }
    EXPECT_NEAR(price, slot.attention_price_cpm_micros(), 1e-5 * price);
    // The runner-up: the best score among other campaigns not placed in an
    // earlier slot (lost as outranked).
    for (const auto& cand : slot.candidates()) {
      if (cand.campaign_id() != winner && cand.lost_reason() == "outranked") {
        runner_up = std::max(runner_up, double{cand.attention_weight()} * cand.bid_cpm_micros());
      }
    }
    ASSERT_FALSE(winner.empty());
    const int64_t expected =
        runner_up < 0
            ? slot.floor_cpm_micros()
            : std::max<int64_t>(slot.floor_cpm_micros(),
                                static_cast<int64_t>(std::ceil(runner_up / winner_weight)));
    EXPECT_EQ(slot.price_cpm_micros(), expected);
  }
  // Two banner slots share one class: the same weights, other winners.
  EXPECT_EQ(ex.slots(0).log_normalisers(0), ex.slots(2).log_normalisers(0));
  EXPECT_NE(ex.slots(0).winner_campaign_id(), ex.slots(2).winner_campaign_id());
}

INSTANTIATE_TEST_SUITE_P(EveryKeyStorage, ExplainRecomputeTest,
                         ::testing::Values(attention::KeyFormat::kFloat32,
                                           attention::KeyFormat::kBfloat16,
                                           attention::KeyFormat::kInt8),
                         [](const ::testing::TestParamInfo<attention::KeyFormat>& info) {
                           return std::string(attention::KeyFormatName(info.param));
                         });

TEST_F(AuctionTest, SplittingAcrossWorkersGivesTheSameAuction) {
  // Eligibility, the mask and the pass split across a pool (every loop, at
  // this size) decide as one thread does.
  std::vector<Campaign> campaigns;
  const std::vector<std::string> topics = {"interest:running", "interest:coffee", "kw:flights",
                                           "kw:marathon", "interest:tea"};
  for (int i = 0; i < 60; ++i) {
    Campaign c = MakeCampaign("c" + std::to_string(i), 1'000'000 + 50'000 * i,
                              {topics[i % topics.size()]}, i % 3 ? "banner" : "native");
    if (i % 7 == 0) c.mutable_targeting()->add_countries("CA");
    campaigns.push_back(c);
  }
  Build(campaigns);
  attention::PassWorkers workers(1);
  AuctionConfig split = config_;
  split.pass_workers = &workers;
  split.pass_split_min_ads = 1;
  for (int k = 0; k < 5; ++k) {
    BidRequest req = Request({topics[k]}, 3);
    req.mutable_slots(1)->set_format("native");
    AuctionResult one, two;
    RunAuction(*catalog_, config_, req, kNowMs, absl::InfiniteFuture(), &one, nullptr);
    RunAuction(*catalog_, split, req, kNowMs, absl::InfiniteFuture(), &two, nullptr);
    ASSERT_EQ(one.slots.size(), two.slots.size());
    for (size_t i = 0; i < one.slots.size(); ++i) {
      EXPECT_EQ(one.slots[i].ad, two.slots[i].ad);
      EXPECT_NEAR(one.slots[i].price_cpm_micros, two.slots[i].price_cpm_micros, 1);
    }
    EXPECT_EQ(one.excluded, two.excluded);
  }
  EXPECT_GT(workers.split(), 0);
}

TEST_F(AuctionTest, NothingEligibleSaysWhy) {
  Build({});
  AuctionResult r = Run(Request({"interest:running"}));
  EXPECT_TRUE(r.slots.empty());
  EXPECT_EQ(r.no_bid_reason, "no_eligible_campaigns");
}

TEST_F(AuctionTest, ExplorationDrawsEligibleAdsUniformlyAtTheFloor) {
  // Five campaigns of one topic, one that bids under the slot's floor, and
  // one of another format: an explored slot draws among the five alone.
  std::vector<Campaign> campaigns;
  for (int i = 0; i < 5; ++i) {
    campaigns.push_back(MakeCampaign("c" + std::to_string(i), 1'000'000 + 100'000 * i,
                                     {i == 0 ? "interest:running" : "interest:tea"}));
  }
  campaigns.push_back(MakeCampaign("cheap", 150'000, {"interest:running"}));
  campaigns.push_back(MakeCampaign("video", 3'000'000, {"interest:running"}, "video"));
  Build(campaigns);
  config_.explore_share = 1.0;
  std::map<std::string, int> drawn;
  int ranked = 0;
  for (int i = 0; i < 500; ++i) {
    BidRequest req = Request({"interest:running"}, 2);
    req.set_request_id("req-" + std::to_string(i));
    req.mutable_slots(0)->set_floor_cpm_micros(200'000);
    req.mutable_slots(1)->set_floor_cpm_micros(200'000);
    const AuctionResult r = Run(req);
    ASSERT_EQ(r.slots.size(), 2u);
    const AuctionResult again = Run(req);  // The same request id, the same draw.
    ASSERT_EQ(again.slots.size(), 2u);
    for (size_t k = 0; k < 2; ++k) EXPECT_EQ(again.slots[k].ad, r.slots[k].ad);
    int explored = 0;
    for (size_t k = 0; k < r.slots.size(); ++k) {
      const SlotOutcome& o = r.slots[k];
      if (o.explore_propensity == 0.0) {
        ++ranked;
        continue;
      }
      ++explored;
      EXPECT_EQ(o.price_cpm_micros, 200'000);
      // The first slot draws from five; the second from the four left.
      EXPECT_DOUBLE_EQ(o.explore_propensity, k == 0 ? 1.0 / 5 : 1.0 / 4);
      EXPECT_GT(o.weight, 0.0);
      ++drawn[WinnerId(r, static_cast<int>(k))];
    }
    EXPECT_EQ(explored, 1) << "one slot of each request";
    EXPECT_NE(WinnerId(r, 0), WinnerId(r, 1));
  }
  EXPECT_EQ(ranked, 500);
  ASSERT_EQ(drawn.size(), 5u);  // Never "cheap" nor "video".
  // About 250 x 1/5 + 250 x 1/4 each, but c0, which the second slot never
  // draws when the first ranked it: 50.
  for (const auto& [id, n] : drawn) EXPECT_GT(n, id == "c0" ? 25 : 70) << id;

  config_.explore_share = 0.3;
  int explored_requests = 0;
  for (int i = 0; i < 1000; ++i) {
    BidRequest req = Request({"interest:running"});
    req.set_request_id("share-" + std::to_string(i));
    explored_requests += Run(req).slots[0].explore_propensity > 0;
  }
  EXPECT_NEAR(explored_requests, 300, 60);
  config_.explore_share = 0.0;
  BidRequest req = Request({"interest:running"});
  EXPECT_EQ(Run(req).slots[0].explore_propensity, 0.0);
  EXPECT_EQ(WinnerId(Run(req)), "c0");
}

}  // namespace
}  // namespace attex::auction
