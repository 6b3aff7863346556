#include "store/pg_schema.h"

#include "absl/strings/str_cat.h"

namespace attex::store {
namespace {

// Any number, the same in every replica: the lock serialises migrations.
constexpr int64_t kMigrationLock = 0x617474657801;  // "attex" 1; the trigger of v2 takes 2.

// Version 1: the tables of SQLite's schema 3. ids ("acc-<seq>",
// "cmp-<seq>") come from sequences, never reused. campaign_spend holds the
// running spend that the hard budget cap reads and locks (FOR UPDATE) in
// the transaction that bills.
constexpr const char* kPgSchemaV1 = R"sql(
CREATE TABLE accounts(
  seq BIGINT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  role INTEGER NOT NULL,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_at_ms BIGINT NOT NULL,
  revoked BOOLEAN NOT NULL DEFAULT false);
CREATE SEQUENCE accounts_seq;
CREATE TABLE campaigns(
  seq BIGINT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  advertiser_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  body BYTEA NOT NULL,
  updated_at_ms BIGINT NOT NULL);
CREATE SEQUENCE campaigns_seq;
CREATE INDEX campaigns_advertiser ON campaigns(advertiser_id, seq);
CREATE TABLE events(
  token_hash TEXT NOT NULL,
  type SMALLINT NOT NULL,
  event_id TEXT NOT NULL,
  campaign_id TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  price_micros BIGINT NOT NULL,
  at_ms BIGINT NOT NULL,
  PRIMARY KEY(token_hash, type));
CREATE INDEX events_campaign ON events(campaign_id);
CREATE TABLE ledger(
  id BIGSERIAL PRIMARY KEY,
  token_hash TEXT NOT NULL,
  account TEXT NOT NULL,
  campaign_id TEXT NOT NULL,
  amount_micros BIGINT NOT NULL,
  at_ms BIGINT NOT NULL);
CREATE TABLE campaign_spend(
  campaign_id TEXT PRIMARY KEY,
  total_micros BIGINT NOT NULL,
  day BIGINT NOT NULL,
  today_micros BIGINT NOT NULL);
)sql";

// Version 2: the campaign change feed. Every campaign write takes the next
// change_seq and notifies attex_campaigns at commit; a replica reads the
// rows past the last change_seq it has seen. The trigger takes a
// transaction-scoped advisory lock before it draws the number, so campaign
// writes commit in change_seq order and a reader never sees seq n+1
// without n (campaign writes are rare; billing never takes this lock).
constexpr const char* kPgSchemaV2 = R"sql(
CREATE SEQUENCE campaign_changes;
ALTER TABLE campaigns ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
UPDATE campaigns SET change_seq = nextval('campaign_changes');
CREATE INDEX campaigns_change ON campaigns(change_seq);
CREATE FUNCTION attex_campaign_changed() RETURNS trigger AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(107152796907522);  -- 0x617474657802: "attex" 2
  NEW.change_seq := nextval('campaign_changes');
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER campaigns_change_seq BEFORE INSERT OR UPDATE ON campaigns
  FOR EACH ROW EXECUTE FUNCTION attex_campaign_changed();
CREATE FUNCTION attex_campaigns_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('attex_campaigns', '');
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER campaigns_notify AFTER INSERT OR UPDATE ON campaigns
  FOR EACH STATEMENT EXECUTE FUNCTION attex_campaigns_notify();
)sql";

constexpr const char* kPgSteps[] = {kPgSchemaV1, kPgSchemaV2};
static_assert(sizeof(kPgSteps) / sizeof(kPgSteps[0]) == kPgSchemaVersion);

}  // namespace

absl::Status MigratePgSchema(pqxx::connection& conn, int target) {
  try {
    pqxx::work txn(conn);
    txn.exec(absl::StrCat("SELECT pg_advisory_xact_lock(", kMigrationLock, ")"));
    txn.exec("CREATE TABLE IF NOT EXISTS attex_schema(version INTEGER NOT NULL)");
    pqxx::result row = txn.exec("SELECT version FROM attex_schema");
    const int stored = row.empty() ? 0 : row[0][0].as<int>();
    if (stored > kPgSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat("database schema version ", stored,
                                                        " is newer than this binary's (",
                                                        kPgSchemaVersion, ")"));
    }
    if (stored >= target) return absl::OkStatus();  // ~work rolls back: nothing written.
    // Each step takes the schema of the version before it to the next.
    for (int v = stored; v < target; ++v) txn.exec(kPgSteps[v]);
    txn.exec("DELETE FROM attex_schema");
    txn.exec(absl::StrCat("INSERT INTO attex_schema(version) VALUES(", target, ")"));
    txn.commit();
    return absl::OkStatus();
  } catch (...) {
    return pg::CurrentExceptionStatus("migrate the PostgreSQL schema");
  }
}

}  // namespace attex::store
