// Frequency caps: placements per user per campaign within a sliding period,
// kept in memory and keyed by a 64-bit hash of the user id, never the id
// itself. Callers keep nothing for users whose consent forbids it
// (auction::UserRestricted). On one machine they are lost on restart; a
// fleet shares them through Redis (server/shared_caps.h), which the
// observer below feeds and Merge reads back from.
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
  // Told of every placement counted and of every check of a pair the caps
  // hold nothing of; called with a shard's lock held: must not block.
  class Observer {
   public:
    virtual ~Observer() = default;
    virtual void Recorded(uint64_t user, uint64_t campaign, int64_t period_ms, int64_t now_ms) = 0;
    virtual void Missed(uint64_t user, uint64_t campaign, int64_t period_ms) = 0;
  };
  // Set before the caps are used (or null); not owned.
  void set_observer(Observer* observer) { observer_ = observer; }
  // Takes in the placement times of a pair as the fleet has them (read at
  // read_ms, counting every placement recorded here before it): they
  // replace what is held, but for what was recorded here since.
  void Merge(uint64_t user, uint64_t campaign, int64_t period_ms,
             const std::vector<int64_t>& shared_times, int64_t read_ms, int64_t now_ms);

  // Stable across processes and machines (a hash of the id, never the id).
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
  Observer* observer_ = nullptr;
};

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_FREQUENCY_H_
