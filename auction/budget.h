// The money side of a campaign that outlives catalogue snapshots: its budget
// limits, billed spend (total and today), and what the auction has reserved
// but not yet billed. Every snapshot of a campaign shares one BudgetState,
// and it is the one owner of the limits: the catalogue's compiled campaign
// and index entry hold only a pointer to it, billing reads the limits here.
// Reservations are made on the bid path (lock-free) and settled or expired
// by one owner thread through a ReservationBook.
#ifndef ATTEX_AUCTION_BUDGET_H_
#define ATTEX_AUCTION_BUDGET_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <queue>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "auction/pacing.h"

namespace attex::auction {

constexpr int64_t kMillisPerDay = 86'400'000;

// The one definition of what a budget still allows: min(total limit -
// spent, daily limit - spent today), the total alone when daily_limit is 0
// (no daily limit). May be negative. Reservations are not counted.
inline int64_t RemainingBudget(int64_t daily_limit, int64_t total_limit, int64_t spent_total,
                               int64_t spent_today) {
  const int64_t room = total_limit - spent_total;
  return daily_limit > 0 ? std::min(room, daily_limit - spent_today) : room;
}

// Billed spend and reservations of one campaign. Lock-free; thread-safe.
class BudgetState final {
 public:
  // Sets the counters from the ledger (at start).
  void Load(int64_t total_micros, int64_t today_micros, int64_t now_ms);
  // Adds one billed amount.
  void Charge(int64_t micros, int64_t now_ms);
  int64_t total() const { return total_.load(std::memory_order_relaxed); }
  // Spend in the UTC day of now_ms (0 once the day has turned).
  int64_t today(int64_t now_ms) const;

  // The campaign's limits (daily 0: no daily limit), set by CompileCampaign
  // from the campaign as last written; every snapshot reads these. Until
  // the first SetLimits, limits_known() is false and both are 0 (nothing
  // can be reserved). A reader racing SetLimits may pair one old limit with
  // one new one.
  void SetLimits(int64_t daily_micros, int64_t total_micros);
  bool limits_known() const { return limits_known_.load(std::memory_order_acquire); }
  int64_t daily_limit() const { return daily_limit_.load(std::memory_order_relaxed); }
  int64_t total_limit() const { return total_limit_.load(std::memory_order_relaxed); }

  // RemainingBudget of the limits and the billed spend now.
  int64_t Remaining(int64_t now_ms) const;
  // What can still be reserved now: Remaining(now_ms) - reserved(). May be
  // negative.
  int64_t Available(int64_t now_ms) const;
  // Reserves `micros` when Available() covers it; false otherwise. One CAS
  // loop on the reserved counter: concurrent reservers never jointly pass
  // the limits.
  bool TryReserve(int64_t micros, int64_t now_ms);
  // Gives back a reservation (billed: after Charge; or expired).
  void Release(int64_t micros);
  int64_t reserved() const { return reserved_.load(); }

  // Budget slices (a fleet with --redis_addr; docs/fleet.md#budget-slices).
  // A campaign that takes slices may reserve only within the slice its
  // replica leased: the grant, less what was reserved and billed here since
  // the grant (settled reservations stay counted until the next grant; an
  // expired one gives its room back), and only until the lease expires.
  // Without EnableSlices (one machine) there is no such bound.
  void EnableSlices() { sliced_.store(true, std::memory_order_release); }
  bool sliced() const { return sliced_.load(std::memory_order_acquire); }
  // A new grant: `granted_micros` may be reserved (in all, counting what is
  // reserved now) until `expires_ms`. `billed_counted` is the slice_billed()
  // read before the spend the grant was computed from, which counts it:
  // those billed micros leave the slice; anything billed since stays.
  void SetSlice(int64_t granted_micros, int64_t billed_counted, int64_t expires_ms);
  int64_t slice_granted() const { return slice_granted_.load(std::memory_order_relaxed); }
  int64_t slice_billed() const { return slice_billed_.load(std::memory_order_relaxed); }
  int64_t slice_expires_ms() const { return slice_expires_ms_.load(std::memory_order_relaxed); }
  // What the slice still allows now: granted - billed since - reserved (0
  // once the lease expired); INT64_MAX without slices.
  int64_t SliceRoom(int64_t now_ms) const;
  // Every micro ever reserved here (never decreases): the spend rate that
  // sizes the next slice.
  int64_t placed() const { return placed_.load(std::memory_order_relaxed); }

  // Even pacing of the daily limit: the probability, 0 to 1, that the
  // campaign takes part in an auction now. The first caller after each
  // control interval adapts it to today's spend (one CAS decides who;
  // lock-free for the rest).
  double PacingThrottle(int64_t now_ms);

 private:
  // What Available and PacingThrottle's readers use, first and in one cache
  // line (budget.cc checks it): the auction reads it for every campaign of
  // every request, and prefetches it.
  alignas(64) std::atomic<int64_t> total_{0};
  std::atomic<int64_t> today_{0};
  std::atomic<int32_t> day_{0};  // Days since the epoch.
  // Whether the budget reserves within a slice: on this line, so that one
  // machine's bid path reads no other.
  std::atomic<bool> sliced_{false};
  std::atomic<int64_t> reserved_{0};
  std::atomic<int64_t> daily_limit_{0};
  std::atomic<int64_t> total_limit_{0};
  std::atomic<int64_t> pacing_interval_{-1};
  std::atomic<double> throttle_{1.0};
  // Budget slices: a second line, read only once sliced_ is set.
  alignas(64) std::atomic<int64_t> slice_granted_{0};
  std::atomic<int64_t> slice_billed_{0};  // Charged since the grant.
  std::atomic<int64_t> slice_expires_ms_{0};
  std::atomic<int64_t> placed_{0};
  // Off the bid path's lines.
  Pacer pacer_{PacingConfig{.initial_throttle = 1.0}};  // Only the CAS winner.
  std::atomic<bool> limits_known_{false};
};

// One reservation made for one placement, keyed by its billing token's nonce.
struct Reservation {
  uint64_t nonce = 0;
  int64_t micros = 0;
  int64_t expires_ms = 0;  // The token's expiry: never billed after it.
  std::shared_ptr<BudgetState> budget;
};

// Outstanding reservations. Add is lock-free and may be called from any
// thread (the bid path); everything else must be called from one owner
// thread (the server's work queue).
class ReservationBook final {
 public:
  ReservationBook() = default;
  ReservationBook(const ReservationBook&) = delete;
  ReservationBook& operator=(const ReservationBook&) = delete;
  ~ReservationBook();

  void Add(Reservation reservation);
  // Releases the reservation of `nonce` and forgets it; returns the micros
  // released (0 when there is none: already settled, expired, or lost in a
  // restart).
  int64_t Settle(uint64_t nonce);
  // Releases every reservation whose token expired before now_ms; returns
  // how many.
  int Expire(int64_t now_ms);
  // Reservations held (after taking in those added since the last call).
  size_t outstanding();

 private:
  struct Node {
    Reservation reservation;
    Node* next = nullptr;
  };
  void Drain();

  std::atomic<Node*> incoming_{nullptr};  // Treiber stack of new ones.
  absl::flat_hash_map<uint64_t, Reservation> held_;
  using Expiry = std::pair<int64_t, uint64_t>;  // (expires_ms, nonce)
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiries_;
};

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_BUDGET_H_
