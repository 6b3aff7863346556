// The campaign change feed: changes committed through another store (another
// replica) arrive in change order, a change committed between Open and Start
// is read rather than missed, and a feed whose connection is cut reconnects
// and catches up.
#include "store/pg_campaign_feed.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/testing/campaign_builder.h"
#include "tests/testing/test_store.h"

namespace attex::store {
namespace {

using attex::v1::Campaign;

// What a feed applied ("name@version", in order), awaited by the test.
class Received {
 public:
  PgCampaignFeed::Apply Sink() {
    return [this](std::vector<Campaign> changed) {
      absl::MutexLock lock(&mu_);
      for (Campaign& c : changed) got_.push_back(c.name() + "@" + std::to_string(c.version()));
    };
  }
  // Waits until at least `n` changes came (a guard of 30 s against a hang)
  // and answers them.
  std::vector<std::string> Await(size_t n) {
    absl::MutexLock lock(&mu_);
    wanted_ = n;
    mu_.AwaitWithTimeout(absl::Condition(this, &Received::Enough), absl::Seconds(30));
    return got_;
  }

 private:
  bool Enough() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return got_.size() >= wanted_; }

  absl::Mutex mu_;
  std::vector<std::string> got_ ABSL_GUARDED_BY(mu_);
  size_t wanted_ ABSL_GUARDED_BY(mu_) = 0;
};

Campaign Named(const std::string& name) {
  return attex::testing::CampaignBuilder().Advertiser("acc-1").Name(name).Build();
}

class PgCampaignFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(place_.ok());
    auto store = place_.Open();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  attex::testing::TestStore place_{attex::testing::Backend::kPostgres};
  std::unique_ptr<Store> store_;
};

TEST_F(PgCampaignFeedTest, ChangesThroughAnotherStoreArriveInChangeOrder) {
  auto feed = PgCampaignFeed::Open(place_.dsn());
  ASSERT_TRUE(feed.ok()) << feed.status();
  Received received;
  (*feed)->Start(received.Sink());
  auto c = store_->InsertCampaign(Named("a"), 1);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(store_->InsertCampaign(Named("b"), 1).ok());
  ASSERT_TRUE(store_->UpdateCampaign(*c, 1, 2).ok());
  // Each wakeup reads what is committed by then, so "a" may come at
  // version 1 and again at 2, or at 2 only; it ends at 2, after "b".
  std::vector<std::string> got = received.Await(2);
  while (got.back() != "a@2" && got.size() < 3) got = received.Await(got.size() + 1);
  EXPECT_EQ(got.back(), "a@2");
  EXPECT_NE(std::find(got.begin(), got.end(), "b@1"), got.end());
}

TEST_F(PgCampaignFeedTest, ChangeBetweenOpenAndStartIsReadNotMissed) {
  auto feed = PgCampaignFeed::Open(place_.dsn());
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_TRUE(store_->InsertCampaign(Named("meanwhile"), 1).ok());
  Received received;
  (*feed)->Start(received.Sink());
  EXPECT_EQ(received.Await(1), std::vector<std::string>{"meanwhile@1"});
}

TEST_F(PgCampaignFeedTest, CutConnectionReconnectsAndCatchesUp) {
  auto feed = PgCampaignFeed::Open(place_.dsn(), absl::Hours(1));  // No poll to help.
  ASSERT_TRUE(feed.ok()) << feed.status();
  Received received;
  (*feed)->Start(received.Sink());
  ASSERT_TRUE(store_->InsertCampaign(Named("before"), 1).ok());
  ASSERT_EQ(received.Await(1).size(), 1u);
  // Every other connection to the database goes, the feed's among them
  // (the store's too: it reconnects on its next call).
  ASSERT_TRUE(place_
                  .Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid()")
                  .ok());
  absl::StatusOr<Campaign> after = store_->InsertCampaign(Named("after"), 1);
  if (!after.ok()) after = store_->InsertCampaign(Named("after"), 1);  // The lost connection.
  ASSERT_TRUE(after.ok()) << after.status();
  const std::vector<std::string> got = received.Await(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], "after@1");
}

}  // namespace
}  // namespace attex::store
