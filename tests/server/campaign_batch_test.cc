// Campaign changes group-committed on the work queue: concurrent callers'
// changes share store transactions, and each answered change is durable
// and in the published catalogue.
#include "server/campaign_batch.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "attention/model.h"
#include "gtest/gtest.h"
#include "server/core.h"
#include "store/store.h"
#include "tests/testing/campaign_builder.h"
#include "tests/testing/temp_dir.h"

namespace attex::server {
namespace {

using attex::testing::TempDir;
using attex::v1::Campaign;

constexpr int64_t kBatchNowMs = 1'700'000'000'000;
constexpr int kCampaigns = 8;
constexpr int kChangesEach = 25;

Campaign NewCampaign(int i) {
  return attex::testing::CampaignBuilder()
      .Advertiser("acc-3")
      .Name(absl::StrCat("campaign ", i))
      .Status(attex::v1::CAMPAIGN_STATUS_ACTIVE)
      .BidCpm(1'000'000)
      .TotalBudget(100'000'000)
      .Creative("banner")
      .CreativeId("cr-1")
      .Features({absl::StrCat("kw:", i)})
      .Build();
}

store::CampaignUpdate BidChange(const std::string& id, int64_t bid) {
  return {.id = id, .edit = [bid](const Campaign& stored) -> absl::StatusOr<Campaign> {
            Campaign c = stored;
            c.set_bid_cpm_micros(bid);
            return c;
          }};
}

std::unique_ptr<Core> OpenCore(const std::string& dir) {
  auto store = store::OpenSqliteStore(dir);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return nullptr;
  ServerOptions options;
  options.data_dir = dir;
  return std::make_unique<Core>(options, *std::move(store), attention::Model::Default(),
                                std::string(32, 'k'));
}

TEST(CampaignBatchTest, ConcurrentUpdatesShareCommitsAndAreAllDurable) {
  TempDir dir;
  std::vector<std::string> ids;
  {
    std::unique_ptr<Core> core = OpenCore(dir.path());
    ASSERT_NE(core, nullptr);
    std::vector<Campaign> campaigns;
    for (int i = 0; i < kCampaigns; ++i) campaigns.push_back(NewCampaign(i));
    auto stored = core->store->InsertCampaigns(std::move(campaigns), kBatchNowMs);
    ASSERT_TRUE(stored.ok()) << stored.status();
    for (const Campaign& c : *stored) {
      core->catalog_manager.Upsert(c);
      ids.push_back(c.id());
    }
    core->catalog_manager.Publish();

    // The queue's thread waits while the callers add their changes, as it
    // would while committing the previous group, so that they pile up.
    absl::Notification go;
    core->queue.Submit([&go]() -> store::WorkQueue::Completion {
      go.WaitForNotification();
      return nullptr;
    });
    struct Call {
      Campaign response;
      std::shared_ptr<absl::Status> status = std::make_shared<absl::Status>();
    };
    std::vector<std::vector<Call>> calls(kCampaigns, std::vector<Call>(kChangesEach));
    std::atomic<int> answered{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < kCampaigns; ++t) {
      callers.emplace_back([&, t] {
        for (int i = 0; i < kChangesEach; ++i) {
          Call* call = &calls[t][i];
          core->queue.Submit([&, t, i, call]() -> store::WorkQueue::Completion {
            core->campaign_changes.Add(BidChange(ids[t], 1'000'000 + i + 1), &call->response,
                                       call->status);
            return [&answered] { answered.fetch_add(1); };
          });
        }
      });
    }
    for (std::thread& t : callers) t.join();
    go.Notify();
    core->queue.Stop();  // Runs what is queued: every change is answered.
    ASSERT_EQ(answered.load(), kCampaigns * kChangesEach);

    EXPECT_EQ(core->campaign_changes.changes(), kCampaigns * kChangesEach);
    EXPECT_GE(core->campaign_changes.commits(), 1);
    EXPECT_LT(core->campaign_changes.commits(), kCampaigns * kChangesEach);
    for (int t = 0; t < kCampaigns; ++t) {
      for (int i = 0; i < kChangesEach; ++i) {
        ASSERT_TRUE(calls[t][i].status->ok()) << *calls[t][i].status;
        // Each campaign's changes are stored in the order they came.
        EXPECT_EQ(calls[t][i].response.version(), i + 2);
        EXPECT_EQ(calls[t][i].response.bid_cpm_micros(), 1'000'000 + i + 1);
      }
    }
    // Published: the catalogue holds each campaign's last change.
    const auto catalog = core->catalog_manager.Current();
    for (const auto& c : catalog->campaigns) {
      EXPECT_EQ(c->version, kChangesEach + 1) << c->id;
      EXPECT_EQ(c->bid_cpm_micros, 1'000'000 + kChangesEach) << c->id;
    }
  }
  // Durable: a new store on the same data dir has every change.
  auto reopened = store::OpenSqliteStore(dir.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  for (const std::string& id : ids) {
    auto c = (*reopened)->GetCampaign(id);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->version(), kChangesEach + 1);
    EXPECT_EQ(c->bid_cpm_micros(), 1'000'000 + kChangesEach);
  }
}

TEST(CampaignBatchTest, RefusedChangeFailsAloneAndTheRestOfTheGroupCommits) {
  TempDir dir;
  std::unique_ptr<Core> core = OpenCore(dir.path());
  ASSERT_NE(core, nullptr);
  auto stored = core->store->InsertCampaign(NewCampaign(0), kBatchNowMs);
  ASSERT_TRUE(stored.ok()) << stored.status();
  core->catalog_manager.Upsert(*stored);
  core->catalog_manager.Publish();
  core->queue.Stop();  // This thread is the writer now.

  Campaign first, refused, missing, last;
  auto first_status = std::make_shared<absl::Status>();
  auto refused_status = std::make_shared<absl::Status>();
  auto missing_status = std::make_shared<absl::Status>();
  auto last_status = std::make_shared<absl::Status>();
  core->campaign_changes.Add(BidChange(stored->id(), 2'000'000), &first, first_status);
  core->campaign_changes.Add(
      {.id = stored->id(),
       .edit = [](const Campaign&) -> absl::StatusOr<Campaign> {
         return absl::PermissionDeniedError("campaign belongs to another advertiser");
       }},
      &refused, refused_status);
  core->campaign_changes.Add(BidChange("cmp-99", 1), &missing, missing_status);
  core->campaign_changes.Add(BidChange(stored->id(), 3'000'000), &last, last_status);
  const CampaignCommitSummary summary = core->campaign_changes.Commit(kBatchNowMs + 1);
  EXPECT_EQ(summary.changes, 4);
  EXPECT_EQ(summary.stored, 2);
  EXPECT_EQ(core->campaign_changes.commits(), 1);
  ASSERT_TRUE(first_status->ok()) << *first_status;
  EXPECT_EQ(first.version(), 2);
  EXPECT_EQ(refused_status->code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(missing_status->code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(last_status->ok()) << *last_status;
  EXPECT_EQ(last.version(), 3);
  EXPECT_EQ(last.bid_cpm_micros(), 3'000'000);
  core->catalog_manager.Publish();
  EXPECT_EQ(core->catalog_manager.Current()->campaigns[0]->bid_cpm_micros, 3'000'000);
}

}  // namespace
}  // namespace attex::server
