// The money side of a campaign that outlives catalogue snapshots: billed
// spend (total and today) and what the auction has reserved but not yet
// billed. Every snapshot of a campaign shares one BudgetState.
#ifndef ATTEX_AUCTION_BUDGET_H_
#define ATTEX_AUCTION_BUDGET_H_

#include <atomic>
#include <cstdint>

namespace attex::auction {

constexpr int64_t kMillisPerDay = 86'400'000;

// Billed spend of one campaign. Lock-free; thread-safe.
class BudgetState final {
 public:
  // Sets the counters from the ledger (at start).
  void Load(int64_t total_micros, int64_t today_micros, int64_t now_ms);
  // Adds one billed amount.
  void Charge(int64_t micros, int64_t now_ms);
  int64_t total() const { return total_.load(std::memory_order_relaxed); }
  // Spend in the UTC day of now_ms (0 once the day has turned).
  int64_t today(int64_t now_ms) const;

 private:
  std::atomic<int64_t> total_{0};
  std::atomic<int64_t> today_{0};
  std::atomic<int64_t> day_{0};
};

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_BUDGET_H_
