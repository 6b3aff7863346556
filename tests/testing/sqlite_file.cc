#include "tests/testing/sqlite_file.h"

#include <sqlite3.h>

#include "gtest/gtest.h"

namespace attex::testing {

SqliteFile::SqliteFile(const std::string& path, Mode mode) : path_(path) {
  const int flags =
      mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    ADD_FAILURE() << "sqlite3_open_v2 " << path << ": " << sqlite3_errstr(rc);
    sqlite3_close(db_);  // A handle is returned even on failure.
    db_ = nullptr;
  }
}

SqliteFile::~SqliteFile() { sqlite3_close(db_); }

std::string SqliteFile::Query(const std::string& sql) {
  if (db_ == nullptr) return "";
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << path_ << ": " << sql << ": " << sqlite3_errmsg(db_);
    return "";
  }
  std::string value;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return value;
}

absl::Status SqliteFile::Exec(const std::string& sql) {
  if (db_ == nullptr) return absl::FailedPreconditionError(path_ + ": not open");
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  absl::Status status = absl::OkStatus();
  if (rc != SQLITE_OK) {
    status = absl::InternalError(path_ + ": " + (error != nullptr ? error : sqlite3_errstr(rc)));
  }
  sqlite3_free(error);
  return status;
}

std::string QueryValue(const std::string& path, const std::string& sql) {
  return SqliteFile(path).Query(sql);
}

}  // namespace attex::testing
