// Both stores: billing events (dedup, validation, concurrency), spend and
// balances. Group commit and the budget cap are in ledger_test.cc.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/store/store_fixture.h"

namespace attex::store {
namespace {

TEST_P(StoreTest, DuplicateEventChangesNothing) {
  auto first = store_->RecordEvent(Impression("tok-1", "cmp-1", 1000, kNow));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, RecordResult::kAccepted);
  auto again = store_->RecordEvent(Impression("tok-1", "cmp-1", 1000, kNow + 5));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, RecordResult::kDuplicate);

  EXPECT_EQ(Balance("advertiser:acc-3"), -1000);
  EXPECT_EQ(Balance("platform:acc-2"), 700);
  auto spend = store_->GetSpend("cmp-1", 0);
  ASSERT_TRUE(spend.ok()) << spend.status();
  EXPECT_EQ(spend->impressions, 1);
  EXPECT_EQ(spend->total_micros, 1000);
}

TEST_P(StoreTest, ClickWithImpressionsTokenHashIsSeparateEvent) {
  ASSERT_EQ(*store_->RecordEvent(Impression("tok-1", "cmp-1", 1000, kNow)),
            RecordResult::kAccepted);
  ASSERT_EQ(*store_->RecordEvent(Click("tok-1", "cmp-1", kNow)), RecordResult::kAccepted);
  ASSERT_EQ(*store_->RecordEvent(Click("tok-1", "cmp-1", kNow)), RecordResult::kDuplicate);
  auto spend = store_->GetSpend("cmp-1", 0);
  ASSERT_TRUE(spend.ok()) << spend.status();
  EXPECT_EQ(spend->impressions, 1);
  EXPECT_EQ(spend->clicks, 1);
  EXPECT_EQ(spend->total_micros, 1000);
}

TEST_P(StoreTest, SpendSplitsTotalAndToday) {
  const int64_t day_start = kNow - 1000;
  ASSERT_TRUE(store_->RecordEvent(Impression("a", "cmp-1", 300, day_start - 1)).ok());
  ASSERT_TRUE(store_->RecordEvent(Impression("b", "cmp-1", 500, day_start)).ok());
  ASSERT_TRUE(store_->RecordEvent(Impression("c", "cmp-1", 700, kNow)).ok());
  ASSERT_TRUE(store_->RecordEvent(Impression("d", "cmp-2", 900, kNow)).ok());
  ASSERT_TRUE(store_->RecordEvent(Click("c", "cmp-1", kNow)).ok());

  auto spend = store_->GetSpend("cmp-1", day_start);
  ASSERT_TRUE(spend.ok()) << spend.status();
  EXPECT_EQ(spend->total_micros, 1500);
  EXPECT_EQ(spend->today_micros, 1200);
  EXPECT_EQ(spend->impressions, 3);
  EXPECT_EQ(spend->clicks, 1);

  auto none = store_->GetSpend("cmp-9", day_start);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->total_micros, 0);
  EXPECT_EQ(none->impressions, 0);

  auto all = store_->AllSpend(day_start);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].first, "cmp-1");
  EXPECT_EQ((*all)[0].second.today_micros, 1200);
  EXPECT_EQ((*all)[1].first, "cmp-2");
  EXPECT_EQ((*all)[1].second.total_micros, 900);
}

TEST_P(StoreTest, BalancesFilterByPrefixAndLedgerSumsToZero) {
  ASSERT_TRUE(store_->RecordEvent(Impression("a", "cmp-1", 1000, kNow)).ok());
  ASSERT_TRUE(store_->RecordEvent(Impression("b", "cmp-1", 2000, kNow)).ok());
  auto users = store_->Balances("user:");
  ASSERT_TRUE(users.ok()) << users.status();
  EXPECT_EQ(users->ledger_sum_micros, 0);
  ASSERT_EQ(users->accounts.size(), 1u);
  EXPECT_EQ(users->accounts[0].account, "user:u1");
  EXPECT_EQ(users->accounts[0].balance_micros, 300);

  auto all = store_->Balances("");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->accounts.size(), 4u);  // Ordered by account name.
  EXPECT_EQ(all->accounts[0].account, "advertiser:acc-3");
  EXPECT_EQ(all->accounts[0].balance_micros, -3000);
  EXPECT_EQ(all->accounts[1].account, "exchange");
  EXPECT_EQ(all->accounts[1].balance_micros, 600);

  // '_' and '%' in a prefix are characters, not wildcards.
  EXPECT_TRUE(store_->Balances("user_")->accounts.empty());
  EXPECT_TRUE(store_->Balances("%")->accounts.empty());
}

TEST_P(StoreTest, EmptyLedgerSumsToZero) {
  auto balances = store_->Balances("");
  ASSERT_TRUE(balances.ok()) << balances.status();
  EXPECT_TRUE(balances->accounts.empty());
  EXPECT_EQ(balances->ledger_sum_micros, 0);
}

TEST_P(StoreTest, EntriesNotSummingToZeroAreRejected) {
  BillingEvent e = Impression("tok-1", "cmp-1", 1000, kNow);
  e.entries[1].amount_micros += 1;
  EXPECT_EQ(store_->RecordEvent(e).status().code(), absl::StatusCode::kInvalidArgument);
  // Nothing was recorded: the same token is still new.
  EXPECT_EQ(store_->GetSpend("cmp-1", 0)->impressions, 0);
  EXPECT_EQ(*store_->RecordEvent(Impression("tok-1", "cmp-1", 1000, kNow)),
            RecordResult::kAccepted);
}

TEST_P(StoreTest, ConcurrentEventsAreCountedExactly) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  constexpr int64_t kPrice = 1000;
  std::atomic<int> accepted{0}, duplicates{0}, errors{0};
  auto token = [](int t, int i) { return absl::StrCat("t", t, "-", i); };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto record = [&](const std::string& hash) {
        auto r = store_->RecordEvent(Impression(hash, "cmp-1", kPrice, kNow));
        if (!r.ok()) {
          ++errors;
        } else if (*r == RecordResult::kAccepted) {
          ++accepted;
        } else {
          ++duplicates;
        }
      };
      // Each token is tried three times: twice by its owner, once by the
      // neighbour racing it.
      for (int i = 0; i < kPerThread; ++i) {
        record(token(t, i));
        record(token(t, i));
        record(token((t + 1) % kThreads, i));
      }
    });
  }
  for (auto& th : threads) th.join();
  constexpr int kEvents = kThreads * kPerThread;
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(accepted.load(), kEvents);
  EXPECT_EQ(duplicates.load(), 2 * kEvents);
  auto spend = store_->GetSpend("cmp-1", 0);
  ASSERT_TRUE(spend.ok()) << spend.status();
  EXPECT_EQ(spend->impressions, kEvents);
  EXPECT_EQ(spend->total_micros, kEvents * kPrice);
  EXPECT_EQ(Balance("advertiser:acc-3"), -kEvents * kPrice);
  auto balances = store_->Balances("");
  ASSERT_TRUE(balances.ok()) << balances.status();
  EXPECT_EQ(balances->ledger_sum_micros, 0);
}

}  // namespace
}  // namespace attex::store
