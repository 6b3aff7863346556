#include "auction/pacing.h"

#include <algorithm>
#include <cstdlib>

#include "auction/budget.h"
#include "gtest/gtest.h"

namespace attex::auction {
namespace {

TEST(TrafficCurveTest, WholeDayIsAllTheTraffic) {
  EXPECT_NEAR(TrafficShare(DefaultTrafficCurve(), 0, kMillisPerDay), 1.0, 1e-9);
  EXPECT_NEAR(TrafficShare(DefaultTrafficCurve(), 0, 1'800'000), DefaultTrafficCurve()[0] / 2,
              1e-12);
}

TEST(EvenPacingTest, DayEndsWithinFivePercentOfTheDailyBudgetAndNeverOver) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    SimulationConfig config;
    config.seed = seed;
    const auto points = SimulateDay(config);
    for (const auto& p : points) ASSERT_LE(p.spent_micros, config.daily_budget_micros);
    const int64_t spent = points.back().spent_micros;
    EXPECT_GE(spent, config.daily_budget_micros * 95 / 100) << "seed " << seed;
  }
}

TEST(EvenPacingTest, SpendFollowsTheIdealLineThroughTheDay) {
  SimulationConfig config;
  const auto points = SimulateDay(config);
  int64_t worst = 0;
  for (const auto& p : points) worst = std::max(worst, std::abs(p.spent_micros - p.ideal_micros));
  EXPECT_LE(worst, config.daily_budget_micros / 10) << "spend strayed from the ideal line";
}

TEST(EvenPacingTest, LessTrafficThanTheBudgetNeedsRunsAtFullThrottle) {
  SimulationConfig config;
  config.requests_per_day = 200'000;  // At most ~40% of the budget can be spent.
  const auto points = SimulateDay(config);
  EXPECT_DOUBLE_EQ(points.back().throttle, 1.0);
  EXPECT_LE(points.back().spent_micros, config.daily_budget_micros);
}

TEST(AsapPacingTest, SpendsTheBudgetOutBeforeNoon) {
  SimulationConfig config;
  config.even = false;
  const auto points = SimulateDay(config);
  const auto out = std::find_if(points.begin(), points.end(), [&](const SpendPoint& p) {
    return p.spent_micros >= config.daily_budget_micros - config.max_price_micros;
  });
  ASSERT_NE(out, points.end());
  EXPECT_LT(out->time_of_day_ms, kMillisPerDay / 2);
}

}  // namespace
}  // namespace attex::auction
