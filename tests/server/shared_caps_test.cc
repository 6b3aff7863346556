// Frequency caps shared by two replicas through a real Redis.
#include "server/shared_caps.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "auction/frequency.h"
#include "gtest/gtest.h"
#include "store/redis.h"
#include "tests/testing/redis_server.h"

namespace attex::server {
namespace {

constexpr int64_t kPeriodMs = 60'000;

struct Replica {
  std::unique_ptr<auction::FrequencyCaps> caps;
  std::unique_ptr<SharedCaps> shared;
};

class SharedCapsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
  }

  Replica Start(const std::string& id) {
    Replica r;
    r.caps = std::make_unique<auction::FrequencyCaps>();
    auto client = store::RedisClient::Connect(redis_->addr());
    EXPECT_TRUE(client.ok()) << client.status();
    r.shared = std::make_unique<SharedCaps>(r.caps.get(), *std::move(client), id);
    r.caps->set_observer(r.shared.get());
    return r;
  }

  static bool Allows(Replica& r, int cap) {
    return r.caps->Allows(user_, campaign_, cap, kPeriodMs, Now());
  }
  static void Place(Replica& r) { r.caps->Record(user_, campaign_, kPeriodMs, Now()); }
  static void Sync(Replica& r) { ASSERT_TRUE(r.shared->Round(Now()).ok()); }
  static int64_t Now() { return absl::ToUnixMillis(absl::Now()); }

  static inline const uint64_t user_ = auction::FrequencyCaps::UserKey("alice");
  static inline const uint64_t campaign_ = auction::FrequencyCaps::CampaignKey("cmp-1");
  std::unique_ptr<testing::RedisServer> redis_;
};

TEST_F(SharedCapsTest, PlacementsOnOneReplicaCapTheUserOnAnother) {
  Replica a = Start("a");
  Replica b = Start("b");
  Place(a);
  Place(a);
  Sync(a);
  EXPECT_TRUE(Allows(b, 2));  // b knows nothing of the pair yet: it asks.
  Sync(b);
  EXPECT_FALSE(Allows(b, 2));
  EXPECT_TRUE(Allows(b, 3));
  EXPECT_EQ(a.shared->stats().recorded, 2);
}

TEST_F(SharedCapsTest, EachReplicaLearnsTheOthersPlacementsAfterItsOwn) {
  Replica a = Start("a");
  Replica b = Start("b");
  Place(a);
  Place(a);
  Sync(a);
  ASSERT_TRUE(Allows(b, 3));
  Place(b);  // Counted here before the read, and written with it.
  Sync(b);
  EXPECT_FALSE(Allows(b, 3));  // 2 from a, 1 from b.
  // a has not read since: it allows one more (the bound: one a replica),
  // and knows all four after its own.
  EXPECT_TRUE(Allows(a, 3));
  Place(a);
  Sync(a);
  EXPECT_FALSE(Allows(a, 4));
  EXPECT_TRUE(Allows(a, 5));
}

TEST_F(SharedCapsTest, CapsSurviveAReplicasRestart) {
  {
    Replica a = Start("a");
    Place(a);
    Place(a);
    a.shared->Stop();  // Writes what it counted.
  }
  Replica again = Start("a");
  EXPECT_TRUE(Allows(again, 2));  // Nothing in memory after the restart...
  Sync(again);
  EXPECT_FALSE(Allows(again, 2));  // ...but Redis has both placements.
}

TEST_F(SharedCapsTest, RedisKeysHoldHashesNeverTheUserId) {
  Replica a = Start("a");
  Place(a);
  Sync(a);
  auto client = store::RedisClient::Connect(redis_->addr());
  ASSERT_TRUE(client.ok());
  auto keys = (*client)->Run({{"KEYS", "*"}});
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->front().elements.size(), 1u);
  const std::string key = keys->front().elements[0].str;
  EXPECT_EQ(key, SharedCaps::Key(user_, campaign_));
  EXPECT_EQ(key.find("alice"), std::string::npos);
  auto ttl = (*client)->Run({{"PTTL", key}});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->front().integer, 0);  // Expires with the cap's period.
  EXPECT_LE(ttl->front().integer, kPeriodMs);
}

TEST_F(SharedCapsTest, HeartbeatsCountTheLiveReplicasAndAStoppedOneLeaves) {
  Replica a = Start("a");
  Replica b = Start("b");
  auto live = a.shared->Heartbeat();
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(*live, 1);
  live = b.shared->Heartbeat();
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(*live, 2);
  EXPECT_EQ(*a.shared->Heartbeat(), 2);  // A heartbeat again is not another replica.
  b.shared->Stop();
  EXPECT_EQ(*a.shared->Heartbeat(), 1);
}

TEST_F(SharedCapsTest, WithRedisGoneCapsAreTheReplicasOwn) {
  Replica a = Start("a");
  redis_->Kill();
  Place(a);
  EXPECT_EQ(a.shared->Round(Now()).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(a.shared->stats().failures, 1);
  EXPECT_FALSE(Allows(a, 1));  // Still counted here.
}

}  // namespace
}  // namespace attex::server
