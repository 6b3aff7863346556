// Opening and configuring the database file: pragmas, migrations, pages.
#include "store/sqlite_open.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "store/schema.h"

namespace attex::store {
namespace {

using sqlite::Statement;

constexpr int kBusyTimeoutMs = 5000;

// Small pages: a billed event inserts its token hash at a random place in
// the events' primary key, so each event dirties a page of its own, and a
// commit writes (and fsyncs) every dirty page whole into the WAL. 1 KiB
// pages write a quarter of what the default 4 KiB pages do.
constexpr int kPageSize = 1024;

// Sets the journal mode, which SQLite answers with the mode in effect: a
// file system that cannot do WAL would silently leave us in another mode.
absl::Status SetJournalMode(sqlite3* db, absl::string_view mode) {
  absl::StatusOr<Statement> stmt =
      Statement::Prepare(db, absl::StrCat("PRAGMA journal_mode=", mode));
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row || stmt->Text(0) != mode) {
    return absl::InternalError(absl::StrCat("sqlite could not set journal_mode ", mode));
  }
  return absl::OkStatus();
}

// Rewrites a database made with other pages (before schema version 3) with
// kPageSize pages, once: a VACUUM, which needs the rollback journal. Only a
// matter of speed, so it gives up quietly (keeping the old pages) when it
// cannot, e.g. while another connection has the file open, or without the
// free space for the copy VACUUM makes. Fails only when it cannot return
// to WAL mode.
absl::Status ConvertPageSize(sqlite3* db) {
  {
    absl::StatusOr<Statement> page_size = Statement::Prepare(db, "PRAGMA page_size");
    if (!page_size.ok()) return page_size.status();
    absl::StatusOr<bool> row = page_size->Step();
    if (!row.ok()) return row.status();
    if (!*row || page_size->Int(0) == kPageSize) return absl::OkStatus();
  }  // Finalised: VACUUM needs no statement in progress.
  if (SetJournalMode(db, "delete").ok()) {
    (void)sqlite::Exec(db, absl::StrCat("PRAGMA page_size=", kPageSize, "; VACUUM").c_str());
  }
  return SetJournalMode(db, "wal");
}

}  // namespace

absl::StatusOr<sqlite::DbHandle> OpenStoreDatabase(const std::string& path) {
  absl::StatusOr<sqlite::DbHandle> db = sqlite::Open(path);
  if (!db.ok()) return db.status();
  sqlite3_busy_timeout(db->get(), kBusyTimeoutMs);
  // Takes effect only in a new database; ConvertPageSize does old ones.
  if (absl::Status s =
          sqlite::Exec(db->get(), absl::StrCat("PRAGMA page_size=", kPageSize).c_str());
      !s.ok())
    return s;
  if (absl::Status s = SetJournalMode(db->get(), "wal"); !s.ok()) return s;
  // synchronous=FULL: every commit is fsynced before it returns (durability
  // is not traded for speed). temp_store=MEMORY keeps the statement journals
  // of savepoints in memory: on disk they cost a pwrite per page touched.
  if (absl::Status s = sqlite::Exec(db->get(),
                                    "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                                    "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = MigrateSchema(db->get()); !s.ok()) return s;
  if (absl::Status s = ConvertPageSize(db->get()); !s.ok()) return s;
  return db;
}

}  // namespace attex::store
