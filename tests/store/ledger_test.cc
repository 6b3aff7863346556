// Group commit, the hard budget cap at billing, and the ledger check, on
// both back ends; and two stores on one database (two replicas) billing at
// once.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/testing/billing_events.h"
#include "tests/testing/test_store.h"

namespace attex::store {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;
constexpr int64_t kDay = 86'400'000;

BillingEvent Impression(const std::string& token_hash, int64_t price, int64_t at_ms = kNow,
                        const std::string& campaign = "cmp-1") {
  // The platform's 60%, the user's 20%.
  return attex::testing::TestImpression(token_hash, campaign, price, at_ms, 60, 20);
}

BillingEvent Capped(BillingEvent e, int64_t daily, int64_t total) {
  e.enforce_budget = true;
  e.daily_budget_micros = daily;
  e.total_budget_micros = total;
  return e;
}

class LedgerTest : public ::testing::TestWithParam<attex::testing::Backend> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(place_.ok());
    Open();
  }
  void TearDown() override { store_.reset(); }
  void Open() {
    store_.reset();
    auto store = place_.Open();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  std::vector<RecordResult> Record(const std::vector<BillingEvent>& events) {
    auto results = store_->RecordEvents(events);
    EXPECT_TRUE(results.ok()) << results.status();
    std::vector<RecordResult> out;
    if (!results.ok()) return out;
    for (auto& r : *results) {
      EXPECT_TRUE(r.ok()) << r.status();
      out.push_back(r.ok() ? *r : RecordResult::kDuplicate);
    }
    return out;
  }
  LedgerCheckResult Check() {
    auto check = store_->CheckLedger();
    EXPECT_TRUE(check.ok()) << check.status();
    return check.ok() ? *check : LedgerCheckResult{};
  }

  attex::testing::TestStore place_{GetParam()};
  std::unique_ptr<Store> store_;
};

using R = RecordResult;

TEST_P(LedgerTest, GroupOfEventsIsRecordedTogetherWithDuplicatesInsideTheGroupBilledOnce) {
  EXPECT_EQ(Record({Impression("a", 1000), Impression("b", 2000), Impression("a", 1000)}),
            (std::vector<R>{R::kAccepted, R::kAccepted, R::kDuplicate}));
  auto spend = store_->GetSpend("cmp-1", kNow / kDay * kDay);
  ASSERT_TRUE(spend.ok());
  EXPECT_EQ(spend->total_micros, 3000);
  const LedgerCheckResult check = Check();
  EXPECT_TRUE(check.ok()) << (check.problems.empty() ? "" : check.problems[0]);
  EXPECT_EQ(check.events_checked, 2);
  EXPECT_EQ(check.campaigns_checked, 1);
  EXPECT_EQ(check.ledger_sum_micros, 0);
}

TEST_P(LedgerTest, InvalidEventFailsAloneAndTheRestOfTheGroupCommits) {
  BillingEvent unbalanced = Impression("bad", 1000);
  unbalanced.entries[0].amount_micros = -999;
  auto results = store_->RecordEvents({Impression("a", 1000), unbalanced, Impression("b", 500)});
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_TRUE((*results)[0].ok());
  EXPECT_FALSE((*results)[1].ok());
  EXPECT_TRUE((*results)[2].ok());
  EXPECT_TRUE(Check().ok());
  EXPECT_EQ(Check().events_checked, 2);
}

TEST_P(LedgerTest, ImpressionPastTheTotalBudgetIsRefusedAndRecordsNothing) {
  EXPECT_EQ(
      Record({Capped(Impression("a", 4000), 0, 10'000), Capped(Impression("b", 4000), 0, 10'000),
              Capped(Impression("c", 4000), 0, 10'000), Capped(Impression("d", 2000), 0, 10'000)}),
      (std::vector<R>{R::kAccepted, R::kAccepted, R::kOverBudget, R::kAccepted}));
  auto spend = store_->GetSpend("cmp-1", 0);
  ASSERT_TRUE(spend.ok());
  EXPECT_EQ(spend->total_micros, 10'000);
  EXPECT_EQ(spend->impressions, 3);
  // Refused, not recorded: it is refused again, not a duplicate.
  EXPECT_EQ(Record({Capped(Impression("c", 4000), 0, 10'000)}), (std::vector<R>{R::kOverBudget}));
  EXPECT_TRUE(Check().ok());
}

TEST_P(LedgerTest, DailyCapStartsAfreshOnTheNextUtcDay) {
  EXPECT_EQ(Record({Capped(Impression("a", 3000), 5000, 100'000),
                    Capped(Impression("b", 3000), 5000, 100'000),
                    Capped(Impression("c", 3000, kNow + kDay), 5000, 100'000)}),
            (std::vector<R>{R::kAccepted, R::kOverBudget, R::kAccepted}));
}

TEST_P(LedgerTest, CapHoldsAcrossReopeningTheStore) {
  ASSERT_EQ(Record({Capped(Impression("a", 6000), 0, 10'000)}), (std::vector<R>{R::kAccepted}));
  Open();
  EXPECT_EQ(
      Record({Capped(Impression("b", 6000), 0, 10'000), Capped(Impression("a", 6000), 0, 10'000)}),
      (std::vector<R>{R::kOverBudget, R::kDuplicate}));
}

TEST_P(LedgerTest, CheckFindsEachCampaignsSpendInItsAdvertiserDebits) {
  ASSERT_EQ(Record({Impression("a", 1000, kNow, "cmp-1"), Impression("b", 3000, kNow, "cmp-2")}),
            (std::vector<R>{R::kAccepted, R::kAccepted}));
  const LedgerCheckResult check = Check();
  EXPECT_TRUE(check.ok());
  EXPECT_EQ(check.campaigns_checked, 2);
  EXPECT_EQ(check.accounts_checked, 4);
}

TEST_P(LedgerTest, StatementFailingHalfWayFailsItsEventAloneAndUndoesItsWrites) {
  // A trigger makes the ledger refuse one account, after the event's row and
  // its spend have been written: the group is redone with a savepoint per
  // event, so the poisoned event leaves nothing behind.
  const absl::Status created = place_.Exec(
      GetParam() == attex::testing::Backend::kSqlite
          ? "CREATE TRIGGER poison BEFORE INSERT ON ledger WHEN NEW.account = "
            "'user:poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
          : "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.account = "
            "'user:poison' THEN RAISE 'poisoned'; END IF; RETURN NEW; END $$ LANGUAGE "
            "plpgsql; CREATE TRIGGER poison BEFORE INSERT ON ledger FOR EACH ROW EXECUTE "
            "FUNCTION poison()");
  ASSERT_TRUE(created.ok()) << created;
  Open();
  BillingEvent poisoned = Impression("p", 1000);
  poisoned.entries[2].account = "user:poison";
  auto results = store_->RecordEvents(
      {Impression("a", 1000), poisoned, Impression("b", 500), Impression("a", 1000)});
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 4u);
  EXPECT_EQ(*(*results)[0], R::kAccepted);
  EXPECT_FALSE((*results)[1].ok());
  EXPECT_EQ(*(*results)[2], R::kAccepted);
  EXPECT_EQ(*(*results)[3], R::kDuplicate);
  auto spend = store_->GetSpend("cmp-1", 0);
  ASSERT_TRUE(spend.ok());
  EXPECT_EQ(spend->total_micros, 1500);
  EXPECT_EQ(spend->impressions, 2);
  const LedgerCheckResult check = Check();
  EXPECT_TRUE(check.ok()) << (check.problems.empty() ? "" : check.problems[0]);
  EXPECT_EQ(check.events_checked, 2);
}

// PostgreSQL gets a group's campaigns and ledger rows as array parameters:
// names with quotes, backslashes, commas and braces arrive as they were.
TEST_P(LedgerTest, NamesWithQuotesBackslashesCommasAndBracesAreWrittenAsGiven) {
  const std::string campaign = "cmp-\"x\",{y}\\z";
  const std::string user = "user:a \"b\" \\c {d},e NULL";
  BillingEvent odd = Impression("h,\"1\"", 1000, kNow, campaign);
  odd.entries[2].account = user;
  ASSERT_EQ(Record({odd, Impression("h2", 3000, kNow, "cmp-1"),
                    Capped(Impression("h3", 500, kNow, campaign), 0, 10'000)}),
            (std::vector<R>{R::kAccepted, R::kAccepted, R::kAccepted}));
  auto spend = store_->GetSpend(campaign, 0);
  ASSERT_TRUE(spend.ok()) << spend.status();
  EXPECT_EQ(spend->total_micros, 1500);
  auto balances = store_->Balances("user:a ");
  ASSERT_TRUE(balances.ok()) << balances.status();
  ASSERT_EQ(balances->accounts.size(), 1u);
  EXPECT_EQ(balances->accounts[0].account, user);
  EXPECT_EQ(balances->accounts[0].balance_micros, 200);  // 20% of 1000.
  const LedgerCheckResult check = Check();
  EXPECT_TRUE(check.ok()) << (check.problems.empty() ? "" : check.problems[0]);
  EXPECT_EQ(check.campaigns_checked, 2);
}

// Two replicas on one database: 2 stores x 4 threads bill 40 impressions
// against a budget of exactly 25, every token reported through both stores
// at once. The cap and the dedup hold in the database, not in a process.
TEST_P(LedgerTest, TwoStoresOnOneDatabaseNeverOverspendAndBillEachTokenOnce) {
  constexpr int kTokens = 40;
  constexpr int64_t kPrice = 1000, kBudget = 25 * kPrice;
  auto other = place_.Open();
  ASSERT_TRUE(other.ok()) << other.status();
  Store* stores[2] = {store_.get(), other->get()};
  std::atomic<int> accepted{0}, duplicates{0}, over{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Store* store = stores[t % 2];
      // Threads t and t+1 (one per store) take the same tokens; each
      // thread records its tokens in groups of two.
      for (int i = (t / 2) % 4; i < kTokens; i += 8) {
        auto results = store->RecordEvents(
            {Capped(Impression(absl::StrCat("tok-", i), kPrice), 0, kBudget),
             Capped(Impression(absl::StrCat("tok-", i + 4), kPrice), 0, kBudget)});
        if (!results.ok()) {
          ++errors;
          continue;
        }
        for (auto& r : *results) {
          if (!r.ok()) {
            ++errors;
          } else if (*r == R::kAccepted) {
            ++accepted;
          } else if (*r == R::kDuplicate) {
            ++duplicates;
          } else {
            ++over;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(accepted.load(), 25);
  // Each of the 80 reports is accepted once per token, or a duplicate of an
  // accepted one, or refused as over budget.
  EXPECT_EQ(accepted.load() + duplicates.load() + over.load(), 2 * kTokens);
  auto spend = store_->GetSpend("cmp-1", 0);
  ASSERT_TRUE(spend.ok());
  EXPECT_EQ(spend->total_micros, kBudget);
  EXPECT_EQ(spend->impressions, 25);
  const LedgerCheckResult check = Check();
  EXPECT_TRUE(check.ok()) << (check.problems.empty() ? "" : check.problems[0]);
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerTest,
                         ::testing::Values(attex::testing::Backend::kSqlite,
                                           attex::testing::Backend::kPostgres),
                         attex::testing::BackendName);

}  // namespace
}  // namespace attex::store
