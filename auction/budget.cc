#include "auction/budget.h"

namespace attex::auction {

void BudgetState::Load(int64_t total_micros, int64_t today_micros, int64_t now_ms) {
  total_.store(total_micros);
  today_.store(today_micros);
  day_.store(now_ms / kMillisPerDay);
}

void BudgetState::Charge(int64_t micros, int64_t now_ms) {
  const int64_t day = now_ms / kMillisPerDay;
  int64_t seen = day_.load();
  // The first charge of a new day resets the daily counter.
  if (seen < day && day_.compare_exchange_strong(seen, day)) today_.store(0);
  today_.fetch_add(micros);
  total_.fetch_add(micros);
}

int64_t BudgetState::today(int64_t now_ms) const {
  if (day_.load(std::memory_order_relaxed) != now_ms / kMillisPerDay) return 0;
  return today_.load(std::memory_order_relaxed);
}

}  // namespace attex::auction
