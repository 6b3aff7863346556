// PostgreSQL going away: while it is down the store answers UNAVAILABLE
// (retryable: recorded events answer duplicate), records nothing half way,
// and after it is back the next call reconnects and billing resumes.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/testing/billing_events.h"
#include "tests/testing/pg_cluster.h"

namespace attex::store {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

BillingEvent Impression(const std::string& token_hash) {
  return attex::testing::TestImpression(token_hash, "cmp-1", 1000, kNow, 70, 10);
}

TEST(PgOutageTest, StoreIsUnavailableWhileDownAndResumesAfter) {
  // A cluster of its own: stopping the shared one would stop other tests'.
  auto cluster = attex::testing::PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto dsn = (*cluster)->CreateDatabase();
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  auto store = OpenPgStore(*dsn);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_EQ(*(*store)->RecordEvent(Impression("a")), RecordResult::kAccepted);

  ASSERT_TRUE((*cluster)->Stop().ok());
  // The lost connection, then no server at all: both retryable.
  for (int i = 0; i < 2; ++i) {
    auto down = (*store)->RecordEvents({Impression("b"), Impression("a")});
    EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  }
  EXPECT_EQ((*store)->ListAccounts().status().code(), absl::StatusCode::kUnavailable);

  ASSERT_TRUE((*cluster)->Restart().ok());
  auto back = (*store)->RecordEvents({Impression("b"), Impression("a")});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*(*back)[0], RecordResult::kAccepted);
  EXPECT_EQ(*(*back)[1], RecordResult::kDuplicate);
  auto check = (*store)->CheckLedger();
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_TRUE(check->ok());
  EXPECT_EQ(check->events_checked, 2);
}

}  // namespace
}  // namespace attex::store
