// The auction over a catalogue with an ANN index (attention/ann.h): the
// candidates come from the index, exact attention runs over them only, and
// the top 10 by weight x bid agree with the exact scan's.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "auction/auction.h"
#include "gtest/gtest.h"

namespace attex::auction {
namespace {

using attex::v1::BidRequest;

constexpr int64_t kNowMs = 1'790'000'000'000;
constexpr int kCampaigns = 2'000;
constexpr int kCreatives = 10;  // 20,000 ads.
constexpr int kVideoAds = 3;    // The first three campaigns' first creatives.

// 20,000 ads with keys from a vocabulary wide enough that few are alike,
// bids from 0.2 to 5 CPM; banner and native, and a few video ads.
std::shared_ptr<const Catalog> SyntheticCatalog() {
  const std::shared_ptr<const attention::Model> model = attention::Model::Default();
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> word(0, 4999), interest(0, 299), bid(200, 5000);
  std::vector<std::shared_ptr<const CompiledCampaign>> compiled;
  for (int c = 0; c < kCampaigns; ++c) {
    attex::v1::Campaign campaign;
    campaign.set_id(absl::StrCat("cmp-", c));
    campaign.set_advertiser_id(absl::StrCat("adv-", c % 700));
    campaign.set_status(attex::v1::CAMPAIGN_STATUS_ACTIVE);
    campaign.set_bid_cpm_micros(1000 * bid(rng));
    campaign.mutable_budget()->set_total_micros(int64_t{1} << 40);
    for (int k = 0; k < kCreatives; ++k) {
      auto* cr = campaign.add_creatives();
      cr->set_id(absl::StrCat("cr-", k));
      cr->set_format(c < kVideoAds && k == 0 ? "video" : k % 2 == 0 ? "banner" : "native");
      cr->set_category(absl::StrCat("cat-", k));
      cr->add_features(absl::StrCat("kw:w", word(rng)));
      cr->add_features(absl::StrCat("kw:w", word(rng)));
      cr->add_features(absl::StrCat("interest:i", interest(rng)));
    }
    compiled.push_back(CompileCampaign(campaign, *model, std::make_shared<BudgetState>()));
  }
  return BuildCatalog(model, std::move(compiled));
}

BidRequest Request(int seed, std::vector<std::string> formats = {"banner", "native"}) {
  std::mt19937 rng(1000 + seed);
  std::uniform_int_distribution<int> word(0, 4999), interest(0, 299);
  BidRequest r;
  r.set_request_id(absl::StrCat("ann-", seed));
  r.mutable_user()->add_features(absl::StrCat("interest:i", interest(rng)));
  r.mutable_user()->add_features(absl::StrCat("interest:i", interest(rng)));
  r.mutable_context()->add_features(absl::StrCat("kw:w", word(rng)));
  for (size_t s = 0; s < formats.size(); ++s) {
    auto* slot = r.add_slots();
    slot->set_id(absl::StrCat("s", s));
    slot->set_format(formats[s]);
    slot->set_position(static_cast<int>(s));
    slot->set_floor_cpm_micros(1);
  }
  return r;
}

class AnnAuctionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    catalog_ = SyntheticCatalog();
    plain_ = SyntheticCatalog();
    auto index = BuildAnnIndex(*catalog_);
    ASSERT_TRUE(index.ok()) << index.status();
    ASSERT_TRUE(catalog_->ann.Set(*std::move(index)));
  }
  static void TearDownTestSuite() {
    catalog_.reset();
    plain_.reset();
  }

  // Top 10 of every slot by weight x bid, as the explanation lists them.
  static std::vector<std::set<std::string>> TopTen(const Catalog& catalog, int ann_candidates,
                                                   const BidRequest& r, AuctionResult* result) {
    AuctionConfig config;
    config.ann_candidates = ann_candidates;
    config.explain_top = 10;
    attex::v1::Explanation ex;
    RunAuction(catalog, config, r, kNowMs, absl::InfiniteFuture(), result, &ex);
    EXPECT_EQ(ex.ann_candidates(), result->ann_candidates);
    std::vector<std::set<std::string>> top;
    for (const auto& slot : ex.slots()) {
      top.emplace_back();
      for (const auto& c : slot.candidates()) {
        top.back().insert(absl::StrCat(c.campaign_id(), "/", c.creative_id()));
      }
    }
    return top;
  }

  static inline std::shared_ptr<const Catalog> catalog_;  // With an index.
  static inline std::shared_ptr<const Catalog> plain_;    // The same ads, none.
};

TEST_F(AnnAuctionTest, IndexedCatalogueRunsAttentionOverTheRetrievedCandidatesOnly) {
  AuctionConfig config;
  config.ann_candidates = 200;
  attex::v1::Explanation ex;
  AuctionResult result;
  RunAuction(*catalog_, config, Request(1), kNowMs, absl::InfiniteFuture(), &result, &ex);
  // Two slots of 200 each: their union, and no more are scored.
  EXPECT_GE(result.ann_candidates, 200);
  EXPECT_LE(result.ann_candidates, 400);
  EXPECT_EQ(ex.ann_candidates(), result.ann_candidates);
  ASSERT_EQ(result.slots.size(), 2u);
  ASSERT_EQ(ex.slots_size(), 2);
  for (const auto& slot : ex.slots()) {
    EXPECT_GT(slot.eligible(), 0);
    EXPECT_LE(slot.eligible(), result.ann_candidates);
  }
}

TEST_F(AnnAuctionTest, SharedPassesKeepEachRequestsOwnCandidates) {
  // Each request's candidates clear only its own bits of the shared mask.
  AuctionConfig config;
  config.ann_candidates = 200;
  std::vector<BidRequest> requests = {Request(11), Request(12), Request(13)};
  std::vector<AuctionResult> alone(3), shared(3);
  std::vector<AuctionJob> jobs;
  for (int i = 0; i < 3; ++i) {
    RunAuction(*catalog_, config, requests[i], kNowMs, absl::InfiniteFuture(), &alone[i], nullptr);
    jobs.push_back({&requests[i], kNowMs, absl::InfiniteFuture(), &shared[i]});
  }
  RunAuctions(*catalog_, config, jobs);
  for (int i = 0; i < 3; ++i) {
    EXPECT_GT(shared[i].ann_candidates, 0);
    EXPECT_EQ(shared[i].ann_candidates, alone[i].ann_candidates);
    ASSERT_EQ(shared[i].slots.size(), alone[i].slots.size());
    for (size_t k = 0; k < alone[i].slots.size(); ++k) {
      EXPECT_EQ(shared[i].slots[k].ad, alone[i].slots[k].ad);
      EXPECT_EQ(shared[i].slots[k].weight, alone[i].slots[k].weight);
      EXPECT_EQ(shared[i].slots[k].price_cpm_micros, alone[i].slots[k].price_cpm_micros);
    }
  }
}

TEST_F(AnnAuctionTest, WithoutAnIndexTheExactScanCoversEveryEligibleAd) {
  attex::v1::Explanation ex;
  AuctionResult result;
  RunAuction(*plain_, AuctionConfig{}, Request(1), kNowMs, absl::InfiniteFuture(), &result, &ex);
  EXPECT_EQ(result.ann_candidates, 0);
  EXPECT_EQ(ex.ann_candidates(), 0);
  ASSERT_EQ(ex.slots_size(), 2);
  // Half the ads are banners (less the video ones), half native.
  EXPECT_EQ(ex.slots(0).eligible(), kCampaigns * kCreatives / 2 - kVideoAds);
}

TEST_F(AnnAuctionTest, AnnCandidatesZeroMeansTheExactScan) {
  AuctionResult with_index, without;
  const auto a = TopTen(*catalog_, 0, Request(2), &with_index);
  const auto b = TopTen(*plain_, 1000, Request(2), &without);
  EXPECT_EQ(with_index.ann_candidates, 0);
  EXPECT_EQ(a, b);
}

TEST_F(AnnAuctionTest, FewEligibleAdsAreScannedExactlyEvenWithAnIndex) {
  // Three video ads: fewer than the 1,000 candidates the index would
  // retrieve, which could well miss them all.
  AuctionConfig config;
  AuctionResult result;
  RunAuction(*catalog_, config, Request(3, {"video"}), kNowMs, absl::InfiniteFuture(), &result,
             nullptr);
  EXPECT_EQ(result.ann_candidates, 0);
  ASSERT_EQ(result.slots.size(), 1u);
  EXPECT_EQ(catalog_->ads[result.slots[0].ad].creative, 0);
  EXPECT_LT(catalog_->ads[result.slots[0].ad].campaign, kVideoAds);
}

TEST_F(AnnAuctionTest, TopTenByWeightTimesBidAgreesWithTheExactScan) {
  // recall@10: the share of the exact scan's top 10 (by weight x bid, per
  // slot) that the ANN path's top 10 holds, over 20 requests of 2 slots.
  int found = 0, total = 0, same_winner = 0, winners = 0;
  for (int seed = 0; seed < 20; ++seed) {
    const BidRequest r = Request(100 + seed);
    AuctionResult exact_result, ann_result;
    const auto exact = TopTen(*plain_, 1000, r, &exact_result);
    const auto ann = TopTen(*catalog_, 1000, r, &ann_result);
    ASSERT_GT(ann_result.ann_candidates, 0) << "seed " << seed;
    ASSERT_EQ(exact.size(), ann.size());
    for (size_t s = 0; s < exact.size(); ++s) {
      for (const auto& id : exact[s]) found += ann[s].count(id);
      total += static_cast<int>(exact[s].size());
    }
    for (size_t k = 0; k < exact_result.slots.size() && k < ann_result.slots.size(); ++k) {
      same_winner += exact_result.slots[k].ad == ann_result.slots[k].ad;
    }
    winners += static_cast<int>(exact_result.slots.size());
  }
  const double recall = static_cast<double>(found) / total;
  std::printf("recall@10 %.3f (%d of %d); same winner in %d of %d slots\n", recall, found, total,
              same_winner, winners);
  EXPECT_EQ(total, 20 * 2 * 10);
  EXPECT_GE(recall, 0.8);
  // 31 of 40 here (35 while slot queries had a position term; the ANN
  // path is approximate, and its retrieval misses some winners).
  EXPECT_GE(same_winner, winners * 3 / 4);
}

}  // namespace
}  // namespace attex::auction
