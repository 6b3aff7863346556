#include "tests/testing/test_store.h"

#include "tests/testing/pg_cluster.h"
#include "tests/testing/sqlite_file.h"

namespace attex::testing {

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

TestStore::TestStore(Backend backend) : backend_(backend) {
  // Not there yet: OpenSqliteStore creates it.
  data_dir_ = root_.path() + "/data";
  if (backend_ == Backend::kSqlite) return;
  std::string error;
  PgCluster* cluster = SharedPgCluster(&error);
  if (cluster == nullptr) {
    ADD_FAILURE() << "cannot start a PostgreSQL cluster for the test: " << error;
    ok_ = false;
    return;
  }
  absl::StatusOr<std::string> dsn = cluster->CreateDatabase();
  if (!dsn.ok()) {
    ADD_FAILURE() << dsn.status();
    ok_ = false;
    return;
  }
  dsn_ = *dsn;
}

absl::StatusOr<std::unique_ptr<attex::store::Store>> TestStore::Open() const {
  if (!ok_) return absl::FailedPreconditionError("no store: see the failure above");
  return backend_ == Backend::kSqlite ? attex::store::OpenSqliteStore(data_dir_)
                                      : attex::store::OpenPgStore(dsn_);
}

absl::Status TestStore::Exec(const std::string& sql) const {
  if (backend_ == Backend::kSqlite) {
    SqliteFile db(data_dir_ + "/attex.db", SqliteFile::Mode::kReadWrite);
    if (!db.ok()) return absl::InternalError("cannot open attex.db");
    return db.Exec(sql);
  }
  std::string error;
  PgCluster* cluster = SharedPgCluster(&error);
  if (cluster == nullptr) return absl::FailedPreconditionError(error);
  return cluster->Exec(dsn_, sql);
}

}  // namespace attex::testing
