// The SQL of billing events, spend and the double-entry ledger, as functions
// of an open connection: SqliteStore's ledger methods take its lock and call
// these. Internal to attex::store.
//
// Every function that takes `db` needs the store's connection, configured
// and migrated by OpenStoreDatabase (sqlite_open.h), and the lock that
// serialises it (SqliteStore::mu_), held by the caller for the whole call:
// none of them locks. EventStatements are used under the same lock as their
// connection. RecordEventBatch, ReadBalances and CheckLedgerTables begin
// their own transaction (so none may be open on db when they are called)
// and commit it or roll it back before they return; ReadSpend and
// ReadAllSpend run one statement each, in SQLite's implicit transaction.
// SQLite's failures are returned as sqlite::Error maps them (INTERNAL,
// mostly).
#ifndef ATTEX_STORE_SQLITE_LEDGER_H_
#define ATTEX_STORE_SQLITE_LEDGER_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace attex::store {

// The prepared statements that record billing events, kept for the life of
// the connection and reused (sqlite3_reset) by every group commit. Declare
// them after the connection's handle so that they are finalised before it
// closes.
struct EventStatements {
  sqlite::Statement insert_event;  // ON CONFLICT DO NOTHING: the dedup.
  sqlite::Statement event_exists;
  sqlite::Statement read_spend;
  sqlite::Statement write_spend;
  sqlite::Statement insert_entry;
  // The four entries of a billed impression (advertiser, platform, user,
  // exchange) in one statement.
  sqlite::Statement insert_four_entries;
  // Only for the fallback that records each event in its own savepoint.
  sqlite::Statement savepoint;
  sqlite::Statement rollback_to;
  sqlite::Statement release;
};

// Prepares them on db. INTERNAL on SQLite errors.
absl::StatusOr<EventStatements> PrepareEventStatements(sqlite3* db);

// Store::RecordEvents on db: records events[i] for each i with validated[i]
// ok (validated as ValidateEvents, store_checks.h, answers) in one BEGIN IMMEDIATE
// transaction, and answers validated with those results filled in. The
// transaction runs without savepoints first; should a statement fail half
// way, it is rolled back and run again with a savepoint per event, so that
// the failing event fails alone. The outer status fails when the
// transaction as a whole failed (nothing recorded).
absl::StatusOr<std::vector<absl::StatusOr<RecordResult>>> RecordEventBatch(
    sqlite3* db, EventStatements& statements, const std::vector<BillingEvent>& events,
    const std::vector<absl::StatusOr<RecordResult>>& validated);

// Store::GetSpend and Store::AllSpend on db: totals from the events table.
absl::StatusOr<SpendTotals> ReadSpend(sqlite3* db, const std::string& campaign_id,
                                      int64_t day_start_ms);
absl::StatusOr<std::vector<std::pair<std::string, SpendTotals>>> ReadAllSpend(sqlite3* db,
                                                                              int64_t day_start_ms);

// Store::Balances on db, in one read transaction.
absl::StatusOr<LedgerBalances> ReadBalances(sqlite3* db, const std::string& prefix);

// Store::CheckLedger on db, in one read transaction.
absl::StatusOr<LedgerCheckResult> CheckLedgerTables(sqlite3* db);

}  // namespace attex::store

#endif  // ATTEX_STORE_SQLITE_LEDGER_H_
