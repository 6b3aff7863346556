// A throwaway Redis for tests: redis-server (Debian's redis-server) on a
// free loopback port, its files in a temporary directory, nothing saved to
// disk, stopped with the object. When the binary is missing Start fails,
// naming the package (deploy/deps.sh installs it): the Redis tests fail
// loudly, never skip.
#ifndef ATTEX_TESTS_TESTING_REDIS_SERVER_H_
#define ATTEX_TESTS_TESTING_REDIS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {

class RedisServer final {
 public:
  // Starts redis-server ($ATTEX_REDIS_SERVER, else redis-server on PATH or
  // /usr/bin) and waits until it answers PING.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start();
  ~RedisServer();  // SIGKILLs it.
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // SIGKILLs it (everything it held is gone: nothing is saved) / starts a
  // new one on the same port.
  void Kill();
  absl::Status Restart();

  std::string addr() const;  // 127.0.0.1:<port>
  int port() const { return port_; }

 private:
  RedisServer() = default;
  absl::Status Spawn();

  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace attex::testing

#endif  // ATTEX_TESTS_TESTING_REDIS_SERVER_H_
