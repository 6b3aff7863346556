#include "auction/pacing.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "auction/budget.h"

namespace attex::auction {
namespace {

constexpr int64_t kHourMs = 3'600'000;

}  // namespace

const TrafficCurve& DefaultTrafficCurve() {
  static const TrafficCurve curve = [] {
    // Relative traffic by hour (UTC), shaped like a consumer site's day.
    const double raw[24] = {2.0, 1.4, 1.0, 0.8, 0.8, 1.0, 1.8, 3.0, 4.2, 4.8, 5.0, 5.2,
                            5.6, 5.4, 5.0, 4.8, 5.0, 5.6, 6.4, 7.2, 7.6, 6.8, 5.0, 3.2};
    double sum = 0;
    for (double r : raw) sum += r;
    TrafficCurve c;
    for (int h = 0; h < 24; ++h) c[h] = raw[h] / sum;
    return c;
  }();
  return curve;
}

double TrafficShare(const TrafficCurve& curve, int64_t from_ms, int64_t to_ms) {
  from_ms = std::clamp<int64_t>(from_ms, 0, kMillisPerDay);
  to_ms = std::clamp<int64_t>(to_ms, 0, kMillisPerDay);
  double share = 0;
  for (int64_t t = from_ms; t < to_ms;) {
    const int hour = static_cast<int>(t / kHourMs);
    const int64_t end = std::min<int64_t>(to_ms, (hour + 1) * kHourMs);
    share += curve[hour] * static_cast<double>(end - t) / kHourMs;
    t = end;
  }
  return share;
}

Pacer::Pacer(PacingConfig config) : config_(config), throttle_(config.initial_throttle) {}

void Pacer::Update(int64_t daily_budget, int64_t spent_today, int64_t now_ms) {
  if (last_time_ms_ < 0 || now_ms < last_time_ms_) {  // First update, or a new day.
    last_time_ms_ = now_ms;
    last_spent_ = spent_today;
    return;
  }
  const int64_t elapsed = now_ms - last_time_ms_;
  if (elapsed <= 0) return;
  const double remaining = static_cast<double>(std::max<int64_t>(0, daily_budget - spent_today));
  const double rest_of_day = TrafficShare(config_.curve, now_ms, kMillisPerDay);
  const double next = TrafficShare(config_.curve, now_ms, now_ms + config_.interval_ms);
  const double target = rest_of_day > 0 ? remaining * next / rest_of_day : remaining;
  // What the last interval would have spent at throttle 1, scaled to the
  // next interval's traffic.
  const double last_share = TrafficShare(config_.curve, last_time_ms_, now_ms);
  const double spent = static_cast<double>(spent_today - last_spent_);
  if (spent > 0 && last_share > 0) {
    const double full = spent / throttle_ * next / last_share;
    throttle_ = std::clamp(target / full, config_.min_throttle, 1.0);
  } else if (remaining > 0) {
    throttle_ = std::min(1.0, throttle_ * 2);  // Nothing spent: ask for more.
  }
  last_time_ms_ = now_ms;
  last_spent_ = spent_today;
}

std::vector<SpendPoint> SimulateDay(const SimulationConfig& config) {
  std::mt19937_64 rng(config.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int64_t> price(config.min_price_micros, config.max_price_micros);
  Pacer pacer(config.pacing);
  const int64_t interval = config.pacing.interval_ms;
  std::vector<SpendPoint> points;
  int64_t spent = 0;
  for (int64_t t = 0; t < kMillisPerDay; t += interval) {
    if (config.even) pacer.Update(config.daily_budget_micros, spent, t);
    const double throttle = config.even ? pacer.throttle() : 1.0;
    points.push_back(
        {t, spent,
         std::llround(config.daily_budget_micros * TrafficShare(config.pacing.curve, 0, t)),
         throttle});
    // Requests this interval: the curve's share, +-10% noise.
    const double expected = config.requests_per_day *
                            TrafficShare(config.pacing.curve, t, t + interval) *
                            (0.9 + 0.2 * unit(rng));
    const int64_t requests = std::llround(expected);
    for (int64_t r = 0; r < requests; ++r) {
      if (unit(rng) >= throttle || unit(rng) >= config.win_rate) continue;
      const int64_t p = price(rng);
      if (spent + p > config.daily_budget_micros) continue;  // Reservation refused.
      spent += p;
    }
  }
  points.push_back(
      {kMillisPerDay, spent, config.daily_budget_micros, config.even ? pacer.throttle() : 1.0});
  return points;
}

}  // namespace attex::auction
