// A test's own connection to an SQLite database file, behind the store's
// back: to read what the store wrote (pragmas, row counts, sums) or to leave
// what an older version or a fault would have left.
#ifndef ATTEX_TESTS_TESTING_SQLITE_FILE_H_
#define ATTEX_TESTS_TESTING_SQLITE_FILE_H_

#include <string>

#include "absl/status/status.h"

struct sqlite3;

namespace attex::testing {

class SqliteFile final {
 public:
  enum class Mode {
    kReadOnly,
    kReadWrite,  // Creates the file if missing.
  };

  // Opens `path`. Failing to open is a test failure (ADD_FAILURE), and then
  // ok() is false.
  explicit SqliteFile(const std::string& path, Mode mode = Mode::kReadOnly);
  ~SqliteFile();
  SqliteFile(const SqliteFile&) = delete;
  SqliteFile& operator=(const SqliteFile&) = delete;

  bool ok() const { return db_ != nullptr; }

  // The first column of the first row of `sql` as text: "" for no row or
  // NULL. A statement that does not compile is a test failure.
  std::string Query(const std::string& sql);
  // Runs `sql`, any number of statements; SQLite's message on failure.
  absl::Status Exec(const std::string& sql);

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

// Opens `path` read-only for the one query: SqliteFile(path).Query(sql).
std::string QueryValue(const std::string& path, const std::string& sql);

}  // namespace attex::testing

#endif  // ATTEX_TESTS_TESTING_SQLITE_FILE_H_
