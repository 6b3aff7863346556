// The SQLite schema of the store and its migrations, tracked in
// PRAGMA user_version.
#ifndef ATTEX_STORE_SCHEMA_H_
#define ATTEX_STORE_SCHEMA_H_

#include <sqlite3.h>

#include "absl/status/status.h"

namespace attex::store {

inline constexpr int kSchemaVersion = 2;

// Creates the tables and indexes that are missing and sets user_version, in
// one transaction. FAILED_PRECONDITION when the database was written by a
// newer schema than this binary knows; INTERNAL on SQLite errors.
absl::Status MigrateSchema(sqlite3* db);

}  // namespace attex::store

#endif  // ATTEX_STORE_SCHEMA_H_
