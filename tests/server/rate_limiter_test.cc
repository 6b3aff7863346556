#include "server/rate_limiter.h"

#include "gtest/gtest.h"

namespace attex::server {
namespace {

absl::Time fake_now = absl::FromUnixSeconds(1'800'000'000);
absl::Time FakeNow() { return fake_now; }

using attex::v1::ROLE_ADVERTISER;
using attex::v1::ROLE_PLATFORM;

TEST(RateLimiterTest, BurstIsAdmittedThenRefusedWithTheWaitForOneToken) {
  RateLimitOptions options;
  options.platform = {10, 3};
  RateLimiter limiter(options, &FakeNow);
  absl::Duration wait;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait));
  EXPECT_FALSE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait));
  EXPECT_EQ(wait, absl::Milliseconds(100));
}

TEST(RateLimiterTest, TokensRefillAtTheRate) {
  RateLimitOptions options;
  options.platform = {10, 1};
  RateLimiter limiter(options, &FakeNow);
  absl::Duration wait;
  EXPECT_TRUE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait));
  EXPECT_FALSE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait));
  fake_now += absl::Milliseconds(100);
  EXPECT_TRUE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait));
  fake_now += absl::Seconds(60);  // The bucket holds no more than its burst.
  EXPECT_TRUE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait));
  EXPECT_FALSE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait));
}

TEST(RateLimiterTest, AReplicasShareScalesRateAndBurst) {
  RateLimitOptions options;
  options.platform = {30, 6};
  RateLimiter limiter(options, &FakeNow);
  limiter.SetShare(1.0 / 3);  // One of three replicas: 10 a second, a burst of 2.
  absl::Duration wait;
  EXPECT_TRUE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait));
  EXPECT_TRUE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait));
  EXPECT_FALSE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait));
  EXPECT_EQ(wait, absl::Milliseconds(100));
  fake_now += absl::Seconds(60);
  limiter.SetShare(1.0);  // The others gone: the whole limit again.
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait)) << i;
  EXPECT_FALSE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait));
}

TEST(RateLimiterTest, AccountsHaveBucketsOfTheirOwnAndRolesTheirOwnRates) {
  RateLimitOptions options;
  options.platform = {1, 1};
  RateLimiter limiter(options, &FakeNow);
  absl::Duration wait;
  EXPECT_TRUE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait));
  EXPECT_FALSE(limiter.Admit("acc-2", ROLE_PLATFORM, &wait));
  EXPECT_TRUE(limiter.Admit("acc-5", ROLE_PLATFORM, &wait));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.Admit("acc-3", ROLE_ADVERTISER, &wait));
}

TEST(RateLimiterTest, AccountOverrideWinsOverItsRole) {
  RateLimitOptions options;
  options.platform = {1, 1};
  options.accounts["acc-9"] = {1000, 50};
  RateLimiter limiter(options, &FakeNow);
  absl::Duration wait;
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(limiter.Admit("acc-9", ROLE_PLATFORM, &wait));
  EXPECT_FALSE(limiter.Admit("acc-9", ROLE_PLATFORM, &wait));
}

TEST(RateLimiterTest, OverridesParseAndBadOnesNameTheFlag) {
  auto parsed = ParseRateOverrides("acc-2=5000,acc-7=100:200");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->at("acc-2").per_second, 5000);
  EXPECT_EQ(parsed->at("acc-7").burst, 200);
  for (const char* bad : {"acc-2", "=5", "acc-2=x", "acc-2=-1", "acc-2=1:2:3"}) {
    auto status = ParseRateOverrides(bad).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("--rate_limit_accounts"), std::string::npos);
  }
  EXPECT_TRUE(ParseRateOverrides("").ok());
}

}  // namespace
}  // namespace attex::server
