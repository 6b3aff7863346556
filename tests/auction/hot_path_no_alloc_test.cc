// Proves the bid hot path (embed + eligibility + fused attention pass +
// ranking + pricing, i.e. RunAuction without explanation) allocates nothing
// once warm: this binary interposes glibc's malloc family, which operator new
// and Eigen both reach, with counting wrappers.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "auction/auction.h"
#include "auction/budget.h"
#include "auction/catalog.h"
#include "gtest/gtest.h"
#include "tests/testing/allocation_counter.h"

namespace attex::auction {
namespace {

constexpr int64_t kNowMs = 1'790'000'000'000;

using ::attex::testing::Allocations;

std::shared_ptr<const Catalog> SmallCatalog(attention::KeyFormat format) {
  std::shared_ptr<const attention::Model> model = attention::Model::Default();
  std::vector<std::shared_ptr<const CompiledCampaign>> compiled;
  const char* formats[] = {"banner", "video"};
  for (int c = 0; c < 60; ++c) {
    attex::v1::Campaign campaign;
    campaign.set_id(absl::StrCat("c", c));
    campaign.set_advertiser_id(absl::StrCat("adv", c % 7));
    campaign.set_status(attex::v1::CAMPAIGN_STATUS_ACTIVE);
    campaign.set_bid_cpm_micros(200'000 + 10'000 * c);
    campaign.mutable_budget()->set_total_micros(1'000'000'000);
    if (c % 5 == 0) campaign.mutable_targeting()->add_include_features("interest:running");
    for (int k = 0; k < 5; ++k) {
      auto* cr = campaign.add_creatives();
      cr->set_id(absl::StrCat("cr", k));
      cr->set_format(formats[(c + k) % 2]);
      cr->set_category(absl::StrCat("cat", (c * 5 + k) % 9));
      cr->add_features(absl::StrCat("kw:w", (c * 3 + k) % 11));
    }
    compiled.push_back(CompileCampaign(campaign, *model, std::make_shared<BudgetState>()));
  }
  return BuildCatalog(model, std::move(compiled), format);
}

attex::v1::BidRequest Request() {
  attex::v1::BidRequest req;
  req.set_request_id("r");
  req.mutable_user()->add_features("interest:running");
  req.mutable_user()->add_features("kw:w3");
  for (int i = 0; i < 80; ++i) req.mutable_user()->add_recent(absl::StrCat("kw:w", i % 11));
  req.mutable_context()->set_country("US");
  req.mutable_context()->add_features("site:news");
  for (int s = 0; s < 4; ++s) {
    auto* slot = req.add_slots();
    slot->set_id(absl::StrCat("s", s));
    slot->set_format(s == 2 ? "video" : "banner");
    slot->set_position(s);
  }
  req.add_blocked_categories("cat3");
  req.add_blocked_categories("not-in-the-catalogue");
  return req;
}

class HotPathNoAllocTest : public ::testing::TestWithParam<attention::KeyFormat> {
 protected:
  void SetUp() override {
#ifndef ATTEX_COUNT_ALLOCATIONS
    GTEST_SKIP() << "allocation counting needs glibc without sanitizers";
#endif
  }
};

TEST_P(HotPathNoAllocTest, AWarmAuctionAllocatesNothing) {
  const auto catalog = SmallCatalog(GetParam());
  const attex::v1::BidRequest req = Request();
  const AuctionConfig config;
  AuctionResult result;
  RunAuction(*catalog, config, req, kNowMs, absl::InfiniteFuture(), &result, nullptr);  // Warm.

  const int64_t before = Allocations();
  for (int round = 0; round < 5; ++round) {
    RunAuction(*catalog, config, req, kNowMs, absl::InfiniteFuture(), &result, nullptr);
  }
  const int64_t after = Allocations();
  EXPECT_EQ(after - before, 0);
  EXPECT_EQ(result.slots.size(), 4u);  // The calls did real work.
  EXPECT_GT(result.excluded[static_cast<int>(Exclusion::kBlockedCategory)], 0);
}

TEST_P(HotPathNoAllocTest, AnExploringAuctionAllocatesNothingEither) {
  const auto catalog = SmallCatalog(GetParam());
  const attex::v1::BidRequest req = Request();
  AuctionConfig config;
  config.explore_share = 1.0;
  AuctionResult result;
  RunAuction(*catalog, config, req, kNowMs, absl::InfiniteFuture(), &result, nullptr);  // Warm.

  const int64_t before = Allocations();
  for (int round = 0; round < 5; ++round) {
    RunAuction(*catalog, config, req, kNowMs, absl::InfiniteFuture(), &result, nullptr);
  }
  EXPECT_EQ(Allocations() - before, 0);
  int explored = 0;
  for (const SlotOutcome& o : result.slots) explored += o.explore_propensity > 0;
  EXPECT_EQ(explored, 1);
}

TEST_P(HotPathNoAllocTest, TheCounterSeesAnExplanationAllocate) {
  const auto catalog = SmallCatalog(GetParam());
  AuctionResult result;
  attex::v1::Explanation explanation;
  const int64_t before = Allocations();
  RunAuction(*catalog, AuctionConfig{}, Request(), kNowMs, absl::InfiniteFuture(), &result,
             &explanation);
  EXPECT_GT(Allocations(), before);
  EXPECT_EQ(explanation.slots_size(), 4);
}

INSTANTIATE_TEST_SUITE_P(EveryKeyFormat, HotPathNoAllocTest,
                         ::testing::Values(attention::KeyFormat::kFloat32,
                                           attention::KeyFormat::kBfloat16,
                                           attention::KeyFormat::kInt8),
                         [](const auto& info) {
                           return std::string(attention::KeyFormatName(info.param));
                         });

}  // namespace
}  // namespace attex::auction
