// A replica's budget slices against a real Redis and real books (SQLite
// here; the slicer reads any Store's spend): two catalogue managers stand
// for two replicas of one fleet.
#include "server/budget_slicer.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "attention/model.h"
#include "gtest/gtest.h"
#include "store/redis.h"
#include "store/redis_slices.h"
#include "store/store.h"
#include "tests/testing/billing_events.h"
#include "tests/testing/campaign_builder.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/temp_dir.h"

namespace attex::server {
namespace {

constexpr int64_t kPrice = 2'000;  // One impression at $2 CPM.
constexpr int64_t kInitialSlice = 10'000;

struct Replica {
  std::unique_ptr<CatalogManager> catalog;
  std::unique_ptr<BudgetSlicer> slicer;
};

class BudgetSlicerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    auto store = store::OpenSqliteStore(dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // A campaign in the books with a total budget of `budget` micros.
  attex::v1::Campaign AddCampaign(int64_t budget) {
    auto c = store_->InsertCampaign(testing::CampaignBuilder()
                                        .Advertiser("acc-3")
                                        .Name("sliced")
                                        .Status(attex::v1::CAMPAIGN_STATUS_ACTIVE)
                                        .BidCpm(2'000'000)
                                        .TotalBudget(budget)
                                        .Creative("banner")
                                        .Features({"kw:shoes"})
                                        .Build(),
                                    Now());
    EXPECT_TRUE(c.ok()) << c.status();
    return *c;
  }

  Replica Start(const std::string& id, const std::vector<attex::v1::Campaign>& campaigns,
                absl::Duration lease = absl::Seconds(30)) {
    Replica r;
    CatalogOptions options;
    options.ann_min_ads = 0;
    options.budget_slices = true;
    r.catalog = std::make_unique<CatalogManager>(attention::Model::Default(), options);
    for (const auto& c : campaigns) r.catalog->Upsert(c);
    r.catalog->Publish();
    SliceOptions slices;
    slices.redis_addr = redis_->addr();
    slices.replica_id = id;
    slices.lease = lease;
    slices.initial_slice_micros = kInitialSlice;
    r.slicer =
        std::make_unique<BudgetSlicer>(slices, Slices(id, lease), r.catalog.get(), store_.get());
    return r;
  }

  std::unique_ptr<store::RedisSlices> Slices(const std::string& id,
                                             absl::Duration lease = absl::Seconds(30)) {
    auto client = store::RedisClient::Connect(redis_->addr());
    EXPECT_TRUE(client.ok()) << client.status();
    return std::make_unique<store::RedisSlices>(*std::move(client), id, lease);
  }

  int64_t Held(const std::string& campaign) {
    auto holders = Slices("reader")->Holders(campaign);
    EXPECT_TRUE(holders.ok()) << holders.status();
    int64_t sum = 0;
    for (const auto& [replica, micros] : *holders) sum += micros;
    return sum;
  }

  // Reserves impressions on `r` until its slice refuses; answers how many.
  static int ReserveAll(Replica& r, const std::string& campaign, int64_t now_ms) {
    auto budget = r.catalog->Budget(campaign);
    int n = 0;
    while (n < 10'000 && budget->TryReserve(kPrice, now_ms)) ++n;
    return n;
  }

  static int64_t Now() { return absl::ToUnixMillis(absl::Now()); }

  testing::TempDir dir_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(BudgetSlicerTest, NothingIsPlacedBeforeTheFirstLeaseAndThenOnlyWithinTheSlice) {
  const auto c = AddCampaign(1'000'000);
  Replica a = Start("a", {c});
  EXPECT_EQ(ReserveAll(a, c.id(), Now()), 0);  // Sliced, and no slice yet.
  ASSERT_TRUE(a.slicer->Round(Now()).ok());
  EXPECT_EQ(a.catalog->Budget(c.id())->slice_granted(), kInitialSlice);
  EXPECT_EQ(ReserveAll(a, c.id(), Now()), kInitialSlice / kPrice);
  EXPECT_EQ(Held(c.id()), kInitialSlice);
}

TEST_F(BudgetSlicerTest, TwoReplicasTogetherPlaceAtMostTheBudget) {
  const int64_t budget = 25 * kPrice;
  const auto c = AddCampaign(budget);
  Replica a = Start("a", {c});
  Replica b = Start("b", {c});
  int placed = 0;
  for (int round = 0; round < 20; ++round) {
    const int64_t now = Now() + round * 1'000;  // Past each renewal period's need check.
    ASSERT_TRUE(a.slicer->Round(now).ok());
    placed += ReserveAll(a, c.id(), now);
    ASSERT_TRUE(b.slicer->Round(now).ok());
    placed += ReserveAll(b, c.id(), now);
    EXPECT_LE(Held(c.id()), budget) << round;
  }
  // Nothing billed: the reservations hold the budget, and no more.
  EXPECT_EQ(placed, 25);
}

TEST_F(BudgetSlicerTest, BilledSpendComesFromTheBooksAndShrinksWhatIsGranted) {
  const int64_t budget = 20 * kPrice;
  const auto c = AddCampaign(budget);
  // Another replica billed 15 impressions: in the books, not in this one.
  for (int i = 0; i < 15; ++i) {
    auto recorded = store_->RecordEvent(
        testing::TestImpression("token-" + std::to_string(i), c.id(), kPrice, Now(), 80, 10));
    ASSERT_TRUE(recorded.ok()) << recorded.status();
  }
  Replica a = Start("a", {c});
  ASSERT_TRUE(a.slicer->Round(Now()).ok());
  auto state = a.catalog->Budget(c.id());
  EXPECT_EQ(state->total(), 15 * kPrice);
  EXPECT_EQ(state->slice_granted(), 5 * kPrice);  // All that is left, under the minimum slice.
  EXPECT_EQ(ReserveAll(a, c.id(), Now()), 5);
}

TEST_F(BudgetSlicerTest, ASliceGrowsWithTheCampaignsSpendRate) {
  const auto c = AddCampaign(1'000'000'000);
  Replica a = Start("a", {c}, absl::Seconds(3));
  int64_t now = Now();
  ASSERT_TRUE(a.slicer->Round(now).ok());
  EXPECT_EQ(a.catalog->Budget(c.id())->slice_granted(), kInitialSlice);
  // Each 100 ms it places its whole slice: the next slices grow to twice
  // what a third of the lease (1 s) would place at that rate.
  for (int i = 0; i < 8; ++i) {
    ReserveAll(a, c.id(), now);
    now += 100;
    ASSERT_TRUE(a.slicer->Round(now).ok());
  }
  EXPECT_GT(a.catalog->Budget(c.id())->slice_granted(), 10 * kInitialSlice);
}

TEST_F(BudgetSlicerTest, StopGivesBackAllButWhatIsReserved) {
  const auto c = AddCampaign(1'000'000);
  Replica a = Start("a", {c});
  ASSERT_TRUE(a.slicer->Round(Now()).ok());
  ASSERT_TRUE(a.catalog->Budget(c.id())->TryReserve(kPrice, Now()));
  a.slicer->Stop();
  EXPECT_EQ(Held(c.id()), kPrice);
}

TEST_F(BudgetSlicerTest, WithRedisGoneTheSliceRunsOutAtTheLeasesEnd) {
  const auto c = AddCampaign(1'000'000);
  Replica a = Start("a", {c}, absl::Seconds(3));
  const int64_t now = Now();
  ASSERT_TRUE(a.slicer->Round(now).ok());
  redis_->Kill();
  const int64_t later = now + 1'500;  // Due for renewal (a third of the lease).
  EXPECT_EQ(a.slicer->Round(later).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(a.slicer->stats().failures, 1);
  auto state = a.catalog->Budget(c.id());
  EXPECT_GT(state->SliceRoom(later), 0);        // Still placing from the slice held...
  EXPECT_EQ(state->SliceRoom(now + 3'000), 0);  // ...until its lease would have ended.
}

TEST_F(BudgetSlicerTest, ACampaignThatStopsRunningGivesItsSliceBack) {
  auto c = AddCampaign(1'000'000);
  Replica a = Start("a", {c});
  ASSERT_TRUE(a.slicer->Round(Now()).ok());
  EXPECT_EQ(Held(c.id()), kInitialSlice);
  c.set_status(attex::v1::CAMPAIGN_STATUS_PAUSED);
  c.set_version(c.version() + 1);
  a.catalog->Upsert(c);
  a.catalog->Publish();
  ASSERT_TRUE(a.slicer->Round(Now()).ok());
  EXPECT_EQ(Held(c.id()), 0);
}

}  // namespace
}  // namespace attex::server
