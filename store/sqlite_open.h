// Opening the store's SQLite database file and making it ready for
// SqliteStore. Internal to attex::store.
#ifndef ATTEX_STORE_SQLITE_OPEN_H_
#define ATTEX_STORE_SQLITE_OPEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "store/sqlite.h"

namespace attex::store {

// Opens (creating if needed) the database file at path, whose directory
// must exist, and answers the connection configured: a busy timeout, WAL
// mode (INTERNAL when the file system cannot do WAL), synchronous=FULL,
// foreign keys on, the schema migrated to kSchemaVersion (MigrateSchema's
// errors), and 1 KiB pages, a database made with other pages being
// rewritten once when it can be (quietly left as it is when not). The
// caller owns the connection; like any, it is used by one thread at a time.
absl::StatusOr<sqlite::DbHandle> OpenStoreDatabase(const std::string& path);

}  // namespace attex::store

#endif  // ATTEX_STORE_SQLITE_OPEN_H_
