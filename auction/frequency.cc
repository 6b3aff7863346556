#include "auction/frequency.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace attex::auction {
namespace {

// Drops the times at or before now - period.
void Trim(std::vector<int64_t>& times, int64_t period_ms, int64_t now_ms) {
  const auto first_live = std::upper_bound(times.begin(), times.end(), now_ms - period_ms);
  times.erase(times.begin(), first_live);
}

}  // namespace

namespace {

// The first 8 bytes of SHA-256(kind "\n" id): the same in every process
// (absl::Hash is seeded per process), so that replicas sharing the caps
// through Redis name a pair alike, and no id in plain text.
uint64_t StableKey(std::string_view kind, std::string_view id) {
  std::string text;
  text.reserve(kind.size() + 1 + id.size());
  text.append(kind).append(1, '\n').append(id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  uint64_t key = 0;
  std::memcpy(&key, digest, sizeof(key));
  return key;
}

}  // namespace

uint64_t FrequencyCaps::UserKey(std::string_view user_id) { return StableKey("user", user_id); }

uint64_t FrequencyCaps::CampaignKey(std::string_view campaign_id) {
  return StableKey("campaign", campaign_id);
}

bool FrequencyCaps::Allows(uint64_t user, uint64_t campaign, int cap, int64_t period_ms,
                           int64_t now_ms) {
  Shard& shard = ShardOf(user, campaign);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.windows.find({user, campaign});
  if (it == shard.windows.end()) {
    if (observer_ != nullptr) observer_->Missed(user, campaign, period_ms);
    return cap > 0;
  }
  Trim(it->second.times, period_ms, now_ms);
  return static_cast<int64_t>(it->second.times.size()) < cap;
}

void FrequencyCaps::Record(uint64_t user, uint64_t campaign, int64_t period_ms, int64_t now_ms) {
  Shard& shard = ShardOf(user, campaign);
  absl::MutexLock lock(&shard.mu);
  Window& w = shard.windows[{user, campaign}];
  w.period_ms = period_ms;
  Trim(w.times, period_ms, now_ms);
  // Times arrive nearly in order; keep them sorted.
  w.times.insert(std::upper_bound(w.times.begin(), w.times.end(), now_ms), now_ms);
  if (observer_ != nullptr) observer_->Recorded(user, campaign, period_ms, now_ms);
}

void FrequencyCaps::Merge(uint64_t user, uint64_t campaign, int64_t period_ms,
                          const std::vector<int64_t>& shared_times, int64_t read_ms,
                          int64_t now_ms) {
  Shard& shard = ShardOf(user, campaign);
  absl::MutexLock lock(&shard.mu);
  Window& w = shard.windows[{user, campaign}];
  w.period_ms = period_ms;
  std::vector<int64_t> times = shared_times;
  for (const int64_t t : w.times) {
    if (t > read_ms) times.push_back(t);  // Recorded here after the read.
  }
  std::sort(times.begin(), times.end());
  Trim(times, period_ms, now_ms);
  w.times = std::move(times);
}

size_t FrequencyCaps::Sweep(int64_t now_ms) {
  size_t held = 0;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    absl::erase_if(shard.windows, [now_ms](auto& entry) {
      Trim(entry.second.times, entry.second.period_ms, now_ms);
      return entry.second.times.empty();
    });
    held += shard.windows.size();
  }
  return held;
}

}  // namespace attex::auction
