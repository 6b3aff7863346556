#include "tests/testing/redis_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "store/redis.h"
#include "tests/testing/ports.h"

namespace attex::testing {
namespace {

std::string RedisBinary() {
  if (const char* env = std::getenv("ATTEX_REDIS_SERVER"); env != nullptr && *env != '\0') {
    return env;
  }
  return ::access("/usr/bin/redis-server", X_OK) == 0 ? "/usr/bin/redis-server" : "redis-server";
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start() {
  std::unique_ptr<RedisServer> server(new RedisServer());
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  server->port_ = *port;
  if (auto s = server->Spawn(); !s.ok()) return s;
  return server;
}

RedisServer::~RedisServer() { Kill(); }

std::string RedisServer::addr() const { return absl::StrCat("127.0.0.1:", port_); }

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

absl::Status RedisServer::Restart() {
  Kill();
  return Spawn();
}

absl::Status RedisServer::Spawn() {
  const std::string binary = RedisBinary();
  std::vector<std::string> args = {binary,
                                   "--port",
                                   absl::StrCat(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--dir",
                                   dir_.path(),
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--logfile",
                                   dir_.path() + "/redis.log",
                                   "--daemonize",
                                   "no"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) return absl::InternalError("fork");
  if (pid_ == 0) {
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::FailedPreconditionError(absl::StrCat(
          binary, " exited (status ", status,
          ") before serving: is Debian's redis-server installed (deploy/deps.sh)? Its log: ",
          dir_.path(), "/redis.log"));
    }
    auto client = store::RedisClient::Connect(addr(), absl::Milliseconds(200));
    if (client.ok()) {
      auto pong = (*client)->Run({{"PING"}});
      if (pong.ok() && pong->front().str == "PONG") return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill();
  return absl::DeadlineExceededError(
      absl::StrCat("redis-server on port ", port_, " did not answer PING within 10 s"));
}

}  // namespace attex::testing
