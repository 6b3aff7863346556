// A Redis connection for the fleet's shared state (budget slices,
// store/redis_slices.h): hiredis (Debian's libhiredis-dev), synchronous,
// with a timeout on connecting and on every reply, pipelined (the commands
// of one call are sent together and their replies read together), and
// reopened on the next call after it is lost. Not thread-safe: one owner
// thread, never a gRPC reactor.
#ifndef ATTEX_STORE_REDIS_H_
#define ATTEX_STORE_REDIS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct redisContext;

namespace attex::store {

// One reply, copied out of hiredis's.
struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // kString, kStatus, kError.
  std::vector<RedisReply> elements;
};

class RedisClient final {
 public:
  // `addr` is host:port. Connects at once: UNAVAILABLE, naming the address,
  // when Redis cannot be reached within `timeout`; INVALID_ARGUMENT for an
  // address that is not host:port.
  static absl::StatusOr<std::unique_ptr<RedisClient>> Connect(
      const std::string& addr, absl::Duration timeout = absl::Seconds(1));
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends `commands` (each its arguments, binary-safe) in one pipeline and
  // answers their replies in order. A command Redis refuses answers a reply
  // of type kError (the others still run); UNAVAILABLE when the connection
  // failed or timed out (it is reopened on the next call; a command may or
  // may not have run).
  absl::StatusOr<std::vector<RedisReply>> Run(
      const std::vector<std::vector<std::string>>& commands);
  const std::string& addr() const { return addr_; }

 private:
  RedisClient(std::string host, int port, std::string addr, absl::Duration timeout);
  absl::Status Open();

  const std::string host_;
  const int port_;
  const std::string addr_;
  const absl::Duration timeout_;
  redisContext* context_ = nullptr;
};

// For the threads that talk to Redis every round: whether a failure at
// now_ms is to be logged, at most once every 10 s while Redis stays away.
class RedisOutageLog final {
 public:
  bool Due(int64_t now_ms) {
    if (now_ms - last_ms_ < 10'000) return false;
    last_ms_ = now_ms;
    return true;
  }

 private:
  int64_t last_ms_ = -10'000;
};

}  // namespace attex::store

#endif  // ATTEX_STORE_REDIS_H_
