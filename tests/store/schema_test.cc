// Migrations: a data dir written by an earlier schema opens with its data.
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/testing/sqlite_file.h"
#include "tests/testing/temp_dir.h"

namespace attex::store {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;
constexpr int64_t kDayStart = kNow / 86'400'000 * 86'400'000;

// The tables of schema versions 1 and 2 as those versions created them.
constexpr const char* kV1Tables = R"sql(
PRAGMA page_size=4096;
PRAGMA journal_mode=WAL;
CREATE TABLE accounts(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE,
  role INTEGER NOT NULL, name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
  created_at_ms INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE campaigns(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE,
  advertiser_id TEXT NOT NULL, version INTEGER NOT NULL, body BLOB,
  updated_at_ms INTEGER NOT NULL);
CREATE INDEX campaigns_advertiser ON campaigns(advertiser_id, seq);
CREATE TABLE events(token_hash TEXT NOT NULL, type INTEGER NOT NULL,
  event_id TEXT NOT NULL, campaign_id TEXT NOT NULL, platform_id TEXT NOT NULL,
  price_micros INTEGER NOT NULL, at_ms INTEGER NOT NULL,
  PRIMARY KEY(token_hash, type));
CREATE INDEX events_campaign ON events(campaign_id);
CREATE TABLE ledger(id INTEGER PRIMARY KEY, token_hash TEXT NOT NULL,
  account TEXT NOT NULL, campaign_id TEXT NOT NULL,
  amount_micros INTEGER NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX ledger_account ON ledger(account);
CREATE INDEX ledger_campaign ON ledger(campaign_id);
INSERT INTO events VALUES('h1', 1, 'e1', 'cmp-1', 'acc-2', 3000, 1700000000000);
INSERT INTO events VALUES('h2', 1, 'e2', 'cmp-1', 'acc-2', 2000, 1700000000000);
INSERT INTO events VALUES('h1', 2, 'e3', 'cmp-1', 'acc-2', 0, 1700000000000);
INSERT INTO ledger(token_hash, account, campaign_id, amount_micros, at_ms) VALUES
  ('h1', 'advertiser:acc-3', 'cmp-1', -3000, 1700000000000),
  ('h1', 'platform:acc-2', 'cmp-1', 2400, 1700000000000),
  ('h1', 'user:u1', 'cmp-1', 300, 1700000000000),
  ('h1', 'exchange', 'cmp-1', 300, 1700000000000),
  ('h2', 'advertiser:acc-3', 'cmp-1', -2000, 1700000000000),
  ('h2', 'platform:acc-2', 'cmp-1', 1600, 1700000000000),
  ('h2', 'user:u1', 'cmp-1', 200, 1700000000000),
  ('h2', 'exchange', 'cmp-1', 200, 1700000000000);
)sql";

constexpr const char* kV2Tables = R"sql(
CREATE TABLE campaign_spend(campaign_id TEXT PRIMARY KEY,
  total_micros INTEGER NOT NULL, day INTEGER NOT NULL,
  today_micros INTEGER NOT NULL);
INSERT INTO campaign_spend VALUES('cmp-1', 5000, 19675, 5000);
PRAGMA user_version = 2;
)sql";

BillingEvent Impression(const std::string& token_hash, int64_t price) {
  BillingEvent e{.token_hash = token_hash,
                 .type = attex::v1::EVENT_TYPE_IMPRESSION,
                 .event_id = "ev-" + token_hash,
                 .campaign_id = "cmp-1",
                 .platform_id = "acc-2",
                 .price_micros = price,
                 .at_ms = kNow,
                 .entries = {{"advertiser:acc-3", -price}, {"platform:acc-2", price}}};
  e.enforce_budget = true;
  e.total_budget_micros = 6000;
  return e;
}

class SchemaMigrationTest : public ::testing::Test {
 protected:
  // Writes a database as an earlier version of the store left it.
  void WriteOldDatabase(const std::string& sql) {
    attex::testing::SqliteFile db(dir_ + "/attex.db", attex::testing::SqliteFile::Mode::kReadWrite);
    ASSERT_TRUE(db.ok());
    const absl::Status written = db.Exec(sql);
    EXPECT_TRUE(written.ok()) << written;
  }

  // The first column of the first row of sql, as text ("" for none).
  std::string Query(const std::string& sql) {
    return attex::testing::QueryValue(dir_ + "/attex.db", sql);
  }

  // Opens the old database with the current store and checks that the data
  // survived and that the spend counter still caps the budget.
  void ExpectMigratedWithData() {
    auto store = OpenSqliteStore(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto spend = (*store)->GetSpend("cmp-1", kDayStart);
    ASSERT_TRUE(spend.ok()) << spend.status();
    EXPECT_EQ(spend->total_micros, 5000);
    EXPECT_EQ(spend->impressions, 2);
    EXPECT_EQ(spend->clicks, 1);
    auto users = (*store)->Balances("user:");
    ASSERT_TRUE(users.ok()) << users.status();
    ASSERT_EQ(users->accounts.size(), 1u);
    EXPECT_EQ(users->accounts[0].balance_micros, 500);
    EXPECT_EQ(users->ledger_sum_micros, 0);
    auto check = (*store)->CheckLedger();
    ASSERT_TRUE(check.ok()) << check.status();
    EXPECT_TRUE(check->ok()) << check->problems[0];
    EXPECT_EQ(check->events_checked, 2);
    // Recorded before: still a duplicate. The migrated counter (5000 of
    // 6000) refuses 2000 more and takes 1000.
    auto results = (*store)->RecordEvents(
        {Impression("h1", 3000), Impression("h3", 2000), Impression("h4", 1000)});
    ASSERT_TRUE(results.ok()) << results.status();
    EXPECT_EQ(*(*results)[0], RecordResult::kDuplicate);
    EXPECT_EQ(*(*results)[1], RecordResult::kOverBudget);
    EXPECT_EQ(*(*results)[2], RecordResult::kAccepted);
    store->reset();

    EXPECT_EQ(Query("PRAGMA user_version"), "3");
    EXPECT_EQ(Query("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(Query("PRAGMA page_size"), "1024");
    EXPECT_EQ(Query("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(Query("SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE 'ledger_%'"), "0");
    EXPECT_EQ(Query("SELECT total_micros FROM campaign_spend WHERE campaign_id = 'cmp-1'"), "6000");
    EXPECT_EQ(Query("SELECT COUNT(*) FROM events"), "4");
    EXPECT_EQ(Query("SELECT COUNT(*) FROM ledger"), "10");
  }

  attex::testing::TempDir temp_;
  const std::string dir_ = temp_.path();
};

TEST_F(SchemaMigrationTest, Version2DatabaseOpensWithItsEventsLedgerAndSpend) {
  WriteOldDatabase(std::string(kV1Tables) + kV2Tables);
  ExpectMigratedWithData();
}

TEST_F(SchemaMigrationTest, Version1DatabaseGetsItsSpendCounterFromItsEvents) {
  WriteOldDatabase(kV1Tables);
  ExpectMigratedWithData();
}

TEST_F(SchemaMigrationTest, CurrentDatabaseReopensUnchanged) {
  {
    auto store = OpenSqliteStore(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto r = (*store)->RecordEvent(Impression("h1", 3000));
    ASSERT_TRUE(r.ok()) << r.status();
  }
  const std::string schema = Query("SELECT group_concat(sql, ';') FROM sqlite_schema");
  auto store = OpenSqliteStore(dir_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*(*store)->RecordEvent(Impression("h1", 3000)), RecordResult::kDuplicate);
  store->reset();
  EXPECT_EQ(Query("SELECT group_concat(sql, ';') FROM sqlite_schema"), schema);
}

// Campaigns are stored as their protobuf (campaigns.body), so creative
// sizes, MIME types, durations, categories and advertiser domains need no
// migration: a body the previous release wrote reads with the documented
// defaults (no size, no domains), and the new fields survive an update and
// a restart, in schema version 3.
TEST_F(SchemaMigrationTest, CampaignBodiesOfTheLastReleaseReadWithNoSizesOrDomains) {
  { ASSERT_TRUE(OpenSqliteStore(dir_).ok()); }
  attex::v1::Campaign old;  // As the last release stored it.
  old.set_id("cmp-1");
  old.set_advertiser_id("acc-3");
  old.set_name("spring");
  old.set_version(1);
  old.set_bid_cpm_micros(2'000'000);
  old.mutable_budget()->set_total_micros(10'000'000);
  auto* creative = old.add_creatives();
  creative->set_id("cr-1");
  creative->set_format("banner");
  creative->set_category("IAB17");
  creative->add_features("kw:a");
  WriteOldDatabase(
      absl::StrCat("INSERT INTO campaigns(id, advertiser_id, version, body, updated_at_ms) VALUES "
                   "('cmp-1', 'acc-3', 1, X'",
                   absl::BytesToHexString(old.SerializeAsString()), "', 1700000000000);"));
  {
    auto store = OpenSqliteStore(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto got = (*store)->GetCampaign("cmp-1");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->adomain_size(), 0);
    EXPECT_EQ(got->creatives(0).w(), 0);
    EXPECT_EQ(got->creatives(0).h(), 0);
    EXPECT_TRUE(got->creatives(0).mime().empty());
    EXPECT_EQ(got->creatives(0).categories_size(), 0);
    attex::v1::Campaign updated = *got;
    updated.add_adomain("stride.example");
    updated.mutable_creatives(0)->set_w(300);
    updated.mutable_creatives(0)->set_h(250);
    updated.mutable_creatives(0)->add_categories("IAB17-44");
    ASSERT_TRUE((*store)->UpdateCampaign(updated, 0, kNow).ok());
  }
  auto store = OpenSqliteStore(dir_);
  ASSERT_TRUE(store.ok()) << store.status();
  auto got = (*store)->GetCampaign("cmp-1");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->adomain_size(), 1);
  EXPECT_EQ(got->adomain(0), "stride.example");
  EXPECT_EQ(got->creatives(0).w(), 300);
  EXPECT_EQ(got->creatives(0).h(), 250);
  EXPECT_EQ(got->creatives(0).categories(0), "IAB17-44");
  store->reset();
  EXPECT_EQ(Query("PRAGMA user_version"), "3");
}

TEST_F(SchemaMigrationTest, NewerSchemaIsRefused) {
  WriteOldDatabase("PRAGMA user_version = 99;");
  auto store = OpenSqliteStore(dir_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace attex::store
