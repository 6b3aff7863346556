// Frequency caps: placements per user per campaign within a sliding period,
// kept in memory (lost on restart, not shared between replicas) and keyed
// by a 64-bit hash of the user id, never the id itself. Callers keep
// nothing for users whose consent forbids it (auction::UserRestricted).
#ifndef ATTEX_AUCTION_FREQUENCY_H_
#define ATTEX_AUCTION_FREQUENCY_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace attex::auction {

// Thread-safe: 64 shards, each behind its own mutex held for a few
// comparisons (never across I/O).
class FrequencyCaps final {
 public:
  static uint64_t UserKey(std::string_view user_id);
  static uint64_t CampaignKey(std::string_view campaign_id);

  // True when fewer than `cap` placements of the campaign reached the user
  // in the last period_ms.
  bool Allows(uint64_t user, uint64_t campaign, int cap, int64_t period_ms, int64_t now_ms);
  // Counts one placement.
  void Record(uint64_t user, uint64_t campaign, int64_t period_ms, int64_t now_ms);
  // Forgets windows that have fully passed; returns how many (user,
  // campaign) pairs are still held.
  size_t Sweep(int64_t now_ms);

 private:
  struct Window {
    int64_t period_ms = 0;
    std::vector<int64_t> times;  // Placement times, oldest first.
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::pair<uint64_t, uint64_t>, Window> windows ABSL_GUARDED_BY(mu);
  };
  Shard& ShardOf(uint64_t user, uint64_t campaign) {
    return shards_[(user ^ (campaign * 0x9E3779B97F4A7C15ull)) % shards_.size()];
  }
  std::array<Shard, 64> shards_;
};

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_FREQUENCY_H_
