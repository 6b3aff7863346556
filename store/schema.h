// The SQLite schema of the store and its migrations, tracked in
// PRAGMA user_version.
#ifndef ATTEX_STORE_SCHEMA_H_
#define ATTEX_STORE_SCHEMA_H_

#include <sqlite3.h>

#include "absl/status/status.h"

namespace attex::store {

inline constexpr int kSchemaVersion = 3;

// Brings the schema to kSchemaVersion from any earlier version (0: a new
// database, or version 1, which did not set user_version), keeping the
// data, and sets user_version, in one transaction. FAILED_PRECONDITION when the database was
// written by a newer schema than this binary knows; INTERNAL on SQLite errors.
absl::Status MigrateSchema(sqlite3* db);

}  // namespace attex::store

#endif  // ATTEX_STORE_SCHEMA_H_
