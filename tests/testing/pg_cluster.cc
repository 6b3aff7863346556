#include "tests/testing/pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/testing/ports.h"

namespace attex::testing {
namespace {

constexpr const char* kDefaultBindir = "/usr/lib/postgresql/15/bin";
constexpr const char* kServerAccount = "postgres";

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string all = buf.str();
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgCluster>> PgCluster::Start() {
  std::unique_ptr<PgCluster> cluster(new PgCluster());
  const char* env = std::getenv("ATTEX_PG_BINDIR");
  cluster->bindir_ = env != nullptr && *env != '\0' ? env : kDefaultBindir;
  if (::access((cluster->bindir_ + "/initdb").c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("PostgreSQL is not installed: no ", cluster->bindir_,
                     "/initdb (apt-get install postgresql; deploy/deps.sh installs it)"));
  }
  if (cluster->dir().empty()) return absl::InternalError("no temporary directory");
  if (::geteuid() == 0) {
    // The server's account must own its directory.
    const passwd* pw = ::getpwnam(kServerAccount);
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("running as root, but there is no '", kServerAccount,
                       "' account to run PostgreSQL as (the postgresql package makes it)"));
    }
    if (::chown(cluster->dir().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError(absl::StrCat("chown ", cluster->dir()));
    }
  }
  if (absl::Status s = cluster->CopyTemplate(); !s.ok()) return s;
  absl::StatusOr<int> port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  cluster->port_ = *port;
  if (absl::Status s = cluster->StartServer(); !s.ok()) return s;
  return cluster;
}

PgCluster::~PgCluster() {
  if (running_) {
    (void)RunPg("pg_ctl", {"stop", "-D", dir() + "/data", "-m", "immediate", "-w"});
  }
}

absl::Status PgCluster::RunPg(const std::string& program, const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  if (::geteuid() == 0) argv = {"runuser", "-u", kServerAccount, "--"};
  argv.push_back(program.find('/') == std::string::npos ? bindir_ + "/" + program : program);
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string log = dir() + "/commands.log";
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork");
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::chdir(dir().c_str());  // Readable by the server's account.
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execvp(cargv[0], cargv.data());
    ::_exit(127);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return absl::InternalError("waitpid");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "), " failed (status ", status,
                                          "); its output:\n", Tail(log)));
}

absl::Status PgCluster::CopyTemplate() {
  // initdb takes a second or two; a copy of one made before takes a tenth.
  // The template is made once per machine and account, atomically (made
  // aside, then renamed), so test processes racing to make it agree.
  const char* base = std::getenv("TMPDIR");
  const std::string tmp = base != nullptr && *base != '\0' ? base : "/tmp";
  std::string tag = bindir_;
  for (char& c : tag) {
    if (c == '/') c = '_';
  }
  const std::string tmpl = absl::StrCat(tmp, "/attex-pg-template-", ::geteuid(), tag);
  if (::access((tmpl + "/PG_VERSION").c_str(), R_OK) != 0) {
    const std::string aside = dir() + "/template";
    if (absl::Status s = RunPg("initdb", {"-D", aside, "-U", "attex", "-A", "trust", "-E", "UTF8",
                                          "--locale=C", "--no-sync", "--no-instructions"});
        !s.ok()) {
      return s;
    }
    if (::rename(aside.c_str(), tmpl.c_str()) != 0) {
      std::error_code ec;  // Another process made it first: use theirs.
      std::filesystem::remove_all(aside, ec);
    }
  }
  // As the server's account, which owns the template and must own the copy.
  return RunPg("/bin/cp", {"-a", tmpl, dir() + "/data"});
}

absl::Status PgCluster::StartServer() {
  const std::string options =
      absl::StrCat("-c listen_addresses=127.0.0.1 -p ", port_, " -k ", dir(),
                   " -c fsync=off -c full_page_writes=off -c max_connections=200");
  absl::Status s = RunPg("pg_ctl", {"start", "-D", dir() + "/data", "-w", "-t", "60", "-l",
                                    dir() + "/server.log", "-o", options});
  if (!s.ok()) {
    return absl::InternalError(
        absl::StrCat(s.message(), "\nserver log:\n", Tail(dir() + "/server.log")));
  }
  running_ = true;
  return absl::OkStatus();
}

absl::Status PgCluster::Stop() {
  if (!running_) return absl::OkStatus();
  absl::Status s = RunPg("pg_ctl", {"stop", "-D", dir() + "/data", "-m", "fast", "-w"});
  if (s.ok()) running_ = false;
  return s;
}

absl::Status PgCluster::Restart() {
  if (running_) return absl::OkStatus();
  return StartServer();
}

std::string PgCluster::Dsn(const std::string& database) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=attex dbname=", database,
                      " connect_timeout=10");
}

absl::StatusOr<std::string> PgCluster::CreateDatabase() {
  const std::string name = absl::StrCat("t", ++databases_);
  if (absl::Status s = Exec(Dsn(), absl::StrCat("CREATE DATABASE ", name)); !s.ok()) return s;
  return Dsn(name);
}

absl::Status PgCluster::Exec(const std::string& dsn, const std::string& sql) {
  try {
    pqxx::connection conn(dsn);
    pqxx::nontransaction txn(conn);  // CREATE DATABASE refuses a transaction.
    txn.exec(sql);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(sql, ": ", e.what()));
  }
}

PgCluster* SharedPgCluster(std::string* error) {
  static std::string* failure = new std::string();
  // Leaked on purpose and stopped by atexit: destroyed after the tests, in
  // no static-destruction order fight.
  static PgCluster* cluster = [] {
    absl::StatusOr<std::unique_ptr<PgCluster>> started = PgCluster::Start();
    if (!started.ok()) {
      *failure = std::string(started.status().message());
      return static_cast<PgCluster*>(nullptr);
    }
    PgCluster* c = started->release();
    std::atexit([] { delete SharedPgCluster(nullptr); });
    return c;
  }();
  if (cluster == nullptr && error != nullptr) *error = *failure;
  return cluster;
}

std::vector<std::string> PgReplicaSetup::ServerFlags() const {
  return {"--store=postgres", "--postgres_dsn=" + dsn, "--billing_key_file=" + key_file};
}

absl::StatusOr<PgReplicaSetup> SetUpPgReplicas(const std::string& dir) {
  std::string error;
  PgReplicaSetup setup;
  setup.cluster = SharedPgCluster(&error);
  if (setup.cluster == nullptr) return absl::UnavailableError(error);
  absl::StatusOr<std::string> dsn = setup.cluster->CreateDatabase();
  if (!dsn.ok()) return dsn.status();
  setup.dsn = *std::move(dsn);
  setup.key_file = dir + "/billing.key";
  std::ofstream(setup.key_file) << "0123456789abcdef0123456789abcdef-replicas-key";
  return setup;
}

}  // namespace attex::testing
