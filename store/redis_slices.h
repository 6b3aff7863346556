// Budget slices leased from Redis (docs/fleet.md#budget-slices): each
// replica of a fleet may place a campaign only within the slice it holds,
// so that no bid waits on the network to spend and the replicas together
// place at most what the budget has left.
//
// A campaign's slices are one Redis hash, attex:slice:{<campaign id>} (the
// braces keep a campaign's key in one Redis Cluster slot), one field per
// replica: "<granted micros> <expiry, Redis clock, ms>". A lease is one Lua
// script run atomically by Redis: it drops the expired fields, then grants
// the replica min(asked, remaining - what the other replicas' unexpired
// slices hold), but never less than what it holds reserved, where `remaining` is the budget less
// the billed spend (the replica reads it from the books before it asks). A replica that dies leaves
// its field to expire after the lease time; one that drains gives back what it does not still hold
// reserved.
#ifndef ATTEX_STORE_REDIS_SLICES_H_
#define ATTEX_STORE_REDIS_SLICES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/redis.h"

namespace attex::store {

struct SliceRequest {
  std::string campaign_id;
  int64_t asked_micros = 0;      // The whole slice wanted, reservations included.
  int64_t remaining_micros = 0;  // Budget less billed spend, as the books say.
  // Reserved here and not yet billed: the grant's floor (tools/attex-fleet-sim
  // found that a grant below it lets the others place that money again).
  int64_t held_micros = 0;
};

struct SliceGrant {
  int64_t granted_micros = 0;  // Never more than asked nor less than held.
  int64_t others_micros = 0;   // What the other replicas' slices held.
};

class RedisSlices final {
 public:
  RedisSlices(std::unique_ptr<RedisClient> client, std::string replica_id, absl::Duration lease);

  // Leases (or renews) this replica's slice of each campaign, for the lease
  // time from now: one round trip for all. UNAVAILABLE when Redis cannot be
  // reached (nothing granted; the slices held run out at their expiry).
  absl::StatusOr<std::vector<SliceGrant>> Lease(const std::vector<SliceRequest>& requests);
  // On drain: each campaign's slice shrinks to `keep_micros` (what is still
  // reserved here and may yet be billed), or goes when that is 0.
  absl::Status Return(const std::vector<std::pair<std::string, int64_t>>& keep);
  // The unexpired slices of a campaign, by replica (for tests and the
  // operator's eye: redis-cli HGETALL shows the same).
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Holders(
      const std::string& campaign_id);

  static std::string Key(const std::string& campaign_id);
  const std::string& replica_id() const { return replica_id_; }
  absl::Duration lease() const { return lease_; }

 private:
  std::unique_ptr<RedisClient> client_;
  const std::string replica_id_;
  const absl::Duration lease_;
};

}  // namespace attex::store

#endif  // ATTEX_STORE_REDIS_SLICES_H_
