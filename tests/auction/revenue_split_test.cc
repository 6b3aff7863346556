#include "auction/revenue_split.h"

#include "gtest/gtest.h"

namespace attex::auction {
namespace {

TEST(RevenueSplitTest, PartsAlwaysAddUpToThePrice) {
  const SplitConfig config;
  for (int64_t price : {0LL, 1LL, 7LL, 999LL, 2500LL, 1'234'567LL, 999'999'999'999LL}) {
    const Split s = SplitPrice(price, config);
    EXPECT_EQ(s.platform_micros + s.user_micros + s.exchange_micros, price) << price;
    EXPECT_GE(s.exchange_micros, 0);
  }
}

TEST(RevenueSplitTest, DefaultSharesAreEightyTenAndTheRest) {
  const Split s = SplitPrice(2500, SplitConfig{});
  EXPECT_EQ(s.platform_micros, 2000);
  EXPECT_EQ(s.user_micros, 250);
  EXPECT_EQ(s.exchange_micros, 250);
}

TEST(RevenueSplitTest, RoundingRemainderGoesToTheExchange) {
  const Split s = SplitPrice(7, SplitConfig{3333, 3333});
  EXPECT_EQ(s.platform_micros, 2);
  EXPECT_EQ(s.user_micros, 2);
  EXPECT_EQ(s.exchange_micros, 3);
}

TEST(RevenueSplitTest, SharesOverOneHundredPercentAreRejected) {
  EXPECT_FALSE(ValidateSplit({9000, 2000}).ok());
  EXPECT_FALSE(ValidateSplit({-1, 0}).ok());
  EXPECT_TRUE(ValidateSplit({10000, 0}).ok());
}

TEST(RevenueSplitTest, ImpressionPriceIsCpmOverOneThousand) {
  EXPECT_EQ(ImpressionPriceMicros(2'500'000), 2500);
  EXPECT_EQ(ImpressionPriceMicros(1999), 1);
}

}  // namespace
}  // namespace attex::auction
