#include "server/catalog_manager.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attention/model.h"
#include "gtest/gtest.h"
#include "tests/testing/campaign_builder.h"
#include "tests/testing/poll.h"

namespace attex::server {
namespace {

using attex::v1::Campaign;

constexpr int64_t kNowMs = 1'700'000'000'000;

Campaign MakeCampaign(const std::string& id, int creatives,
                      attex::v1::CampaignStatus status = attex::v1::CAMPAIGN_STATUS_ACTIVE) {
  attex::testing::CampaignBuilder c;
  c.Id(id)
      .Advertiser("acc-3")
      .Name("campaign " + id)
      .Status(status)
      .BidCpm(2'000'000)
      .TotalBudget(100'000'000)
      .Version(1);
  for (int i = 0; i < creatives; ++i) {
    c.Creative(i % 2 == 0 ? "banner" : "native")
        .CreativeId(absl::StrCat("cr-", i + 1))
        .Features({absl::StrCat("kw:", id, "-", i)});
  }
  return c.Build();
}

std::vector<std::string> CampaignIds(const auction::Catalog& catalog) {
  std::vector<std::string> ids;
  for (const auto& c : catalog.campaigns) ids.push_back(c->id);
  return ids;
}

class CatalogManagerTest : public ::testing::Test {
 protected:
  CatalogManager manager_{attention::Model::Default()};
};

TEST_F(CatalogManagerTest, StartsWithAnEmptySnapshot) {
  auto snapshot = manager_.Current();
  ASSERT_NE(snapshot, nullptr);
  EXPECT_TRUE(snapshot->campaigns.empty());
  EXPECT_TRUE(snapshot->ads.empty());
  ASSERT_NE(snapshot->model, nullptr);
}

TEST_F(CatalogManagerTest, UpsertIsInvisibleUntilPublish) {
  manager_.Upsert(MakeCampaign("cmp-1", 2));
  EXPECT_TRUE(manager_.Current()->ads.empty());
  manager_.Publish();
  EXPECT_EQ(manager_.Current()->ads.size(), 2u);
}

TEST_F(CatalogManagerTest, PublishedCampaignContributesOneAdPerCreative) {
  manager_.Upsert(MakeCampaign("cmp-1", 3));
  manager_.Publish();
  auto snapshot = manager_.Current();
  ASSERT_EQ(snapshot->campaigns.size(), 1u);
  EXPECT_EQ(snapshot->campaigns[0]->id, "cmp-1");
  EXPECT_EQ(snapshot->campaigns[0]->creatives.size(), 3u);
  ASSERT_EQ(snapshot->ads.size(), 3u);
  EXPECT_EQ(snapshot->active_ads, 3);
  EXPECT_EQ(snapshot->active_campaigns, 1);
  EXPECT_EQ(snapshot->tiled_keys.rows(), 3);
  // Each creative once, the rows grouped by format (BuildCatalog).
  std::set<int32_t> creatives;
  for (size_t i = 0; i < snapshot->ads.size(); ++i) {
    EXPECT_EQ(snapshot->ads[i].campaign, 0);
    creatives.insert(snapshot->ads[i].creative);
    if (i > 0) {
      EXPECT_LE(snapshot->ad_format[i - 1], snapshot->ad_format[i]);
    }
  }
  EXPECT_EQ(creatives, (std::set<int32_t>{0, 1, 2}));
}

TEST_F(CatalogManagerTest, ArchivedCampaignsAreLeftOut) {
  manager_.Upsert(MakeCampaign("cmp-1", 2));
  manager_.Upsert(MakeCampaign("cmp-2", 4, attex::v1::CAMPAIGN_STATUS_ARCHIVED));
  manager_.Publish();
  auto snapshot = manager_.Current();
  EXPECT_EQ(CampaignIds(*snapshot), std::vector<std::string>{"cmp-1"});
  EXPECT_EQ(snapshot->ads.size(), 2u);
}

TEST_F(CatalogManagerTest, PausedCampaignsStayButAreNotCountedActive) {
  manager_.Upsert(MakeCampaign("cmp-1", 2, attex::v1::CAMPAIGN_STATUS_PAUSED));
  manager_.Publish();
  auto snapshot = manager_.Current();
  EXPECT_EQ(snapshot->ads.size(), 2u);
  EXPECT_EQ(snapshot->active_ads, 0);
  EXPECT_EQ(snapshot->active_campaigns, 0);
}

TEST_F(CatalogManagerTest, ArchivingAPublishedCampaignRemovesItsAds) {
  manager_.Upsert(MakeCampaign("cmp-1", 2));
  manager_.Publish();
  manager_.Upsert(MakeCampaign("cmp-1", 2, attex::v1::CAMPAIGN_STATUS_ARCHIVED));
  manager_.Publish();
  EXPECT_TRUE(manager_.Current()->campaigns.empty());
  EXPECT_TRUE(manager_.Current()->ads.empty());
}

TEST_F(CatalogManagerTest, UpdatingACampaignReplacesItsAds) {
  manager_.Upsert(MakeCampaign("cmp-1", 2));
  manager_.Publish();
  Campaign updated = MakeCampaign("cmp-1", 3);
  updated.set_version(2);
  manager_.Upsert(updated);
  manager_.Publish();
  auto snapshot = manager_.Current();
  ASSERT_EQ(snapshot->campaigns.size(), 1u);
  EXPECT_EQ(snapshot->campaigns[0]->version, 2);
  EXPECT_EQ(snapshot->ads.size(), 3u);
}

TEST_F(CatalogManagerTest, CampaignsAreListedInNumericIdOrder) {
  manager_.Upsert(MakeCampaign("cmp-10", 1));
  manager_.Upsert(MakeCampaign("cmp-9", 1));
  manager_.Upsert(MakeCampaign("cmp-2", 1));
  manager_.Publish();
  EXPECT_EQ(CampaignIds(*manager_.Current()),
            (std::vector<std::string>{"cmp-2", "cmp-9", "cmp-10"}));
}

TEST_F(CatalogManagerTest, BudgetIsTheSameObjectAcrossCalls) {
  auto first = manager_.Budget("cmp-1");
  auto second = manager_.Budget("cmp-1");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_NE(manager_.Budget("cmp-2").get(), first.get());
}

TEST_F(CatalogManagerTest, BudgetIsSharedWithEverySnapshot) {
  auto budget = manager_.Budget("cmp-1");
  manager_.Upsert(MakeCampaign("cmp-1", 2));
  manager_.Publish();
  auto before = manager_.Current();
  ASSERT_EQ(before->campaigns.size(), 1u);
  EXPECT_EQ(before->campaigns[0]->budget.get(), budget.get());

  budget->Charge(2500, kNowMs);
  EXPECT_EQ(before->campaigns[0]->budget->total(), 2500);

  Campaign updated = MakeCampaign("cmp-1", 1);
  updated.set_version(2);
  manager_.Upsert(updated);
  manager_.Publish();
  auto after = manager_.Current();
  ASSERT_EQ(after->campaigns.size(), 1u);
  EXPECT_EQ(after->campaigns[0]->budget.get(), budget.get());
  EXPECT_EQ(after->campaigns[0]->budget->total(), 2500);
}

TEST_F(CatalogManagerTest, SnapshotTakenBeforePublishStaysUnchanged) {
  manager_.Upsert(MakeCampaign("cmp-1", 2));
  manager_.Publish();
  auto old_snapshot = manager_.Current();

  manager_.Upsert(MakeCampaign("cmp-2", 3));
  Campaign updated = MakeCampaign("cmp-1", 1);
  updated.set_version(2);
  manager_.Upsert(updated);
  manager_.Publish();

  EXPECT_NE(manager_.Current().get(), old_snapshot.get());
  EXPECT_EQ(CampaignIds(*old_snapshot), std::vector<std::string>{"cmp-1"});
  EXPECT_EQ(old_snapshot->campaigns[0]->version, 1);
  EXPECT_EQ(old_snapshot->ads.size(), 2u);
  EXPECT_EQ(manager_.Current()->ads.size(), 4u);
}

TEST_F(CatalogManagerTest, PublishWithoutChangesKeepsTheSnapshot) {
  manager_.Upsert(MakeCampaign("cmp-1", 2));
  manager_.Publish();
  auto snapshot = manager_.Current();
  manager_.Publish();
  EXPECT_EQ(manager_.Current().get(), snapshot.get());
}

TEST_F(CatalogManagerTest, SetModelReembedsAndPublishes) {
  manager_.Upsert(MakeCampaign("cmp-1", 2));
  manager_.Publish();
  auto old_snapshot = manager_.Current();
  std::shared_ptr<const attention::Model> model = attention::Model::Default();
  // The campaigns as the store has them: the manager keeps no protos.
  Campaign stored = MakeCampaign("cmp-1", 3);
  stored.set_version(2);
  manager_.SetModel(model, {stored, MakeCampaign("cmp-2", 1)});
  auto snapshot = manager_.Current();
  EXPECT_NE(snapshot.get(), old_snapshot.get());
  EXPECT_EQ(snapshot->model.get(), model.get());
  EXPECT_EQ(manager_.model().get(), model.get());
  EXPECT_EQ(CampaignIds(*snapshot), (std::vector<std::string>{"cmp-1", "cmp-2"}));
  EXPECT_EQ(snapshot->campaigns[0]->version, 2);
  EXPECT_EQ(snapshot->ads.size(), 4u);
  EXPECT_EQ(snapshot->campaigns[0]->budget.get(), manager_.Budget("cmp-1").get());
}

TEST_F(CatalogManagerTest, ModelChangeKeepsCampaignsUpsertedWhileItEmbeds) {
  manager_.Upsert(MakeCampaign("cmp-1", 2));
  manager_.Publish();
  auto old_model = manager_.model();
  ASSERT_TRUE(manager_.BeginModelChange());
  EXPECT_FALSE(manager_.BeginModelChange());  // One at a time.
  // The store as read after BeginModelChange: cmp-1 only.
  attention::ModelConfig config;
  config.seed = 42;
  std::shared_ptr<const attention::Model> model = attention::Model::Default(config);
  auto prepared = manager_.PrepareModel(model, {MakeCampaign("cmp-1", 2)});
  // Meanwhile, on the writers' thread: a new campaign and a changed one,
  // served at once by the old model.
  manager_.Upsert(MakeCampaign("cmp-2", 1));
  Campaign changed = MakeCampaign("cmp-1", 3);
  changed.set_version(2);
  manager_.Upsert(changed);
  manager_.Publish();
  EXPECT_EQ(manager_.Current()->model.get(), old_model.get());
  EXPECT_EQ(manager_.Current()->ads.size(), 4u);

  manager_.InstallModel(std::move(prepared));
  auto snapshot = manager_.Current();
  EXPECT_EQ(snapshot->model.get(), model.get());
  EXPECT_EQ(CampaignIds(*snapshot), (std::vector<std::string>{"cmp-1", "cmp-2"}));
  EXPECT_EQ(snapshot->campaigns[0]->version, 2);
  EXPECT_EQ(snapshot->ads.size(), 4u);
  // Every key is the new model's.
  auto fresh = auction::CompileCampaign(MakeCampaign("cmp-2", 1), *model, manager_.Budget("cmp-2"));
  auto stale =
      auction::CompileCampaign(MakeCampaign("cmp-2", 1), *old_model, manager_.Budget("cmp-2"));
  EXPECT_EQ(snapshot->campaigns[1]->creatives[0].key, fresh->creatives[0].key);
  EXPECT_NE(snapshot->campaigns[1]->creatives[0].key, stale->creatives[0].key);
  EXPECT_TRUE(manager_.BeginModelChange());  // The change ended.
  manager_.AbandonModelChange();
}

TEST(CatalogManagerOptionsTest, PublishedCataloguesStoreKeysInTheChosenFormat) {
  for (const auto format : {attention::KeyFormat::kFloat32, attention::KeyFormat::kBfloat16,
                            attention::KeyFormat::kInt8}) {
    CatalogOptions options;
    options.key_format = format;
    CatalogManager manager(attention::Model::Default(), options);
    EXPECT_EQ(manager.Current()->tiled_keys.format(), format);
    manager.Upsert(MakeCampaign("cmp-1", 3));
    manager.Publish();
    auto snapshot = manager.Current();
    EXPECT_EQ(snapshot->tiled_keys.format(), format) << attention::KeyFormatName(format);
    EXPECT_EQ(snapshot->tiled_keys.rows(), 3);
  }
}

// Whether the current snapshot gets an index (built on the manager's own
// thread, which signals nothing: polled, for up to 30 s).
bool WaitForIndex(const CatalogManager& manager) {
  return attex::testing::PollUntil([&] { return manager.Current()->ann.get() != nullptr; }, 3000,
                                   absl::Milliseconds(10));
}

CatalogOptions AnnAt(int64_t min_ads) {
  CatalogOptions options;
  options.ann_min_ads = min_ads;
  return options;
}

TEST(CatalogManagerAnnTest, ACatalogueAtTheThresholdGetsAnIndexInTheBackground) {
  CatalogManager manager(attention::Model::Default(), AnnAt(40));
  manager.Upsert(MakeCampaign("cmp-1", 20));
  manager.Upsert(MakeCampaign("cmp-2", 20));
  manager.Publish();
  auto snapshot = manager.Current();
  ASSERT_TRUE(WaitForIndex(manager));
  // Attached to the very snapshot it was built from, over all its ads.
  EXPECT_EQ(manager.Current().get(), snapshot.get());
  EXPECT_EQ(snapshot->ann.get()->rows(), 40);
  // It finds the largest inner product with a query (here ad 7's key, and 0
  // against the bid column) that brute force finds among 40 ads.
  const int d = snapshot->model->d_model();
  ASSERT_EQ(snapshot->ann.get()->dims(), d + 1);
  std::vector<float> query(snapshot->Key(7).begin(), snapshot->Key(7).end());
  query.push_back(0.0f);
  int64_t best = -1;
  float best_dot = 0;
  for (int64_t i = 0; i < 40; ++i) {
    float dot = 0;
    for (int j = 0; j < d; ++j) dot += query[j] * snapshot->Key(i)[j];
    if (best < 0 || dot > best_dot) best = i, best_dot = dot;
  }
  std::vector<int64_t> found(1);
  ASSERT_EQ(snapshot->ann.get()->Search(query, absl::MakeSpan(found)), 1);
  EXPECT_EQ(found[0], best);
}

TEST(CatalogManagerAnnTest, ACatalogueBelowTheThresholdGetsNone) {
  CatalogManager manager(attention::Model::Default(), AnnAt(41));
  manager.Upsert(MakeCampaign("cmp-1", 20));
  manager.Upsert(MakeCampaign("cmp-2", 20));
  manager.Publish();
  const auto below = manager.Current();
  // The index thread builds one catalogue at a time, in order: once a later
  // catalogue at the threshold has its index, whatever had been queued
  // before it has been built, so an index of `below` would be there by now.
  manager.Upsert(MakeCampaign("cmp-3", 1));
  manager.Publish();
  ASSERT_TRUE(WaitForIndex(manager));
  EXPECT_EQ(below->ann.get(), nullptr);
}

TEST(CatalogManagerAnnTest, ZeroMinAdsNeverIndexes) {
  CatalogManager manager(attention::Model::Default(), AnnAt(0));
  manager.Upsert(MakeCampaign("cmp-1", 20));
  manager.Publish();
  // With 0 the manager starts no index thread: what Publish left is final.
  EXPECT_EQ(manager.Current()->ann.get(), nullptr);
}

TEST(CatalogManagerAnnTest, PausingACampaignKeepsTheIndexNewBidsAndKeysGetANewOne) {
  CatalogManager manager(attention::Model::Default(), AnnAt(10));
  manager.Upsert(MakeCampaign("cmp-1", 20));
  manager.Publish();
  ASSERT_TRUE(WaitForIndex(manager));
  // Held, so that a later index cannot take its address.
  const std::shared_ptr<const attention::AnnIndex> first_owner = manager.Current()->ann.shared();
  const attention::AnnIndex* first = first_owner.get();
  ASSERT_NE(first, nullptr);

  // Same ads, same keys: the next snapshot shares the index at once.
  Campaign paused = MakeCampaign("cmp-1", 20, attex::v1::CAMPAIGN_STATUS_PAUSED);
  paused.set_version(2);
  manager.Upsert(paused);
  manager.Publish();
  EXPECT_EQ(manager.Current()->ann.get(), first);

  // A new bid changes the index's bid column: a new build.
  Campaign rebid = MakeCampaign("cmp-1", 20, attex::v1::CAMPAIGN_STATUS_PAUSED);
  rebid.set_version(3);
  rebid.set_bid_cpm_micros(3'000'000);
  manager.Upsert(rebid);
  manager.Publish();
  ASSERT_TRUE(WaitForIndex(manager));
  const std::shared_ptr<const attention::AnnIndex> second_owner = manager.Current()->ann.shared();
  EXPECT_NE(second_owner.get(), first);

  // Another campaign's keys: a new build, over all 30 ads.
  manager.Upsert(MakeCampaign("cmp-2", 10));
  manager.Publish();
  ASSERT_TRUE(WaitForIndex(manager));
  EXPECT_NE(manager.Current()->ann.get(), first);
  EXPECT_NE(manager.Current()->ann.get(), second_owner.get());
  EXPECT_EQ(manager.Current()->ann.get()->rows(), 30);
}

}  // namespace
}  // namespace attex::server
