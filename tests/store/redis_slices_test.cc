// Budget slices leased from a real Redis (tests/testing/redis_server.h).
#include "store/redis_slices.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "store/redis.h"
#include "tests/testing/redis_server.h"

namespace attex::store {
namespace {

class RedisSlicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = testing::RedisServer::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    redis_ = *std::move(started);
  }

  std::unique_ptr<RedisSlices> Replica(const std::string& id,
                                       absl::Duration lease = absl::Seconds(10)) {
    auto client = RedisClient::Connect(redis_->addr());
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return nullptr;
    return std::make_unique<RedisSlices>(*std::move(client), id, lease);
  }

  static int64_t Grant(RedisSlices& r, const std::string& campaign, int64_t asked,
                       int64_t remaining) {
    auto grants = r.Lease({{campaign, asked, remaining}});
    EXPECT_TRUE(grants.ok()) << grants.status();
    return grants.ok() ? grants->front().granted_micros : -1;
  }

  static std::map<std::string, int64_t> HoldersOf(RedisSlices& r, const std::string& campaign) {
    auto holders = r.Holders(campaign);
    EXPECT_TRUE(holders.ok()) << holders.status();
    std::map<std::string, int64_t> out;
    if (holders.ok()) out.insert(holders->begin(), holders->end());
    return out;
  }

  std::unique_ptr<testing::RedisServer> redis_;
};

TEST_F(RedisSlicesTest, ReplicasTogetherNeverHoldMoreThanRemains) {
  auto a = Replica("a");
  auto b = Replica("b");
  auto c = Replica("c");
  EXPECT_EQ(Grant(*a, "cmp-1", 60, 100), 60);
  EXPECT_EQ(Grant(*b, "cmp-1", 60, 100), 40);  // 60 held by a.
  EXPECT_EQ(Grant(*c, "cmp-1", 10, 100), 0);   // Nothing left.
  // A renewal replaces the replica's own slice, it does not add to it.
  EXPECT_EQ(Grant(*a, "cmp-1", 30, 100), 30);
  EXPECT_EQ(Grant(*c, "cmp-1", 50, 100), 30);
  const auto holders = HoldersOf(*a, "cmp-1");
  EXPECT_EQ(holders, (std::map<std::string, int64_t>{{"a", 30}, {"b", 40}, {"c", 30}}));
  // Spend billed meanwhile: the remaining is smaller than what is held, so
  // nothing more is granted and the asker's own slice goes.
  EXPECT_EQ(Grant(*b, "cmp-1", 40, 50), 0);
  EXPECT_EQ(HoldersOf(*a, "cmp-1").count("b"), 0);
  // Campaigns are apart.
  EXPECT_EQ(Grant(*b, "cmp-2", 40, 50), 40);
}

TEST_F(RedisSlicesTest, AGrantNeverFallsBelowWhatTheReplicaHoldsReserved) {
  auto a = Replica("a");
  auto b = Replica("b");
  EXPECT_EQ(Grant(*a, "cmp-1", 50, 100), 50);
  EXPECT_EQ(Grant(*b, "cmp-1", 50, 100), 50);
  // 40 of b's billed: 60 remain. a has placed all 50 of its slice and asks
  // to renew: it keeps the 50 it holds, though 60 - 50 = 10 would be left.
  auto grants = a->Lease({{"cmp-1", 60, 60, 50}});
  ASSERT_TRUE(grants.ok()) << grants.status();
  EXPECT_EQ(grants->front().granted_micros, 50);
  // So b, renewing, gets what is really left (60 - 50 = 10), not 50 again.
  EXPECT_EQ(Grant(*b, "cmp-1", 50, 60), 10);
}

TEST_F(RedisSlicesTest, OneRoundTripLeasesManyCampaigns) {
  auto a = Replica("a");
  std::vector<SliceRequest> requests;
  for (int i = 0; i < 100; ++i) requests.push_back({"cmp-" + std::to_string(i), 10 + i, 50});
  auto grants = a->Lease(requests);
  ASSERT_TRUE(grants.ok()) << grants.status();
  ASSERT_EQ(grants->size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ((*grants)[i].granted_micros, std::min(10 + i, 50)) << i;
}

TEST_F(RedisSlicesTest, ADeadReplicasSliceReturnsAfterTheLease) {
  auto dead = Replica("dead", absl::Milliseconds(300));
  auto live = Replica("live", absl::Milliseconds(300));
  EXPECT_EQ(Grant(*dead, "cmp-1", 100, 100), 100);
  EXPECT_EQ(Grant(*live, "cmp-1", 100, 100), 0);
  absl::SleepFor(absl::Milliseconds(400));  // "dead" renews no more.
  EXPECT_EQ(Grant(*live, "cmp-1", 100, 100), 100);
  EXPECT_EQ(HoldersOf(*live, "cmp-1"), (std::map<std::string, int64_t>{{"live", 100}}));
}

TEST_F(RedisSlicesTest, ReturnKeepsWhatIsReservedAndGivesBackTheRest) {
  auto a = Replica("a");
  auto b = Replica("b");
  EXPECT_EQ(Grant(*a, "cmp-1", 80, 100), 80);
  EXPECT_EQ(Grant(*a, "cmp-2", 50, 100), 50);
  ASSERT_TRUE(a->Return({{"cmp-1", 10}, {"cmp-2", 0}, {"cmp-never-held", 5}}).ok());
  EXPECT_EQ(HoldersOf(*a, "cmp-1"), (std::map<std::string, int64_t>{{"a", 10}}));
  EXPECT_TRUE(HoldersOf(*a, "cmp-2").empty());
  EXPECT_EQ(Grant(*b, "cmp-1", 100, 100), 90);
}

TEST_F(RedisSlicesTest, RedisGoneIsUnavailableAndTheClientReconnectsWhenItIsBack) {
  auto a = Replica("a");
  EXPECT_EQ(Grant(*a, "cmp-1", 10, 100), 10);
  redis_->Kill();
  auto lost = a->Lease({{"cmp-1", 10, 100}});
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable) << lost.status();
  ASSERT_TRUE(redis_->Restart().ok());
  // A new Redis knows no slices (an operator runs it with persistence; the
  // bound still holds, as each replica's slice is at most what it asks).
  EXPECT_EQ(Grant(*a, "cmp-1", 10, 100), 10);
}

TEST(RedisClientTest, AnAddressThatIsNotHostPortIsRefusedNamingIt) {
  for (const std::string bad : {"localhost", ":6379", "host:0", "host:99999", "host:port"}) {
    auto client = RedisClient::Connect(bad);
    EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(client.status().message().find(bad), std::string::npos) << client.status();
  }
}

TEST(RedisClientTest, NothingListeningIsUnavailable) {
  auto client = RedisClient::Connect("127.0.0.1:1", absl::Milliseconds(200));
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable) << client.status();
}

}  // namespace
}  // namespace attex::store
