#include "auction/frequency.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace attex::auction {
namespace {

// Drops the times at or before now - period.
void Trim(std::vector<int64_t>& times, int64_t period_ms, int64_t now_ms) {
  const auto first_live = std::upper_bound(times.begin(), times.end(), now_ms - period_ms);
  times.erase(times.begin(), first_live);
}

}  // namespace

uint64_t FrequencyCaps::UserKey(std::string_view user_id) {
  return absl::HashOf(std::string_view("user"), user_id);
}

uint64_t FrequencyCaps::CampaignKey(std::string_view campaign_id) {
  return absl::HashOf(std::string_view("campaign"), campaign_id);
}

bool FrequencyCaps::Allows(uint64_t user, uint64_t campaign, int cap, int64_t period_ms,
                           int64_t now_ms) {
  Shard& shard = ShardOf(user, campaign);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.windows.find({user, campaign});
  if (it == shard.windows.end()) return cap > 0;
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
