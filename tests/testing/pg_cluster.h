// A throwaway PostgreSQL cluster for tests: initdb (a copy of a template
// cluster made once) into a temporary directory, the server on a free loopback port with its socket
// in that directory, stopped and removed with the object. Run as the unprivileged `postgres`
// account (runuser) when the test runs as root, since PostgreSQL refuses root. The binaries come
// from $ATTEX_PG_BINDIR, else /usr/lib/postgresql/15/bin; when they are missing Start fails, naming
// the package to install (deploy/deps.sh installs it): the PostgreSQL tests fail loudly, never
// skip.
#ifndef ATTEX_TESTS_TESTING_PG_CLUSTER_H_
#define ATTEX_TESTS_TESTING_PG_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {

class PgCluster final {
 public:
  // initdb (trust authentication, superuser "attex", UTF8, C locale, fsync
  // off: a test's data need not survive a power cut) and start.
  static absl::StatusOr<std::unique_ptr<PgCluster>> Start();
  ~PgCluster();  // Stops the server (immediate) and removes the directory.
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Stops the server (fast shutdown) / starts it again on the same port,
  // for tests of a database that goes away.
  absl::Status Stop();
  absl::Status Restart();

  // A fresh, empty database; answers its DSN.
  absl::StatusOr<std::string> CreateDatabase();
  // Runs SQL on the database of `dsn` (the tests' back door: triggers that
  // poison an insert, a schema stepped back).
  absl::Status Exec(const std::string& dsn, const std::string& sql);

  // libpq connection string of `database` over TCP on loopback.
  std::string Dsn(const std::string& database = "postgres") const;
  int port() const { return port_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  PgCluster() = default;
  // Runs `program` (a path, or a name in bindir) with `args` as the
  // server's account; output to the cluster's log. Fails with the log's
  // tail.
  absl::Status RunPg(const std::string& program, const std::vector<std::string>& args);
  absl::Status StartServer();
  // dir()/data: a copy of a cluster initdb made once per machine, in
  // $TMPDIR/attex-pg-template-<uid>_<bindir>.
  absl::Status CopyTemplate();

  TempDir dir_;
  std::string bindir_;
  int port_ = 0;
  bool running_ = false;
  int databases_ = 0;
};

// One cluster for the whole test binary, started on first use and stopped
// at exit. Null after a failed start, with the failure in `*error`.
PgCluster* SharedPgCluster(std::string* error);

// What a test of replicas on PostgreSQL starts from: a fresh database of
// the shared cluster and a billing key file in `dir` for every replica.
struct PgReplicaSetup {
  PgCluster* cluster = nullptr;
  std::string dsn;
  std::string key_file;
  // --store=postgres, --postgres_dsn, --billing_key_file.
  std::vector<std::string> ServerFlags() const;
};
absl::StatusOr<PgReplicaSetup> SetUpPgReplicas(const std::string& dir);

}  // namespace attex::testing

#endif  // ATTEX_TESTS_TESTING_PG_CLUSTER_H_
