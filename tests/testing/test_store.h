// The store tests' back ends: the same tests run against SQLite (a fresh
// data dir) and PostgreSQL (a fresh database in the test binary's shared
// throwaway cluster, pg_cluster.h). A TestStore is the place; Open opens a
// store there, again and again (a reopened store sees what the last one
// wrote).
#ifndef ATTEX_TESTS_TESTING_TEST_STORE_H_
#define ATTEX_TESTS_TESTING_TEST_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {

enum class Backend { kSqlite, kPostgres };

// "Sqlite", "Postgres": test name suffixes for INSTANTIATE_TEST_SUITE_P.
std::string BackendName(const ::testing::TestParamInfo<Backend>& info);

class TestStore final {
 public:
  // For kPostgres a failure to start the cluster or make the database is a
  // test failure (ADD_FAILURE, with what to install), and ok() is false.
  explicit TestStore(Backend backend);

  bool ok() const { return ok_; }
  Backend backend() const { return backend_; }
  absl::StatusOr<std::unique_ptr<attex::store::Store>> Open() const;
  // Runs SQL on the store's database behind its back (SQLite: attex.db in
  // the data dir; PostgreSQL: the test's database).
  absl::Status Exec(const std::string& sql) const;
  const std::string& data_dir() const { return data_dir_; }  // kSqlite.
  const std::string& dsn() const { return dsn_; }            // kPostgres.

 private:
  Backend backend_;
  bool ok_ = true;
  TempDir root_;
  std::string data_dir_;
  std::string dsn_;
};

}  // namespace attex::testing

#endif  // ATTEX_TESTS_TESTING_TEST_STORE_H_
