#include "auction/budget.h"

#include <atomic>
#include <limits>
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

TEST(BudgetSliceTest, WithoutSlicesOnlyTheBudgetBounds) {
  BudgetState budget;
  budget.SetLimits(0, 1'000);
  EXPECT_FALSE(budget.sliced());
  EXPECT_EQ(budget.SliceRoom(kNowMs), std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(budget.TryReserve(1'000, kNowMs));
}

TEST(BudgetSliceTest, ASlicedBudgetReservesNothingBeforeItsFirstGrant) {
  BudgetState budget;
  budget.SetLimits(0, 1'000);
  budget.EnableSlices();
  EXPECT_EQ(budget.SliceRoom(kNowMs), 0);
  EXPECT_LE(budget.Available(kNowMs), 0);
  EXPECT_FALSE(budget.TryReserve(1, kNowMs));
}

TEST(BudgetSliceTest, ReservationsStayWithinTheGrantAndBilledMicrosLeaveItAtTheNextGrant) {
  BudgetState budget;
  budget.SetLimits(0, 1'000);
  budget.EnableSlices();
  budget.SetSlice(100, 0, kNowMs + 1'000);
  EXPECT_TRUE(budget.TryReserve(60, kNowMs));
  EXPECT_FALSE(budget.TryReserve(50, kNowMs));  // 60 + 50 > 100, though the budget has 1,000.
  EXPECT_TRUE(budget.TryReserve(40, kNowMs));
  EXPECT_EQ(budget.SliceRoom(kNowMs), 0);
  EXPECT_EQ(budget.Available(kNowMs), 0);
  budget.Release(40);  // Expired unbilled: its room comes back.
  EXPECT_EQ(budget.SliceRoom(kNowMs), 40);
  budget.Charge(60, kNowMs);  // Billed, then settled: stays counted in this grant.
  budget.Release(60);
  EXPECT_EQ(budget.slice_billed(), 60);
  EXPECT_EQ(budget.SliceRoom(kNowMs), 40);
  // The next grant was computed from a spend that counts those 60.
  budget.SetSlice(100, budget.slice_billed(), kNowMs + 1'000);
  EXPECT_EQ(budget.slice_billed(), 0);
  EXPECT_EQ(budget.SliceRoom(kNowMs), 100);
  // Still never past the budget itself: 1,000 - 60 billed.
  budget.SetSlice(5'000, 0, kNowMs + 1'000);
  EXPECT_EQ(budget.Available(kNowMs), 940);
}

TEST(BudgetSliceTest, BilledAfterTheSpendWasReadStaysInTheSlice) {
  BudgetState budget;
  budget.SetLimits(0, 1'000);
  budget.EnableSlices();
  budget.SetSlice(100, 0, kNowMs + 1'000);
  ASSERT_TRUE(budget.TryReserve(30, kNowMs));
  const int64_t seen = budget.slice_billed();  // 0: read before the spend.
  budget.Charge(30, kNowMs);                   // Billed after the read.
  budget.Release(30);
  budget.SetSlice(100, seen, kNowMs + 1'000);
  EXPECT_EQ(budget.SliceRoom(kNowMs), 70);
}

TEST(BudgetSliceTest, AnExpiredLeaseAllowsNothing) {
  BudgetState budget;
  budget.SetLimits(0, 1'000);
  budget.EnableSlices();
  budget.SetSlice(100, 0, kNowMs + 10);
  EXPECT_TRUE(budget.TryReserve(10, kNowMs + 9));
  EXPECT_FALSE(budget.TryReserve(10, kNowMs + 10));
  EXPECT_EQ(budget.SliceRoom(kNowMs + 10), 0);
  EXPECT_LE(budget.Available(kNowMs + 10), 0);
}

TEST(BudgetSliceTest, ConcurrentReserversNeverJointlyPassTheGrant) {
  BudgetState budget;
  budget.SetLimits(0, 1'000'000);
  budget.EnableSlices();
  budget.SetSlice(1'000, 0, kNowMs + 60'000);
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) won += budget.TryReserve(1, kNowMs) ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1'000);
  EXPECT_EQ(budget.placed(), 1'000);
}

}  // namespace
}  // namespace attex::auction
