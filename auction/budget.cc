#include "auction/budget.h"

#include <algorithm>
#include <cstddef>
#include <limits>

namespace attex::auction {

void BudgetState::Load(int64_t total_micros, int64_t today_micros, int64_t now_ms) {
  total_.store(total_micros);
  today_.store(today_micros);
  day_.store(static_cast<int32_t>(now_ms / kMillisPerDay));
}

void BudgetState::Charge(int64_t micros, int64_t now_ms) {
  const int32_t day = static_cast<int32_t>(now_ms / kMillisPerDay);
  int32_t seen = day_.load();
  // The first charge of a new day resets the daily counter.
  if (seen < day && day_.compare_exchange_strong(seen, day)) today_.store(0);
  today_.fetch_add(micros);
  total_.fetch_add(micros);
  if (sliced()) slice_billed_.fetch_add(micros);
}

int64_t BudgetState::today(int64_t now_ms) const {
  if (day_.load(std::memory_order_relaxed) != now_ms / kMillisPerDay) return 0;
  return today_.load(std::memory_order_relaxed);
}

void BudgetState::SetLimits(int64_t daily_micros, int64_t total_micros) {
  daily_limit_.store(daily_micros, std::memory_order_relaxed);
  total_limit_.store(total_micros, std::memory_order_relaxed);
  limits_known_.store(true, std::memory_order_release);
}

int64_t BudgetState::Remaining(int64_t now_ms) const {
  static_assert(offsetof(BudgetState, throttle_) + sizeof(throttle_) <= 64 &&
                    offsetof(BudgetState, sliced_) < 64,
                "what the bid path reads must share the prefetched cache line");
  const int64_t daily = daily_limit();
  return RemainingBudget(daily, total_limit(), total_.load(), daily > 0 ? today(now_ms) : 0);
}

void BudgetState::SetSlice(int64_t granted_micros, int64_t billed_counted, int64_t expires_ms) {
  // The billed micros the grant's spend counts leave the slice before the
  // new grant is seen: a reader in between sees too little room, never too
  // much.
  slice_granted_.store(std::min(slice_granted_.load(), granted_micros));
  slice_billed_.fetch_sub(billed_counted);
  slice_expires_ms_.store(expires_ms);
  slice_granted_.store(granted_micros);
}

namespace {

// What may be reserved in all (reservations included) now: the budget's
// remaining, and within a slice its grant less what it billed, 0 once the
// lease expired.
int64_t ReservableCeiling(const BudgetState& budget, int64_t remaining, int64_t now_ms) {
  if (!budget.sliced()) return remaining;
  if (now_ms >= budget.slice_expires_ms()) return 0;
  return std::min(remaining, budget.slice_granted() - budget.slice_billed());
}

}  // namespace

int64_t BudgetState::SliceRoom(int64_t now_ms) const {
  if (!sliced()) return std::numeric_limits<int64_t>::max();
  const int64_t reserved = reserved_.load();
  if (now_ms >= slice_expires_ms()) return 0;
  return slice_granted() - slice_billed() - reserved;
}

int64_t BudgetState::Available(int64_t now_ms) const {
  // Reserved is read before spend: billing charges before it releases, so a
  // reader may count a billed amount twice (too little available), never
  // not at all.
  const int64_t reserved = reserved_.load();
  return ReservableCeiling(*this, Remaining(now_ms), now_ms) - reserved;
}

bool BudgetState::TryReserve(int64_t micros, int64_t now_ms) {
  int64_t reserved = reserved_.load();
  for (;;) {
    if (micros > ReservableCeiling(*this, Remaining(now_ms), now_ms) - reserved) return false;
    // Fails (and reloads `reserved`) if anyone reserved or released since.
    if (reserved_.compare_exchange_weak(reserved, reserved + micros)) {
      placed_.fetch_add(micros, std::memory_order_relaxed);
      return true;
    }
  }
}

void BudgetState::Release(int64_t micros) { reserved_.fetch_sub(micros); }

double BudgetState::PacingThrottle(int64_t now_ms) {
  const int64_t interval = now_ms / pacer_.config().interval_ms;
  int64_t seen = pacing_interval_.load();
  if (seen != interval && pacing_interval_.compare_exchange_strong(seen, interval)) {
    pacer_.Update(daily_limit(), today(now_ms), now_ms % kMillisPerDay);
    throttle_.store(pacer_.throttle());
  }
  return throttle_.load(std::memory_order_relaxed);
}

ReservationBook::~ReservationBook() {
  Node* node = incoming_.exchange(nullptr);
  while (node != nullptr) delete std::exchange(node, node->next);
}

void ReservationBook::Add(Reservation reservation) {
  auto* node = new Node{std::move(reservation), incoming_.load(std::memory_order_relaxed)};
  while (!incoming_.compare_exchange_weak(node->next, node, std::memory_order_release,
                                          std::memory_order_relaxed)) {
  }
}

void ReservationBook::Drain() {
  Node* node = incoming_.exchange(nullptr, std::memory_order_acquire);
  while (node != nullptr) {
    Reservation& r = node->reservation;
    expiries_.emplace(r.expires_ms, r.nonce);
    const uint64_t nonce = r.nonce;
    if (auto [it, inserted] = held_.try_emplace(nonce, std::move(r)); !inserted) {
      // A 64-bit random nonce collided: give the newer one back at once
      // rather than mix two campaigns under one key (billing still caps).
      r.budget->Release(r.micros);
    }
    delete std::exchange(node, node->next);
  }
}

int64_t ReservationBook::Settle(uint64_t nonce) {
  Drain();
  auto it = held_.find(nonce);
  if (it == held_.end()) return 0;
  const int64_t micros = it->second.micros;
  it->second.budget->Release(micros);
  held_.erase(it);
  return micros;  // Its expiry entry is skipped when it comes due.
}

int ReservationBook::Expire(int64_t now_ms) {
  Drain();
  int expired = 0;
  while (!expiries_.empty() && expiries_.top().first < now_ms) {
    const auto [expires_ms, nonce] = expiries_.top();
    expiries_.pop();
    auto it = held_.find(nonce);
    if (it == held_.end() || it->second.expires_ms != expires_ms) continue;
    it->second.budget->Release(it->second.micros);
    held_.erase(it);
    ++expired;
  }
  return expired;
}

size_t ReservationBook::outstanding() {
  Drain();
  return held_.size();
}

}  // namespace attex::auction
