#include "auction/frequency.h"

#include "attex/v1/exchange.pb.h"
#include "auction/auction.h"
#include "gtest/gtest.h"

namespace attex::auction {
namespace {

constexpr int64_t kNowMs = 1'700'000'000'000;
constexpr int64_t kHourMs = 3'600'000;

TEST(FrequencyCapsTest, UserSeesACampaignAtMostCapTimesPerPeriod) {
  FrequencyCaps caps;
  const uint64_t user = FrequencyCaps::UserKey("u1");
  const uint64_t campaign = FrequencyCaps::CampaignKey("cmp-1");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(caps.Allows(user, campaign, 3, kHourMs, kNowMs + i));
    caps.Record(user, campaign, kHourMs, kNowMs + i);
  }
  EXPECT_FALSE(caps.Allows(user, campaign, 3, kHourMs, kNowMs + 10));
  // Another user, another campaign: their own windows.
  EXPECT_TRUE(caps.Allows(FrequencyCaps::UserKey("u2"), campaign, 3, kHourMs, kNowMs + 10));
  EXPECT_TRUE(caps.Allows(user, FrequencyCaps::CampaignKey("cmp-2"), 3, kHourMs, kNowMs + 10));
}

TEST(FrequencyCapsTest, WindowSlidesSoOldPlacementsStopCounting) {
  FrequencyCaps caps;
  const uint64_t user = 11, campaign = 22;
  caps.Record(user, campaign, kHourMs, kNowMs);
  caps.Record(user, campaign, kHourMs, kNowMs + kHourMs / 2);
  EXPECT_FALSE(caps.Allows(user, campaign, 2, kHourMs, kNowMs + kHourMs - 1));
  EXPECT_TRUE(caps.Allows(user, campaign, 2, kHourMs, kNowMs + kHourMs));
}

TEST(FrequencyCapsTest, SweepForgetsPassedWindows) {
  FrequencyCaps caps;
  caps.Record(1, 2, kHourMs, kNowMs);
  caps.Record(3, 2, kHourMs, kNowMs + kHourMs);
  EXPECT_EQ(caps.Sweep(kNowMs + kHourMs + 1), 1u);
  EXPECT_EQ(caps.Sweep(kNowMs + 3 * kHourMs), 0u);
}

TEST(FrequencyUserKeyTest, NoKeyIsKeptWhereConsentForbidsIt) {
  attex::v1::BidRequest request;
  request.mutable_user()->set_id("u1");
  EXPECT_NE(FrequencyUserKey(request), 0u);
  request.mutable_user()->mutable_consent()->set_coppa(true);
  EXPECT_EQ(FrequencyUserKey(request), 0u);
  request.mutable_user()->mutable_consent()->set_coppa(false);
  request.mutable_user()->mutable_consent()->set_limit_ad_tracking(true);
  EXPECT_EQ(FrequencyUserKey(request), 0u);
  request.mutable_user()->mutable_consent()->set_limit_ad_tracking(false);
  request.mutable_user()->mutable_consent()->set_gdpr_applies(true);
  EXPECT_EQ(FrequencyUserKey(request), 0u);
  request.mutable_user()->mutable_consent()->set_tcf_consent("CO-consent");
  EXPECT_NE(FrequencyUserKey(request), 0u);
  request.mutable_user()->clear_id();
  EXPECT_EQ(FrequencyUserKey(request), 0u);
}

}  // namespace
}  // namespace attex::auction
