// The prepared statements that record billing events, kept for the life of
// SqliteStore's connection and reused (sqlite3_reset) by every group commit.
// Internal to attex::store.
#ifndef ATTEX_STORE_EVENT_STATEMENTS_H_
#define ATTEX_STORE_EVENT_STATEMENTS_H_

#include <sqlite3.h>

#include "absl/status/statusor.h"
#include "store/sqlite.h"

namespace attex::store {

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

// Prepares them on db, whose schema must be current (MigrateSchema).
absl::StatusOr<EventStatements> PrepareEventStatements(sqlite3* db);

}  // namespace attex::store

#endif  // ATTEX_STORE_EVENT_STATEMENTS_H_
