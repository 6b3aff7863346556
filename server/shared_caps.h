// Frequency caps shared by a fleet through Redis (with --redis_addr;
// docs/fleet.md#shared-frequency-caps). The bid path checks and counts in
// memory as on one machine (auction::FrequencyCaps) and never waits on the
// network: this observer queues what it counts and the pairs it knows
// nothing of, and a thread of its own, every `tick`, writes the placements
// to Redis and reads back, for each pair it touched, the placements every
// replica made, merging them in. A pair's placements are a sorted set,
// attex:freq:{<user key>}:<campaign key> (hashes, never the user id),
// member <replica>:<n>, score the time, expiring with the cap's period.
// Caps survive a replica's restart (in Redis); a replica learns of the
// others' placements of a pair when it first meets the pair and after each
// placement it makes, so a pair can exceed its cap by at most one
// placement per other replica within a period.
//
// It also keeps the replica's presence in the fleet, for the rate limits:
// every second a heartbeat in the sorted set attex:replicas (by Redis's
// clock) and the count of replicas heard from in the last 3 s, handed to
// `on_replicas` (the server admits 1/n of each rate limit: a balancer
// spreads an account's calls evenly over the n replicas).
#ifndef ATTEX_SERVER_SHARED_CAPS_H_
#define ATTEX_SERVER_SHARED_CAPS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "auction/frequency.h"
#include "store/redis.h"

namespace attex::server {

struct SharedCapsStats {
  int64_t recorded = 0;  // Placements written to Redis.
  int64_t merged = 0;    // Pairs read back and merged.
  int64_t failures = 0;  // Rounds that could not reach Redis.
};

class SharedCaps final : public auction::FrequencyCaps::Observer {
 public:
  SharedCaps(auction::FrequencyCaps* caps, std::unique_ptr<store::RedisClient> redis,
             std::string replica_id, absl::Duration tick = absl::Milliseconds(20));
  ~SharedCaps() override;  // Stop.
  SharedCaps(const SharedCaps&) = delete;
  SharedCaps& operator=(const SharedCaps&) = delete;

  // Called with the number of live replicas after each heartbeat; set
  // before Start.
  void set_on_replicas(std::function<void(int64_t)> on_replicas) {
    on_replicas_ = std::move(on_replicas);
  }
  // One heartbeat now: answers the number of live replicas (this one
  // included). Stop removes this replica.
  absl::StatusOr<int64_t> Heartbeat();

  void Recorded(uint64_t user, uint64_t campaign, int64_t period_ms, int64_t now_ms) override;
  void Missed(uint64_t user, uint64_t campaign, int64_t period_ms) override;

  // One round now (the thread's work; tests call it directly).
  absl::Status Round(int64_t now_ms);
  void Start();
  void Stop();  // Writes what is queued, then stops the thread.
  SharedCapsStats stats() const;
  static std::string Key(uint64_t user, uint64_t campaign);

 private:
  struct Pair {
    uint64_t user = 0, campaign = 0;
    int64_t period_ms = 0;
    int64_t at_ms = -1;  // A placement's time; -1: only read it.
  };
  void Loop();

  auction::FrequencyCaps* const caps_;
  std::unique_ptr<store::RedisClient> redis_;  // The thread's (or Round's caller's).
  const std::string replica_id_;
  const absl::Duration tick_;
  mutable absl::Mutex mu_;
  std::vector<Pair> queued_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  SharedCapsStats stats_ ABSL_GUARDED_BY(mu_);
  absl::Mutex round_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  int64_t sequence_ ABSL_GUARDED_BY(round_mu_) = 0;
  store::RedisOutageLog outage_log_ ABSL_GUARDED_BY(round_mu_);
  std::function<void(int64_t)> on_replicas_;
  std::thread thread_;
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_SHARED_CAPS_H_
