// The PostgreSQL schema of the store and its migrations, tracked in the
// one-row table attex_schema(version). Internal to attex::store.
#ifndef ATTEX_STORE_PG_SCHEMA_H_
#define ATTEX_STORE_PG_SCHEMA_H_

#include "absl/status/status.h"
#include "store/pg.h"

namespace attex::store {

inline constexpr int kPgSchemaVersion = 2;

// The channel that every committed campaign write notifies (schema 2).
inline constexpr const char* kPgCampaignChannel = "attex_campaigns";

// Brings the schema to `target` (kPgSchemaVersion unless a test asks for an
// earlier one) from any earlier version, keeping the data, in one
// transaction that holds an advisory lock: replicas starting together
// migrate once. FAILED_PRECONDITION when the database was written by a
// newer schema than this binary knows; libpqxx failures as
// pg::CurrentExceptionStatus maps them.
absl::Status MigratePgSchema(pqxx::connection& conn, int target = kPgSchemaVersion);

}  // namespace attex::store

#endif  // ATTEX_STORE_PG_SCHEMA_H_
