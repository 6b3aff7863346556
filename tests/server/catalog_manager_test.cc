#include "server/catalog_manager.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attention/model.h"
#include "gtest/gtest.h"

namespace attex::server {
namespace {

using attex::v1::Campaign;

constexpr int64_t kNowMs = 1'700'000'000'000;

Campaign MakeCampaign(const std::string& id, int creatives,
                      attex::v1::CampaignStatus status = attex::v1::CAMPAIGN_STATUS_ACTIVE) {
  Campaign c;
  c.set_id(id);
  c.set_advertiser_id("acc-3");
  c.set_name("campaign " + id);
  c.set_status(status);
  c.set_bid_cpm_micros(2'000'000);
  c.mutable_budget()->set_total_micros(100'000'000);
  c.set_version(1);
  for (int i = 0; i < creatives; ++i) {
    auto* cr = c.add_creatives();
    cr->set_id(absl::StrCat("cr-", i + 1));
    cr->set_format(i % 2 == 0 ? "banner" : "native");
    cr->add_features(absl::StrCat("kw:", id, "-", i));
  }
  return c;
}

std::vector<std::string> CampaignIds(const auction::Catalog& catalog) {
  std::vector<std::string> ids;
  for (const auto& c : catalog.campaigns) ids.push_back(c->id);
  return ids;
}

class CatalogManagerTest : public testing::Test {
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
  EXPECT_EQ(snapshot->keys.size(), 3u * snapshot->model->d_model());
  for (size_t i = 0; i < snapshot->ads.size(); ++i) {
    EXPECT_EQ(snapshot->ads[i].campaign, 0);
    EXPECT_EQ(snapshot->ads[i].creative, static_cast<int32_t>(i));
  }
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
  manager_.SetModel(model);
  auto snapshot = manager_.Current();
  EXPECT_NE(snapshot.get(), old_snapshot.get());
  EXPECT_EQ(snapshot->model.get(), model.get());
  EXPECT_EQ(manager_.model().get(), model.get());
  EXPECT_EQ(snapshot->ads.size(), 2u);
  EXPECT_EQ(snapshot->campaigns[0]->budget.get(), manager_.Budget("cmp-1").get());
}

}  // namespace
}  // namespace attex::server
