#include "client/load/workload.h"

#include <map>
#include <set>

#include "gtest/gtest.h"

namespace attex::load {
namespace {

TEST(ZipfTest, RankZeroIsTheMostFrequentAndFrequencyFallsWithRank) {
  Zipf zipf(1000, 1.0);
  std::mt19937_64 rng(7);
  std::map<int64_t, int> counts;
  for (int i = 0; i < 100000; ++i) ++counts[zipf(rng)];
  EXPECT_GT(counts[0], counts[1]);
  EXPECT_GT(counts[1], counts[9]);
  EXPECT_GT(counts[9], counts[99]);
  EXPECT_GE(counts.begin()->first, 0);
  EXPECT_LT(counts.rbegin()->first, 1000);
}

TEST(WorkloadTest, RequestsHaveSlotsInRangeFloorsAndRepeatUsers) {
  WorkloadOptions o;
  o.min_slots = 1;
  o.max_slots = 4;
  o.users = 1000;
  Workload w(o);
  std::set<int> slot_counts;
  std::map<std::string, int> users;
  int floors = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto r = w.MakeBidRequest();
    slot_counts.insert(r.slots_size());
    ++users[r.user().id()];
    for (const auto& s : r.slots()) floors += s.floor_cpm_micros() > 0;
    ASSERT_FALSE(r.context().features().empty());
    ASSERT_TRUE(r.test());
  }
  EXPECT_EQ(slot_counts, (std::set<int>{1, 2, 3, 4}));
  EXPECT_GT(floors, 0);
  int most = 0;
  for (const auto& [id, n] : users) most = std::max(most, n);
  EXPECT_GT(most, 50);  // Zipf: the most frequent user comes back often.
}

TEST(WorkloadTest, SameUserKeepsTheSameInterests) {
  Workload w(WorkloadOptions{.users = 3});
  std::map<std::string, std::string> interests;
  for (int i = 0; i < 200; ++i) {
    const auto r = w.MakeBidRequest();
    if (r.user().id().empty()) continue;
    std::string f;
    for (const auto& t : r.user().features()) f += t + ",";
    auto [it, inserted] = interests.emplace(r.user().id(), f);
    EXPECT_EQ(it->second, f) << r.user().id();
  }
}

TEST(WorkloadTest, CampaignsHaveTheAskedCreativesWithFeatures) {
  Workload w(WorkloadOptions{.creatives_per_campaign = 4});
  const auto c = w.MakeCampaign(12, "adv-1");
  EXPECT_EQ(c.advertiser_id(), "adv-1");
  ASSERT_EQ(c.creatives_size(), 4);
  for (const auto& cr : c.creatives()) EXPECT_GE(cr.features_size(), 4);
  EXPECT_GT(c.bid_cpm_micros(), 0);
  EXPECT_GT(c.budget().daily_micros(), 0);
}

}  // namespace
}  // namespace attex::load
