#include "store/redis.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace attex::store {
namespace {

RedisReply Copy(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.type = r.type == REDIS_REPLY_STRING   ? RedisReply::Type::kString
                 : r.type == REDIS_REPLY_STATUS ? RedisReply::Type::kStatus
                                                : RedisReply::Type::kError;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) out.elements.push_back(Copy(*r.element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Connect(const std::string& addr,
                                                                  absl::Duration timeout) {
  const size_t colon = addr.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(addr.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("Redis address \"", addr, "\" is not host:port (e.g. 127.0.0.1:6379)"));
  }
  std::unique_ptr<RedisClient> client(new RedisClient(addr.substr(0, colon), port, addr, timeout));
  if (auto s = client->Open(); !s.ok()) return s;
  return client;
}

RedisClient::RedisClient(std::string host, int port, std::string addr, absl::Duration timeout)
    : host_(std::move(host)), port_(port), addr_(std::move(addr)), timeout_(timeout) {}

RedisClient::~RedisClient() {
  if (context_ != nullptr) redisFree(context_);
}

absl::Status RedisClient::Open() {
  if (context_ != nullptr) return absl::OkStatus();
  redisContext* c = redisConnectWithTimeout(host_.c_str(), port_, absl::ToTimeval(timeout_));
  if (c == nullptr || c->err != 0) {
    const std::string why = c == nullptr ? "out of memory" : c->errstr;
    if (c != nullptr) redisFree(c);
    return absl::UnavailableError(absl::StrCat("cannot reach Redis at ", addr_, ": ", why));
  }
  if (redisSetTimeout(c, absl::ToTimeval(timeout_)) != REDIS_OK) {
    redisFree(c);
    return absl::UnavailableError(absl::StrCat("cannot set a timeout on Redis at ", addr_));
  }
  context_ = c;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Run(
    const std::vector<std::vector<std::string>>& commands) {
  if (auto s = Open(); !s.ok()) return s;
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& command : commands) {
    argv.clear();
    lengths.clear();
    for (const auto& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                               lengths.data()) != REDIS_OK) {
      return absl::InternalError("cannot format a Redis command");
    }
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      const std::string why = context_->errstr;
      redisFree(context_);
      context_ = nullptr;  // Reopened on the next call.
      return absl::UnavailableError(absl::StrCat("Redis at ", addr_, ": ", why));
    }
    auto* reply = static_cast<redisReply*>(raw);
    replies.push_back(Copy(*reply));
    freeReplyObject(reply);
  }
  return replies;
}

}  // namespace attex::store
