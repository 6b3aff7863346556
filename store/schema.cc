#include "store/schema.h"

#include "absl/strings/str_cat.h"
#include "store/sqlite.h"

namespace attex::store {
namespace {

// Version 1. ids ("acc-<seq>", "cmp-<seq>") are derived from AUTOINCREMENT
// seqs so that they are never reused, even after deletes.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS accounts(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT UNIQUE,
  role INTEGER NOT NULL,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_at_ms INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS campaigns(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT UNIQUE,
  advertiser_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  body BLOB,
  updated_at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS campaigns_advertiser ON campaigns(advertiser_id, seq);
CREATE TABLE IF NOT EXISTS events(
  token_hash TEXT NOT NULL,
  type INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  campaign_id TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  price_micros INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY(token_hash, type));
CREATE INDEX IF NOT EXISTS events_campaign ON events(campaign_id);
CREATE TABLE IF NOT EXISTS ledger(
  id INTEGER PRIMARY KEY,
  token_hash TEXT NOT NULL,
  account TEXT NOT NULL,
  campaign_id TEXT NOT NULL,
  amount_micros INTEGER NOT NULL,
  at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_account ON ledger(account);
CREATE INDEX IF NOT EXISTS ledger_campaign ON ledger(campaign_id);
)sql";

// Version 2: per-campaign billed spend, kept in the transaction of each
// billed event so that the hard budget cap reads one row. Filled from the
// events of a version 1 database.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS campaign_spend(
  campaign_id TEXT PRIMARY KEY,
  total_micros INTEGER NOT NULL,
  day INTEGER NOT NULL,
  today_micros INTEGER NOT NULL);
INSERT OR REPLACE INTO campaign_spend(campaign_id, total_micros, day, today_micros)
SELECT e.campaign_id, SUM(e.price_micros), d.day,
       SUM(CASE WHEN e.at_ms / 86400000 = d.day THEN e.price_micros ELSE 0 END)
FROM events e
JOIN (SELECT campaign_id, MAX(at_ms) / 86400000 AS day FROM events
      WHERE type = 1 GROUP BY campaign_id) d ON d.campaign_id = e.campaign_id
WHERE e.type = 1
GROUP BY e.campaign_id;
)sql";

// Version 3: only what a query needs is written per billed event. No query
// can use ledger_account (balances match a prefix with substr) or
// ledger_campaign (the check aggregates the whole ledger), so they go: each
// billed event wrote eight index entries for them. campaign_spend, read and
// written by every billed event, becomes one B-tree keyed by campaign_id
// instead of a rowid table plus its primary-key index.
constexpr const char* kSchemaV3 = R"sql(
DROP INDEX IF EXISTS ledger_account;
DROP INDEX IF EXISTS ledger_campaign;
CREATE TABLE campaign_spend_v3(
  campaign_id TEXT PRIMARY KEY,
  total_micros INTEGER NOT NULL,
  day INTEGER NOT NULL,
  today_micros INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO campaign_spend_v3(campaign_id, total_micros, day, today_micros)
SELECT campaign_id, total_micros, day, today_micros FROM campaign_spend;
DROP TABLE campaign_spend;
ALTER TABLE campaign_spend_v3 RENAME TO campaign_spend;
)sql";

absl::StatusOr<int64_t> ReadInt(sqlite3* db, const char* sql) {
  absl::StatusOr<sqlite::Statement> stmt = sqlite::Statement::Prepare(db, sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? stmt->Int(0) : 0;
}

}  // namespace

absl::Status MigrateSchema(sqlite3* db) {
  sqlite::Transaction txn(db);
  if (absl::Status s = txn.Begin(sqlite::Transaction::Mode::kImmediate); !s.ok()) return s;
  // Version 1 did not set user_version: 0 is a new database or version 1.
  absl::StatusOr<int64_t> stored = ReadInt(db, "PRAGMA user_version");
  if (!stored.ok()) return stored.status();
  if (*stored > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat("database schema version ", *stored,
                                                      " is newer than this binary's (",
                                                      kSchemaVersion, ")"));
  }
  if (*stored == kSchemaVersion) return txn.Commit();
  // Each step takes the schema of the version before it to the next, so a
  // new database walks through them all (on empty tables: cheap).
  if (absl::Status s = sqlite::Exec(db, kSchemaV1); !s.ok()) return s;
  if (*stored < 2) {
    if (absl::Status s = sqlite::Exec(db, kSchemaV2); !s.ok()) return s;
  }
  if (absl::Status s = sqlite::Exec(db, kSchemaV3); !s.ok()) return s;
  if (absl::Status s =
          sqlite::Exec(db, absl::StrCat("PRAGMA user_version = ", kSchemaVersion).c_str());
      !s.ok())
    return s;
  return txn.Commit();
}

}  // namespace attex::store
