#include "auction/budget.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace attex::auction {
namespace {

constexpr int64_t kNowMs = 1'700'000'000'000;
constexpr int64_t kPrice = 2'000;

TEST(BudgetStateTest, SixtyFourConcurrentReserversGetExactlyTheImpressionsTheBudgetCovers) {
  constexpr int kCovered = 37;
  BudgetState budget;
  budget.SetLimits(0, kCovered * kPrice);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 64; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (budget.TryReserve(kPrice, kNowMs)) granted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), kCovered);
  EXPECT_EQ(budget.reserved(), kCovered * kPrice);
  EXPECT_EQ(budget.Available(kNowMs), 0);
}

TEST(BudgetStateTest, DailyLimitCountsTodaysSpendAndReservations) {
  BudgetState budget;
  budget.SetLimits(/*daily_micros=*/10'000, /*total_micros=*/1'000'000);
  budget.Load(/*total=*/50'000, /*today=*/9'000, kNowMs);
  EXPECT_EQ(budget.Available(kNowMs), 1'000);
  EXPECT_TRUE(budget.TryReserve(1'000, kNowMs));
  EXPECT_FALSE(budget.TryReserve(1, kNowMs));
  // The next UTC day starts with nothing spent; what is reserved still counts.
  EXPECT_EQ(budget.Available(kNowMs + kMillisPerDay), 9'000);
}

TEST(BudgetStateTest, BillingThenReleasingKeepsTheSumOfSpentAndReserved) {
  BudgetState budget;
  budget.SetLimits(0, 3 * kPrice);
  ASSERT_TRUE(budget.TryReserve(kPrice, kNowMs));
  budget.Charge(kPrice, kNowMs);
  budget.Release(kPrice);
  EXPECT_EQ(budget.total(), kPrice);
  EXPECT_EQ(budget.reserved(), 0);
  EXPECT_EQ(budget.Available(kNowMs), 2 * kPrice);
}

TEST(BudgetStateTest, EvenPacingThrottleFallsWhenSpendRunsAheadOfTheDay) {
  BudgetState budget;
  budget.SetLimits(/*daily_micros=*/1'000'000, /*total_micros=*/1'000'000'000);
  const int64_t eight_am = kNowMs / kMillisPerDay * kMillisPerDay + 8 * 3'600'000;
  EXPECT_DOUBLE_EQ(budget.PacingThrottle(eight_am), 1.0);
  budget.Charge(200'000, eight_am + 1000);  // A fifth of the day's budget in a minute.
  EXPECT_LT(budget.PacingThrottle(eight_am + 60'000), 0.1);
  // Within the same interval the throttle is only read.
  EXPECT_EQ(budget.PacingThrottle(eight_am + 61'000), budget.PacingThrottle(eight_am + 119'000));
}

TEST(ReservationBookTest, SettlingReleasesOnceAndForgets) {
  auto budget = std::make_shared<BudgetState>();
  budget->SetLimits(0, 10 * kPrice);
  ReservationBook book;
  ASSERT_TRUE(budget->TryReserve(kPrice, kNowMs));
  book.Add({7, kPrice, kNowMs + 1000, budget});
  EXPECT_EQ(book.outstanding(), 1u);
  EXPECT_EQ(book.Settle(7), kPrice);
  EXPECT_EQ(book.Settle(7), 0);
  EXPECT_EQ(budget->reserved(), 0);
  EXPECT_EQ(book.Expire(kNowMs + 5000), 0);  // Settled: nothing left to expire.
}

TEST(ReservationBookTest, ExpiredReservationsAreReleasedAndLiveOnesKept) {
  auto budget = std::make_shared<BudgetState>();
  budget->SetLimits(0, 10 * kPrice);
  ReservationBook book;
  for (uint64_t nonce = 1; nonce <= 3; ++nonce) {
    ASSERT_TRUE(budget->TryReserve(kPrice, kNowMs));
    book.Add({nonce, kPrice, kNowMs + static_cast<int64_t>(nonce) * 1000, budget});
  }
  EXPECT_EQ(book.Expire(kNowMs + 2500), 2);
  EXPECT_EQ(budget->reserved(), kPrice);
  EXPECT_EQ(book.outstanding(), 1u);
  EXPECT_EQ(book.Settle(3), kPrice);
  EXPECT_EQ(budget->reserved(), 0);
}

TEST(ReservationBookTest, ReservationsAddedFromManyThreadsAreAllHeld) {
  auto budget = std::make_shared<BudgetState>();
  budget->SetLimits(0, 1'000'000);
  ReservationBook book;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        budget->TryReserve(1, kNowMs);
        book.Add({static_cast<uint64_t>(t * 1000 + i + 1), 1, kNowMs + 10, budget});
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(book.outstanding(), 800u);
  EXPECT_EQ(book.Expire(kNowMs + 11), 800);
  EXPECT_EQ(budget->reserved(), 0);
}

}  // namespace
}  // namespace attex::auction
