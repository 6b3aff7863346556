// A simulated day of traffic on a fake clock: even pacing against asap and
// the ideal line (the budget spread along the daily traffic curve). Prints
// the figures and writes an SVG of cumulative spend over the day.
//   pacing_sim [out.svg]   (default pacing.svg)
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "auction/budget.h"
#include "auction/pacing.h"

namespace {

using attex::auction::SpendPoint;

std::string Polyline(const std::vector<SpendPoint>& points, bool ideal, double budget,
                     const char* color, const char* dash) {
  constexpr double kX0 = 60, kY0 = 360, kW = 720, kH = 300;
  std::string pts;
  for (const auto& p : points) {
    const double x = kX0 + kW * p.time_of_day_ms / attex::auction::kMillisPerDay;
    const double y = kY0 - kH * (ideal ? p.ideal_micros : p.spent_micros) / budget;
    absl::StrAppend(&pts, absl::StrFormat("%.1f,%.1f ", x, y));
  }
  return absl::StrFormat(
      "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\" "
      "points=\"%s\"/>\n",
      color, dash, pts);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1] : "pacing.svg";
  attex::auction::SimulationConfig config;
  const auto even = attex::auction::SimulateDay(config);
  config.even = false;
  const auto asap = attex::auction::SimulateDay(config);
  const double budget = static_cast<double>(config.daily_budget_micros);
  auto reached = [&](const std::vector<SpendPoint>& points) {
    for (const auto& p : points) {
      if (p.spent_micros >= config.daily_budget_micros - config.max_price_micros) {
        return p.time_of_day_ms / 3'600'000.0;
      }
    }
    return 24.0;
  };
  int64_t worst = 0;
  for (const auto& p : even)
    worst = std::max<int64_t>(worst, std::llabs(p.spent_micros - p.ideal_micros));
  std::printf("daily budget %lld micros, %lld requests, win rate %.2f\n",
              static_cast<long long>(config.daily_budget_micros),
              static_cast<long long>(config.requests_per_day), config.win_rate);
  std::printf(
      "even: spent %.2f%% of the budget by midnight; worst distance from the ideal line "
      "%.2f%% of the budget\n",
      100.0 * even.back().spent_micros / budget, 100.0 * worst / budget);
  std::printf("asap: budget spent out at %.1f h UTC\n", reached(asap));

  std::string svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"820\" height=\"420\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"820\" height=\"420\" fill=\"white\"/>\n"
      "<text x=\"60\" y=\"40\" font-size=\"15\">Cumulative spend over one simulated day "
      "(daily budget = top line)</text>\n"
      "<line x1=\"60\" y1=\"360\" x2=\"780\" y2=\"360\" stroke=\"black\"/>\n"
      "<line x1=\"60\" y1=\"60\" x2=\"60\" y2=\"360\" stroke=\"black\"/>\n"
      "<line x1=\"60\" y1=\"60\" x2=\"780\" y2=\"60\" stroke=\"#bbb\"/>\n";
  for (int h = 0; h <= 24; h += 3) {
    const double x = 60 + 720.0 * h / 24;
    absl::StrAppend(&svg,
                    absl::StrFormat("<text x=\"%.0f\" y=\"378\" text-anchor=\"middle\">%02d:00"
                                    "</text>\n",
                                    x, h));
  }
  for (int q = 0; q <= 4; ++q) {
    absl::StrAppend(&svg,
                    absl::StrFormat("<text x=\"52\" y=\"%.0f\" text-anchor=\"end\">%d%%</text>\n",
                                    364 - 75.0 * q, 25 * q));
  }
  absl::StrAppend(&svg, Polyline(even, true, budget, "#888", "6,4"),
                  Polyline(asap, false, budget, "#d62728", "none"),
                  Polyline(even, false, budget, "#1f77b4", "none"));
  absl::StrAppend(&svg,
                  "<text x=\"600\" y=\"395\" fill=\"#1f77b4\">even</text>"
                  "<text x=\"650\" y=\"395\" fill=\"#d62728\">asap</text>"
                  "<text x=\"700\" y=\"395\" fill=\"#888\">ideal</text>\n</svg>\n");
  std::ofstream(out) << svg;
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
