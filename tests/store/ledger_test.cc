// Group commit, the hard budget cap at billing, and the ledger check.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/testing/billing_events.h"
#include "tests/testing/sqlite_file.h"
#include "tests/testing/temp_dir.h"

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

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override { store_.reset(); }
  void Open() {
    store_.reset();
    auto store = OpenSqliteStore(dir_);
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

  attex::testing::TempDir temp_;
  const std::string dir_ = temp_.path();
  std::unique_ptr<Store> store_;
};

using R = RecordResult;

TEST_F(LedgerTest, GroupOfEventsIsRecordedTogetherWithDuplicatesInsideTheGroupBilledOnce) {
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

TEST_F(LedgerTest, InvalidEventFailsAloneAndTheRestOfTheGroupCommits) {
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

TEST_F(LedgerTest, ImpressionPastTheTotalBudgetIsRefusedAndRecordsNothing) {
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

TEST_F(LedgerTest, DailyCapStartsAfreshOnTheNextUtcDay) {
  EXPECT_EQ(Record({Capped(Impression("a", 3000), 5000, 100'000),
                    Capped(Impression("b", 3000), 5000, 100'000),
                    Capped(Impression("c", 3000, kNow + kDay), 5000, 100'000)}),
            (std::vector<R>{R::kAccepted, R::kOverBudget, R::kAccepted}));
}

TEST_F(LedgerTest, CapHoldsAcrossReopeningTheStore) {
  ASSERT_EQ(Record({Capped(Impression("a", 6000), 0, 10'000)}), (std::vector<R>{R::kAccepted}));
  Open();
  EXPECT_EQ(
      Record({Capped(Impression("b", 6000), 0, 10'000), Capped(Impression("a", 6000), 0, 10'000)}),
      (std::vector<R>{R::kOverBudget, R::kDuplicate}));
}

TEST_F(LedgerTest, CheckFindsEachCampaignsSpendInItsAdvertiserDebits) {
  ASSERT_EQ(Record({Impression("a", 1000, kNow, "cmp-1"), Impression("b", 3000, kNow, "cmp-2")}),
            (std::vector<R>{R::kAccepted, R::kAccepted}));
  const LedgerCheckResult check = Check();
  EXPECT_TRUE(check.ok());
  EXPECT_EQ(check.campaigns_checked, 2);
  EXPECT_EQ(check.accounts_checked, 4);
}

TEST_F(LedgerTest, StatementFailingHalfWayFailsItsEventAloneAndUndoesItsWrites) {
  // A trigger makes the ledger refuse one account, after the event's row and
  // its spend have been written: the group is redone with a savepoint per
  // event, so the poisoned event leaves nothing behind.
  {
    attex::testing::SqliteFile db(dir_ + "/attex.db", attex::testing::SqliteFile::Mode::kReadWrite);
    ASSERT_TRUE(db.ok());
    const absl::Status created = db.Exec(
        "CREATE TRIGGER poison BEFORE INSERT ON ledger WHEN NEW.account = "
        "'user:poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END");
    ASSERT_TRUE(created.ok()) << created;
  }
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

}  // namespace
}  // namespace attex::store
