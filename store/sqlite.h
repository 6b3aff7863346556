// A thin RAII layer over the SQLite C API: an owned connection, prepared
// statements with bound parameters, and scoped transactions. Not thread-safe:
// callers serialise access to one connection themselves.
#ifndef ATTEX_STORE_SQLITE_H_
#define ATTEX_STORE_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attex::store::sqlite {

// Closes the connection when the last owner goes away.
struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

// Opens (creating if needed) the database file at path. INTERNAL on failure.
absl::StatusOr<DbHandle> Open(const std::string& path);

// The status for SQLite result `code` on db: ALREADY_EXISTS for a UNIQUE or
// PRIMARY KEY violation, INTERNAL (with sqlite3_errmsg) for anything else.
absl::Status Error(sqlite3* db, int code, absl::string_view what);

// Runs SQL that takes no parameters and returns no rows we need (schema,
// pragmas without results, BEGIN/COMMIT). Never pass user data here.
absl::Status Exec(sqlite3* db, const char* sql);

// One prepared statement. Bind failures are remembered and reported by the
// next Step, so binds can be chained.
class Statement final {
 public:
  static absl::StatusOr<Statement> Prepare(sqlite3* db, absl::string_view sql);

  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  // 1-based parameter index, as in sqlite3_bind_*.
  Statement& BindInt(int index, int64_t value);
  Statement& BindText(int index, absl::string_view value);
  Statement& BindBlob(int index, absl::string_view value);
  // Binds without copying: value must stay alive and unchanged until the
  // statement is Reset (the hot path, where the copy is measurable).
  Statement& BindTextRef(int index, absl::string_view value);

  // true when a row is ready, false when the statement is done.
  absl::StatusOr<bool> Step();
  // Steps a statement that must not return rows (INSERT/UPDATE without
  // RETURNING).
  absl::Status Run();
  // Makes the statement ready to run again with new bindings.
  void Reset();

  // 0-based column index of the current row.
  int64_t Int(int column) const;
  std::string Text(int column) const;
  std::string Blob(int column) const;

 private:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void NoteBind(int code, int index);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  absl::Status bind_status_;
};

// A transaction that rolls back on destruction unless Commit succeeded.
class Transaction final {
 public:
  enum class Mode { kDeferred, kImmediate };

  explicit Transaction(sqlite3* db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  absl::Status Begin(Mode mode);
  absl::Status Commit();

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace attex::store::sqlite

#endif  // ATTEX_STORE_SQLITE_H_
