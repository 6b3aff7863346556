#include "server/shared_caps.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace attex::server {

SharedCaps::SharedCaps(auction::FrequencyCaps* caps, std::unique_ptr<store::RedisClient> redis,
                       std::string replica_id, absl::Duration tick)
    : caps_(caps), redis_(std::move(redis)), replica_id_(std::move(replica_id)), tick_(tick) {}

SharedCaps::~SharedCaps() { Stop(); }

std::string SharedCaps::Key(uint64_t user, uint64_t campaign) {
  return absl::StrFormat("attex:freq:{%016x}:%016x", user, campaign);
}

void SharedCaps::Recorded(uint64_t user, uint64_t campaign, int64_t period_ms, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  queued_.push_back({user, campaign, period_ms, now_ms});
}

void SharedCaps::Missed(uint64_t user, uint64_t campaign, int64_t period_ms) {
  absl::MutexLock lock(&mu_);
  queued_.push_back({user, campaign, period_ms, -1});
}

void SharedCaps::Start() {
  thread_ = std::thread([this] { Loop(); });
}

namespace {

// KEYS[1]: attex:replicas; ARGV: replica, how long one is live (ms).
// Answers how many are.
constexpr char kHeartbeatScript[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
)lua";

constexpr char kReplicasKey[] = "attex:replicas";

}  // namespace

absl::StatusOr<int64_t> SharedCaps::Heartbeat() {
  absl::MutexLock round(&round_mu_);
  auto replies = redis_->Run({{"EVAL", kHeartbeatScript, "1", kReplicasKey, replica_id_, "3000"}});
  if (!replies.ok()) return replies.status();
  const store::RedisReply& reply = replies->front();
  if (reply.type != store::RedisReply::Type::kInteger) {
    return absl::InternalError(absl::StrCat("a replica heartbeat: Redis answered ", reply.str));
  }
  return reply.integer;
}

void SharedCaps::Loop() {
  absl::Time last_heartbeat = absl::InfinitePast();
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_), tick_);
      if (stop_) return;
    }
    (void)Round(absl::ToUnixMillis(absl::Now()));  // Failures are counted and logged.
    if (on_replicas_ && absl::Now() - last_heartbeat >= absl::Seconds(1)) {
      last_heartbeat = absl::Now();
      // Redis away: the last count stands.
      if (auto live = Heartbeat(); live.ok()) on_replicas_(std::max<int64_t>(1, *live));
    }
  }
}

void SharedCaps::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  (void)Round(absl::ToUnixMillis(absl::Now()));  // What was counted last reaches Redis.
  absl::MutexLock round(&round_mu_);
  (void)redis_->Run({{"ZREM", kReplicasKey, replica_id_}});  // The others' share grows now.
}

absl::Status SharedCaps::Round(int64_t now_ms) {
  absl::MutexLock round(&round_mu_);
  std::vector<Pair> pairs;
  // What is recorded here from now on is kept beside what the read answers.
  const int64_t read_ms = absl::ToUnixMillis(absl::Now());
  {
    absl::MutexLock lock(&mu_);
    pairs.swap(queued_);
  }
  if (pairs.empty()) return absl::OkStatus();
  // Placements first, then one read per pair touched, in one pipeline: each
  // read counts every placement of this replica written before it.
  std::vector<std::vector<std::string>> commands;
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, int64_t> reads;  // Pair -> period.
  int64_t recorded = 0;
  for (const Pair& p : pairs) {
    const std::string key = Key(p.user, p.campaign);
    if (p.at_ms >= 0) {
      commands.push_back(
          {"ZADD", key, absl::StrCat(p.at_ms), absl::StrCat(replica_id_, ":", ++sequence_)});
      commands.push_back({"PEXPIRE", key, absl::StrCat(std::max<int64_t>(1, p.period_ms))});
      ++recorded;
    }
    reads[{p.user, p.campaign}] = p.period_ms;
  }
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, int64_t>> order(reads.begin(), reads.end());
  for (const auto& [pair, period] : order) {
    commands.push_back({"ZRANGEBYSCORE", Key(pair.first, pair.second),
                        absl::StrCat("(", now_ms - period), "+inf", "WITHSCORES"});
  }
  auto replies = redis_->Run(commands);
  absl::Status status = replies.status();
  int64_t merged = 0;
  if (replies.ok()) {
    const size_t first_read = replies->size() - order.size();
    for (size_t i = 0; i < order.size(); ++i) {
      const store::RedisReply& reply = (*replies)[first_read + i];
      if (reply.type != store::RedisReply::Type::kArray) {
        status = absl::InternalError(absl::StrCat("reading a frequency cap: ", reply.str));
        continue;
      }
      std::vector<int64_t> times;
      for (size_t j = 1; j < reply.elements.size(); j += 2) {
        double score = 0;
        if (absl::SimpleAtod(reply.elements[j].str, &score)) {
          times.push_back(static_cast<int64_t>(score));
        }
      }
      const auto& [pair, period] = order[i];
      caps_->Merge(pair.first, pair.second, period, times, read_ms, now_ms);
      ++merged;
    }
  }
  absl::MutexLock lock(&mu_);
  if (replies.ok()) {
    stats_.recorded += recorded;
    stats_.merged += merged;
  }
  if (!status.ok()) {
    ++stats_.failures;
    if (outage_log_.Due(now_ms)) {
      spdlog::warn("shared frequency caps: {} (caps are this replica's own meanwhile)",
                   status.ToString());
    }
  }
  return status;
}

SharedCapsStats SharedCaps::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace attex::server
