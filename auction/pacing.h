// Even pacing: spreads a campaign's daily budget over the UTC day by a
// throttle, the probability that the campaign takes part in an auction,
// adapted once per control interval from what was actually spent (adaptive
// throttling as in Agarwal et al., "Budget pacing for targeted online
// advertisements at LinkedIn", KDD 2014).
//
// Each interval the pacer aims to spend what is left of the daily budget in
// proportion to the traffic still expected today (a daily traffic curve):
//   target = remaining x traffic(next interval) / traffic(rest of day)
// and sets throttle = target / (spend per interval at throttle 1), the
// latter estimated from the last interval's spend divided by its throttle.
#ifndef ATTEX_AUCTION_PACING_H_
#define ATTEX_AUCTION_PACING_H_

#include <array>
#include <cstdint>
#include <vector>

namespace attex::auction {

// Share of a day's traffic in each UTC hour; sums to 1.
using TrafficCurve = std::array<double, 24>;

// A typical curve: low at night, a morning rise, an evening peak.
const TrafficCurve& DefaultTrafficCurve();
// The expected share of the day's traffic in [from_ms, to_ms) of one day
// (milliseconds since midnight), interpolating within hours.
double TrafficShare(const TrafficCurve& curve, int64_t from_ms, int64_t to_ms);

struct PacingConfig {
  int64_t interval_ms = 60'000;  // Control interval.
  double min_throttle = 0.001;   // Never fully off: keeps the estimate alive.
  double initial_throttle = 0.1;
  TrafficCurve curve = DefaultTrafficCurve();
};

// One campaign's pacing state. Not thread-safe: the caller serialises
// Update (the simulation; a server would update on its work queue).
class Pacer final {
 public:
  explicit Pacer(PacingConfig config);
  // At the start of each interval: the day's budget, what was spent today
  // so far, and the time of day (ms since UTC midnight).
  void Update(int64_t daily_budget_micros, int64_t spent_today_micros, int64_t time_of_day_ms);
  // The probability of taking part in an auction now, 0 to 1.
  double throttle() const { return throttle_; }
  const PacingConfig& config() const { return config_; }

 private:
  PacingConfig config_;
  double throttle_;
  int64_t last_spent_ = 0;
  int64_t last_time_ms_ = -1;
};

// A deterministic day of traffic on a fake clock, for tests and the
// picture: requests arrive per minute following the curve (with noise from
// `seed`), a participating campaign wins each with probability win_rate at
// a price drawn between min and max price, and spend never passes the
// daily budget (the reservation cap).
struct SimulationConfig {
  int64_t daily_budget_micros = 100'000'000;
  int64_t requests_per_day = 2'000'000;
  double win_rate = 0.2;
  int64_t min_price_micros = 500;
  int64_t max_price_micros = 1500;
  bool even = true;  // false: asap (throttle 1).
  uint32_t seed = 1;
  PacingConfig pacing;
};
struct SpendPoint {
  int64_t time_of_day_ms = 0;
  int64_t spent_micros = 0;  // Cumulative.
  int64_t ideal_micros = 0;  // Budget x the traffic share so far.
  double throttle = 1.0;
};
// One point per control interval, and a last one at the end of the day.
std::vector<SpendPoint> SimulateDay(const SimulationConfig& config);

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_PACING_H_
