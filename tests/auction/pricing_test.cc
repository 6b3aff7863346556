#include "auction/pricing.h"

#include <optional>

#include "gtest/gtest.h"

namespace attex::auction {
namespace {

using attex::v1::AUCTION_TYPE_FIRST_PRICE;
using attex::v1::AUCTION_TYPE_SECOND_PRICE;
using attex::v1::AUCTION_TYPE_UNSPECIFIED;

constexpr int64_t kFloor = 100'000;

TEST(SecondPriceAuctionTest, WinnerPaysRunnerUpsScoreOverItsWeight) {
  // Runner-up: weight 0.25 x bid 4 CPM = score 1 CPM; the winner's weight
  // is 0.5, so 2 CPM would have kept its rank.
  EXPECT_EQ(SecondPrice(5'000'000, 0.5, 0.25 * 4'000'000, kFloor), 2'000'000);
}

TEST(SecondPriceAuctionTest, PriceIsRoundedUpToTheMicro) {
  EXPECT_EQ(SecondPrice(5'000'000, 1.0, 1'000'000.25, kFloor), 1'000'001);
}

TEST(SecondPriceAuctionTest, WinnerNeverPaysMoreThanItsBid) {
  // A runner-up's score a hair above the winner's (float rounding).
  EXPECT_EQ(SecondPrice(2'000'000, 0.5, 1'000'000.4, kFloor), 2'000'000);
  EXPECT_EQ(SecondPrice(2'000'000, 0.5, 9'000'000.0, kFloor), 2'000'000);
}

TEST(SecondPriceAuctionTest, WinnerNeverPaysLessThanTheFloor) {
  EXPECT_EQ(SecondPrice(2'000'000, 0.5, 10.0, kFloor), kFloor);
  EXPECT_EQ(SecondPrice(2'000'000, 0.5, 0.0, kFloor), kFloor);
}

TEST(SecondPriceAuctionTest, WithoutRunnerUpTheWinnerPaysTheFloor) {
  EXPECT_EQ(SecondPrice(2'000'000, 0.5, std::nullopt, kFloor), kFloor);
}

TEST(SecondPriceAuctionTest, ZeroWeightPaysTheFloor) {
  EXPECT_EQ(SecondPrice(2'000'000, 0.0, 500'000.0, kFloor), kFloor);
}

TEST(SecondPriceAuctionTest, TiedRunnerUpMakesTheWinnerPayItsBid) {
  // Same weight and bid: the runner-up's score equals the winner's.
  const double weight = 0.3;
  const int64_t bid = 1'234'567;
  EXPECT_EQ(SecondPrice(bid, weight, weight * static_cast<double>(bid), kFloor), bid);
}

TEST(SecondPriceAuctionTest, TieWithAHigherBidAndLowerWeightPaysItsBid) {
  // Runner-up: weight 0.2 x bid 3 CPM = 0.6 CPM, the winner's 0.4 x 1.5 CPM.
  EXPECT_EQ(SecondPrice(1'500'000, 0.4, 0.2 * 3'000'000, kFloor), 1'500'000);
}

TEST(FirstPriceAuctionTest, WinnerPaysItsBid) {
  EXPECT_EQ(ClearingPrice(true, 2'000'000, 0.5, 0.25 * 4'000'000, kFloor), 2'000'000);
  EXPECT_EQ(ClearingPrice(true, 2'000'000, 0.5, std::nullopt, kFloor), 2'000'000);
}

TEST(ClearingPriceTest, SecondPriceIsSecondPrice) {
  EXPECT_EQ(ClearingPrice(false, 5'000'000, 0.5, 0.25 * 4'000'000, kFloor), 2'000'000);
  EXPECT_EQ(ClearingPrice(false, 5'000'000, 0.5, std::nullopt, kFloor), kFloor);
}

TEST(SlotFloorTest, DefaultAppliesWhereTheSlotNamesNone) {
  EXPECT_EQ(SlotFloor(0, kFloor, 0.0, 5'000'000.0), kFloor);
  EXPECT_EQ(SlotFloor(-1, kFloor, 0.0, 5'000'000.0), kFloor);
}

TEST(SlotFloorTest, SlotsOwnFloorReplacesTheDefault) {
  EXPECT_EQ(SlotFloor(50'000, kFloor, 0.0, 5'000'000.0), 50'000);
  EXPECT_EQ(SlotFloor(700'000, kFloor, 0.0, 5'000'000.0), 700'000);
}

TEST(SlotFloorTest, DynamicReserveOfRhoTimesAttentionPriceRaisesTheFloor) {
  EXPECT_EQ(SlotFloor(1'000'000, kFloor, 0.5, 3'000'000.0), 1'500'000);
  EXPECT_EQ(SlotFloor(0, kFloor, 0.5, 3'000'001.0), 1'500'001);  // Rounded to nearest.
}

TEST(SlotFloorTest, DynamicReserveBelowTheFloorLeavesIt) {
  EXPECT_EQ(SlotFloor(1'000'000, kFloor, 0.1, 3'000'000.0), 1'000'000);
}

TEST(SlotFloorTest, RaisedFloorIsWhatALoneWinnerPays) {
  const int64_t floor = SlotFloor(0, kFloor, 0.5, 3'000'000.0);
  EXPECT_EQ(SecondPrice(2'000'000, 0.5, std::nullopt, floor), 1'500'000);
  EXPECT_EQ(SecondPrice(2'000'000, 0.5, 100'000.0, floor), 1'500'000);
}

TEST(AuctionTypeTest, UnspecifiedTakesTheDefault) {
  EXPECT_TRUE(IsFirstPrice(AUCTION_TYPE_UNSPECIFIED, AUCTION_TYPE_FIRST_PRICE));
  EXPECT_FALSE(IsFirstPrice(AUCTION_TYPE_UNSPECIFIED, AUCTION_TYPE_SECOND_PRICE));
}

TEST(AuctionTypeTest, RequestsOwnTypeOverridesTheDefault) {
  EXPECT_TRUE(IsFirstPrice(AUCTION_TYPE_FIRST_PRICE, AUCTION_TYPE_SECOND_PRICE));
  EXPECT_FALSE(IsFirstPrice(AUCTION_TYPE_SECOND_PRICE, AUCTION_TYPE_FIRST_PRICE));
}

}  // namespace
}  // namespace attex::auction
