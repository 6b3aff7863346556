// RunAuction's ranking (the fused pass's top list, re-ranked exactly, with a
// second scan when one campaign fills the list) against a brute-force
// auction over every ad's weight from the reference scorer (ScoreSlot).
#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "attention/scorer.h"
#include "auction/auction.h"
#include "auction/budget.h"
#include "auction/catalog.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace attex::auction {
namespace {

constexpr int64_t kNowMs = 1'790'000'000'000;

struct Expected {
  int32_t ad = -1;
  int64_t price = 0;
  double weight = 0.0;
};

// Every campaign is active, untargeted and funded, so that eligibility is
// only formats and blocked categories; second price with the default floor.
std::vector<Expected> BruteForce(const Catalog& catalog, const attex::v1::BidRequest& req) {
  const auto& model = *catalog.model;
  const int d = model.d_model();
  const size_t n = catalog.ads.size();
  std::vector<float> u(d), q(d), weights(n);
  std::vector<double> log_norms(model.heads());
  std::vector<uint8_t> mask(n), placed(catalog.campaigns.size());
  std::vector<float> keys;  // Row-major, as the reference scorer reads them.
  for (size_t i = 0; i < n; ++i) {
    const auto key = catalog.Key(static_cast<int64_t>(i));
    keys.insert(keys.end(), key.begin(), key.end());
  }
  attention::QueryInputs in;
  std::vector<std::string_view> features(req.user().features().begin(),
                                         req.user().features().end());
  in.features = features;
  model.ContextVector(in, absl::MakeSpan(u));
  std::vector<Expected> out;
  for (int k = 0; k < req.slots_size(); ++k) {  // Positions are in request order.
    const auto& slot = req.slots(k);
    for (size_t i = 0; i < n; ++i) {
      const auto& cr =
          catalog.campaigns[catalog.ads[i].campaign]->creatives[catalog.ads[i].creative];
      mask[i] = cr.format == slot.format() &&
                std::find(req.blocked_categories().begin(), req.blocked_categories().end(),
                          cr.category) == req.blocked_categories().end();
    }
    model.SlotQuery(u, slot.format(), absl::MakeSpan(q));
    attention::SlotScores scores{absl::MakeSpan(weights), absl::MakeSpan(log_norms)};
    const std::vector<float> values(catalog.values.begin(), catalog.values.end());
    attention::ScoreSlot({keys.data(), static_cast<int64_t>(n), d, model.heads()}, values, mask, q,
                         &scores);
    const int64_t floor = slot.floor_cpm_micros() > 0 ? slot.floor_cpm_micros()
                                                      : AuctionConfig{}.default_floor_cpm_micros;
    struct Pick {
      int32_t ad = -1, campaign = -1;
      double score = -1.0;
    } best, second;
    for (size_t i = 0; i < n; ++i) {
      const int32_t c = catalog.ads[i].campaign;
      const int64_t bid = catalog.campaigns[c]->bid_cpm_micros;
      if (!mask[i] || placed[c] || bid < floor) continue;
      const Pick p{static_cast<int32_t>(i), c, weights[i] * static_cast<double>(bid)};
      if (p.score > best.score) {
        if (p.campaign != best.campaign) second = best;
        best = p;
      } else if (p.score > second.score && p.campaign != best.campaign) {
        second = p;
      }
    }
    if (best.ad < 0) continue;
    const double w = weights[best.ad];
    const int64_t bid = catalog.campaigns[best.campaign]->bid_cpm_micros;
    const int64_t price =
        second.ad >= 0 ? static_cast<int64_t>(std::ceil(second.score / w)) : floor;
    out.push_back({best.ad, std::clamp<int64_t>(price, floor, bid), w});
    placed[best.campaign] = 1;
  }
  return out;
}

std::shared_ptr<const Catalog> RandomCatalog(int campaigns, int creatives, uint32_t seed,
                                             bool dominant) {
  std::shared_ptr<const attention::Model> model = attention::Model::Default();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> word(0, 30), bid(50, 3000), category(0, 5), format(0, 1);
  std::vector<std::shared_ptr<const CompiledCampaign>> compiled;
  for (int c = 0; c < campaigns; ++c) {
    attex::v1::Campaign campaign;
    campaign.set_id(absl::StrCat("c", c));
    campaign.set_advertiser_id(absl::StrCat("adv", c));
    campaign.set_status(attex::v1::CAMPAIGN_STATUS_ACTIVE);
    // With `dominant`, campaign 0 outbids everyone with ads made for the user.
    campaign.set_bid_cpm_micros(dominant && c == 0 ? 9'000'000 : 1000 * bid(rng));
    campaign.mutable_budget()->set_total_micros(int64_t{1} << 40);
    for (int k = 0; k < creatives; ++k) {
      auto* cr = campaign.add_creatives();
      cr->set_id(absl::StrCat("cr", k));
      cr->set_format(format(rng) ? "banner" : "video");
      cr->set_category(absl::StrCat("cat", category(rng)));
      if (dominant && c == 0) {
        cr->set_format("banner");
        cr->set_category("cat-top");
        cr->add_features("interest:running");
        cr->add_features("kw:w1");
      } else {
        cr->add_features(absl::StrCat("kw:w", word(rng)));
        cr->add_features(absl::StrCat("interest:i", word(rng)));
      }
    }
    compiled.push_back(CompileCampaign(campaign, *model, std::make_shared<BudgetState>()));
  }
  return BuildCatalog(model, std::move(compiled));
}

attex::v1::BidRequest Request(int slots) {
  attex::v1::BidRequest req;
  req.set_request_id("r");
  for (const char* f : {"interest:running", "kw:w1", "kw:w7", "interest:i3"}) {
    req.mutable_user()->add_features(f);
  }
  for (int s = 0; s < slots; ++s) {
    auto* slot = req.add_slots();
    slot->set_id(absl::StrCat("s", s));
    slot->set_format(s % 3 == 2 ? "video" : "banner");
    slot->set_position(s);
  }
  req.add_blocked_categories("cat2");
  return req;
}

void ExpectSameAuction(const Catalog& catalog, const attex::v1::BidRequest& req) {
  AuctionResult result;
  RunAuction(catalog, AuctionConfig{}, req, kNowMs, absl::InfiniteFuture(), &result, nullptr);
  const std::vector<Expected> expected = BruteForce(catalog, req);
  ASSERT_EQ(result.slots.size(), expected.size());
  for (size_t k = 0; k < expected.size(); ++k) {
    EXPECT_EQ(result.slots[k].ad, expected[k].ad) << "slot " << k;
    // The two scorers round differently in the last float bits.
    EXPECT_NEAR(result.slots[k].price_cpm_micros, expected[k].price, 1.0) << "slot " << k;
    EXPECT_NEAR(result.slots[k].weight, expected[k].weight, 1e-5 * expected[k].weight);
  }
}

TEST(RankingTest, MatchesABruteForceAuctionOverEveryAd) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    ExpectSameAuction(*RandomCatalog(300, 4, seed, false), Request(5));
  }
}

TEST(RankingTest, FindsTheRunnerUpWhenOneCampaignFillsTheTopList) {
  // Campaign 0's 30 creatives take every place of the kernel's top list, so
  // the runner-up (another campaign) needs the second scan.
  const auto catalog = RandomCatalog(200, 30, 9, true);
  AuctionResult result;
  RunAuction(*catalog, AuctionConfig{}, Request(1), kNowMs, absl::InfiniteFuture(), &result,
             nullptr);
  ASSERT_EQ(result.slots.size(), 1u);
  EXPECT_EQ(catalog->ads[result.slots[0].ad].campaign, 0);
  EXPECT_LT(result.slots[0].price_cpm_micros, 9'000'000);  // Priced by another campaign.
  ExpectSameAuction(*catalog, Request(1));
  ExpectSameAuction(*catalog, Request(4));
}

TEST(RankingTest, SlotsOfOneFormatDrawFromOneScanAsTheirOwnScansWould) {
  // Eight banner slots share one list of candidates; their floors differ
  // (some above most bids, so that the list runs short and a slot scans on
  // its own), and campaign 0's 30 creatives crowd the list until it is
  // placed.
  for (bool dominant : {false, true}) {
    SCOPED_TRACE(dominant ? "dominant campaign" : "no dominant campaign");
    const auto catalog = RandomCatalog(300, dominant ? 30 : 4, 13, dominant);
    attex::v1::BidRequest req = Request(8);
    const int64_t floors[] = {0, 2'500'000, 0, 1'000'000, 2'900'000, 0, 400'000, 2'000'000};
    for (int k = 0; k < req.slots_size(); ++k) {
      req.mutable_slots(k)->set_format("banner");
      req.mutable_slots(k)->set_floor_cpm_micros(floors[k]);
    }
    ExpectSameAuction(*catalog, req);
  }
}

// Requests that differ in users, slot counts, formats and blocked
// categories.
attex::v1::BidRequest VariedRequest(int i) {
  attex::v1::BidRequest req = Request(1 + i % 4);
  req.set_request_id(absl::StrCat("r", i));
  req.mutable_user()->clear_features();
  req.mutable_user()->add_features(absl::StrCat("kw:w", i % 7));
  req.mutable_user()->add_features(absl::StrCat("interest:i", (3 * i) % 11));
  req.clear_blocked_categories();
  req.add_blocked_categories(absl::StrCat("cat", i % 6));
  if (i % 3 == 1) req.mutable_slots(0)->set_format("video");
  return req;
}

TEST(SharedPassTest, GivesEachRequestWhatItsOwnPassGives) {
  const auto catalog = RandomCatalog(400, 4, 21, false);
  // 9 requests with 1 to 4 slots: 22 slots, so two passes of up to 16.
  std::vector<attex::v1::BidRequest> requests;
  for (int i = 0; i < 9; ++i) requests.push_back(VariedRequest(i));
  std::vector<AuctionResult> alone(requests.size()), shared(requests.size());
  std::vector<attex::v1::Explanation> alone_ex(requests.size()), shared_ex(requests.size());
  std::vector<AuctionJob> jobs;
  for (size_t i = 0; i < requests.size(); ++i) {
    RunAuction(*catalog, AuctionConfig{}, requests[i], kNowMs, absl::InfiniteFuture(), &alone[i],
               &alone_ex[i]);
    jobs.push_back({&requests[i], kNowMs, absl::InfiniteFuture(), &shared[i], &shared_ex[i]});
  }
  RunAuctions(*catalog, AuctionConfig{}, jobs);
  int placed = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("request ", i));
    ASSERT_EQ(shared[i].slots.size(), alone[i].slots.size());
    for (size_t k = 0; k < alone[i].slots.size(); ++k) {
      EXPECT_EQ(shared[i].slots[k].slot, alone[i].slots[k].slot);
      EXPECT_EQ(shared[i].slots[k].ad, alone[i].slots[k].ad);
      EXPECT_EQ(shared[i].slots[k].price_cpm_micros, alone[i].slots[k].price_cpm_micros);
      EXPECT_EQ(shared[i].slots[k].weight, alone[i].slots[k].weight);
      ++placed;
    }
    EXPECT_EQ(shared[i].excluded, alone[i].excluded);
    EXPECT_EQ(shared[i].no_bid_reason, alone[i].no_bid_reason);
    // Every number behind the decision, bit for bit.
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(shared_ex[i], alone_ex[i]));
  }
  EXPECT_GT(placed, 9);
}

TEST(SharedPassTest, ARequestPastItsDeadlineTimesOutAlone) {
  const auto catalog = RandomCatalog(100, 4, 5, false);
  const attex::v1::BidRequest late = VariedRequest(1), on_time = VariedRequest(2);
  AuctionResult late_result, on_time_result, expected;
  RunAuction(*catalog, AuctionConfig{}, on_time, kNowMs, absl::InfiniteFuture(), &expected,
             nullptr);
  const AuctionJob jobs[] = {
      {&late, kNowMs, absl::InfinitePast(), &late_result},
      {&on_time, kNowMs, absl::InfiniteFuture(), &on_time_result},
  };
  RunAuctions(*catalog, AuctionConfig{}, jobs);
  EXPECT_TRUE(late_result.slots.empty());
  EXPECT_EQ(late_result.no_bid_reason, "timeout");
  ASSERT_FALSE(expected.slots.empty());
  ASSERT_EQ(on_time_result.slots.size(), expected.slots.size());
  EXPECT_EQ(on_time_result.slots[0].ad, expected.slots[0].ad);
  EXPECT_EQ(on_time_result.slots[0].weight, expected.slots[0].weight);
}

}  // namespace
}  // namespace attex::auction
