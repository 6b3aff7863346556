#include "auction/reasons.h"

#include <set>
#include <string_view>

#include "gtest/gtest.h"

namespace attex::auction {
namespace {

// Every value of `Enum` up to kCount, through `name`: none empty, none twice.
template <typename Enum, typename NameFn>
void ExpectDistinctNonEmptyNames(NameFn name) {
  std::set<std::string_view> seen;
  for (int i = 0; i < static_cast<int>(Enum::kCount); ++i) {
    const std::string_view n = name(static_cast<Enum>(i));
    EXPECT_FALSE(n.empty()) << "value " << i;
    EXPECT_TRUE(seen.insert(n).second) << "value " << i << " repeats \"" << n << "\"";
  }
}

TEST(ReasonsTest, EveryNoBidReasonHasADistinctNonEmptyName) {
  ExpectDistinctNonEmptyNames<NoBidReason>(NoBidReasonName);
}

TEST(ReasonsTest, EveryExclusionHasADistinctNonEmptyName) {
  ExpectDistinctNonEmptyNames<Exclusion>(ExclusionName);
}

TEST(ReasonsTest, EveryLostReasonHasADistinctNonEmptyName) {
  ExpectDistinctNonEmptyNames<LostReason>(LostReasonName);
}

// The names are the wire: a rename breaks clients and dashboards.
TEST(ReasonsTest, NamesAreTheWireStrings) {
  EXPECT_EQ(NoBidReasonName(NoBidReason::kNoEligibleCampaigns), "no_eligible_campaigns");
  EXPECT_EQ(NoBidReasonName(NoBidReason::kBelowFloor), "below_floor");
  EXPECT_EQ(NoBidReasonName(NoBidReason::kTimeout), "timeout");
  EXPECT_EQ(NoBidReasonName(NoBidReason::kNoSlots), "no_slots");
  EXPECT_EQ(NoBidReasonName(NoBidReason::kBudget), "budget");
  EXPECT_EQ(ExclusionName(Exclusion::kStatus), "status");
  EXPECT_EQ(ExclusionName(Exclusion::kSchedule), "schedule");
  EXPECT_EQ(ExclusionName(Exclusion::kCountry), "country");
  EXPECT_EQ(ExclusionName(Exclusion::kDeviceType), "device_type");
  EXPECT_EQ(ExclusionName(Exclusion::kIncludeFeatures), "include_features");
  EXPECT_EQ(ExclusionName(Exclusion::kExcludeFeatures), "exclude_features");
  EXPECT_EQ(ExclusionName(Exclusion::kHours), "hours");
  EXPECT_EQ(ExclusionName(Exclusion::kBlockedCategory), "blocked_category");
  EXPECT_EQ(ExclusionName(Exclusion::kBlockedAdvertiser), "blocked_advertiser");
  EXPECT_EQ(ExclusionName(Exclusion::kBlockedDomain), "blocked_domain");
  EXPECT_EQ(ExclusionName(Exclusion::kFormat), "format");
  EXPECT_EQ(ExclusionName(Exclusion::kSize), "size");
  EXPECT_EQ(ExclusionName(Exclusion::kMime), "mime");
  EXPECT_EQ(ExclusionName(Exclusion::kDuration), "duration");
  EXPECT_EQ(ExclusionName(Exclusion::kBudget), "budget");
  EXPECT_EQ(ExclusionName(Exclusion::kFrequencyCap), "frequency_cap");
  EXPECT_EQ(ExclusionName(Exclusion::kPacing), "pacing");
  EXPECT_EQ(LostReasonName(LostReason::kOutranked), "outranked");
  EXPECT_EQ(LostReasonName(LostReason::kPlacedInEarlierSlot), "placed_in_earlier_slot");
  EXPECT_EQ(LostReasonName(LostReason::kBelowFloor), "below_floor");
}

}  // namespace
}  // namespace attex::auction
