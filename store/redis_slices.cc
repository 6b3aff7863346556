#include "store/redis_slices.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace attex::store {
namespace {

// KEYS[1]: the campaign's hash; ARGV: replica, asked, remaining, lease ms,
// held (what the replica has reserved and not yet billed). Answers
// {granted, others}. The grant is never below `held`: what the replica has
// already placed stays counted against the other replicas until billed,
// else they could place the same money again. Redis's own clock (TIME) dates the leases, so
// replicas' clocks never meet.
constexpr char kLeaseScript[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fields = redis.call('HGETALL', KEYS[1])
local others = 0
for i = 1, #fields, 2 do
  local g, e = string.match(fields[i + 1], '^(%-?%d+) (%d+)$')
  if g == nil or tonumber(e) <= now then
    redis.call('HDEL', KEYS[1], fields[i])
  elseif fields[i] ~= ARGV[1] then
    others = others + tonumber(g)
  end
end
local grant = math.min(tonumber(ARGV[2]), tonumber(ARGV[3]) - others)
grant = math.max(grant, tonumber(ARGV[5]), 0)
local lease = tonumber(ARGV[4])
if grant > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], string.format('%d %d', grant, now + lease))
  redis.call('PEXPIRE', KEYS[1], 2 * lease)
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return {grant, others}
)lua";

// KEYS[1]: the campaign's hash; ARGV: replica, micros to keep. Answers
// what was given back.
constexpr char kReturnScript[] = R"lua(
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local g, e = string.match(v, '^(%-?%d+) (%d+)$')
if g == nil then redis.call('HDEL', KEYS[1], ARGV[1]) return 0 end
local keep = math.min(tonumber(ARGV[2]), tonumber(g))
if keep <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return tonumber(g)
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d %s', keep, e))
return tonumber(g) - keep
)lua";

// KEYS[1]: the campaign's hash. Answers {replica, granted, ...} of the
// unexpired fields.
constexpr char kHoldersScript[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fields = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #fields, 2 do
  local g, e = string.match(fields[i + 1], '^(%-?%d+) (%d+)$')
  if g ~= nil and tonumber(e) > now then
    out[#out + 1] = fields[i]
    out[#out + 1] = tonumber(g)
  end
end
return out
)lua";

absl::Status ReplyError(const RedisReply& reply, const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": Redis answered ", reply.str));
}

}  // namespace

RedisSlices::RedisSlices(std::unique_ptr<RedisClient> client, std::string replica_id,
                         absl::Duration lease)
    : client_(std::move(client)), replica_id_(std::move(replica_id)), lease_(lease) {}

std::string RedisSlices::Key(const std::string& campaign_id) {
  return absl::StrCat("attex:slice:{", campaign_id, "}");
}

absl::StatusOr<std::vector<SliceGrant>> RedisSlices::Lease(
    const std::vector<SliceRequest>& requests) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(requests.size());
  const std::string lease_ms = absl::StrCat(absl::ToInt64Milliseconds(lease_));
  for (const SliceRequest& r : requests) {
    commands.push_back({"EVAL", kLeaseScript, "1", Key(r.campaign_id), replica_id_,
                        absl::StrCat(r.asked_micros), absl::StrCat(r.remaining_micros), lease_ms,
                        absl::StrCat(r.held_micros)});
  }
  auto replies = client_->Run(commands);
  if (!replies.ok()) return replies.status();
  std::vector<SliceGrant> grants;
  grants.reserve(replies->size());
  for (const RedisReply& reply : *replies) {
    if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2) {
      return ReplyError(reply, "leasing a budget slice");
    }
    grants.push_back({reply.elements[0].integer, reply.elements[1].integer});
  }
  return grants;
}

absl::Status RedisSlices::Return(const std::vector<std::pair<std::string, int64_t>>& keep) {
  if (keep.empty()) return absl::OkStatus();
  std::vector<std::vector<std::string>> commands;
  commands.reserve(keep.size());
  for (const auto& [campaign, micros] : keep) {
    commands.push_back(
        {"EVAL", kReturnScript, "1", Key(campaign), replica_id_, absl::StrCat(micros)});
  }
  auto replies = client_->Run(commands);
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (reply.type == RedisReply::Type::kError) return ReplyError(reply, "returning a slice");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> RedisSlices::Holders(
    const std::string& campaign_id) {
  auto replies = client_->Run({{"EVAL", kHoldersScript, "1", Key(campaign_id)}});
  if (!replies.ok()) return replies.status();
  const RedisReply& reply = replies->front();
  if (reply.type != RedisReply::Type::kArray) return ReplyError(reply, "reading slices");
  std::vector<std::pair<std::string, int64_t>> holders;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    holders.emplace_back(reply.elements[i].str, reply.elements[i + 1].integer);
  }
  return holders;
}

}  // namespace attex::store
