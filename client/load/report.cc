#include "client/load/report.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace attex::load {
namespace {

struct Quantile {
  const char* name;
  double q;
};
constexpr Quantile kQuantiles[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99.9", 0.999}};

std::string Ms(int64_t ns) { return absl::StrFormat("%.3f", ns / 1e6); }

std::string Mode(const DriverOptions& o) {
  if (o.rate > 0) return absl::StrFormat("open loop at %.0f calls/s", o.rate);
  return absl::StrCat("closed loop, ", o.concurrency, " in flight");
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '<') {
      out += "\\u003c";
      continue;
    }
    out += c;
  }
  return out;
}

std::string JsonLatency(const Histogram& h) {
  std::string out = absl::StrCat("{\"count\": ", h.count(),
                                 ", \"mean_ms\": ", absl::StrFormat("%.4f", h.mean() / 1e6));
  for (const auto& q : kQuantiles)
    absl::StrAppend(&out, ", \"", q.name, "_ms\": ", Ms(h.Percentile(q.q)));
  absl::StrAppend(&out, ", \"max_ms\": ", Ms(h.max()), "}");
  return out;
}

std::string JsonCounts(const std::map<std::string, int64_t>& counts) {
  std::string out = "{";
  for (const auto& [k, v] : counts) {
    absl::StrAppend(&out, out.size() > 1 ? ", " : "", "\"", Escape(k), "\": ", v);
  }
  return out + "}";
}

// A chart frame: plot area, axes, ticks. x and y map data to pixels.
struct Frame {
  double w = 720, h = 300, left = 64, right = 16, top = 28, bottom = 44;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  bool log_x = false;
  double X(double v) const {
    const double a = log_x ? std::log10(std::max(v, 1e-9)) : v;
    const double lo = log_x ? std::log10(x0) : x0, hi = log_x ? std::log10(x1) : x1;
    return left + (w - left - right) * (a - lo) / std::max(hi - lo, 1e-12);
  }
  double Y(double v) const {
    return h - bottom - (h - top - bottom) * (v - y0) / std::max(y1 - y0, 1e-12);
  }
};

// A "nice" step for about five ticks over [0, hi].
double NiceStep(double hi) {
  const double raw = std::max(hi, 1e-9) / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw) return m * mag;
  }
  return 10 * mag;
}

std::string Number(double v) {
  if (v >= 1e6) return absl::StrFormat("%.1fM", v / 1e6);
  if (v >= 1e4) return absl::StrFormat("%.0fk", v / 1e3);
  return absl::StrFormat("%g", v);
}

std::string Open(const Frame& f, const std::string& title, const std::string& xlabel,
                 const std::string& ylabel) {
  std::string s = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f "
      "%.0f\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/>\n"
      "<text x=\"%.0f\" y=\"18\" font-size=\"13\" font-weight=\"bold\">%s</text>\n",
      f.w, f.h, f.w, f.h, f.left, title);
  // y grid and ticks
  const double step = NiceStep(f.y1);
  for (double v = 0; v <= f.y1 + 1e-9; v += step) {
    absl::StrAppendFormat(&s,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                          f.left, f.Y(v), f.w - f.right, f.Y(v), f.left - 4, f.Y(v) + 4, Number(v));
  }
  if (f.log_x) {
    for (double v = std::pow(10, std::floor(std::log10(f.x0))); v <= f.x1 * 1.0001; v *= 10) {
      if (v < f.x0 * 0.999) continue;
      absl::StrAppendFormat(
          &s,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
          f.X(v), f.top, f.X(v), f.h - f.bottom, f.X(v), f.h - f.bottom + 14, v);
    }
  } else {
    const double xstep = NiceStep(f.x1);
    for (double v = 0; v <= f.x1 + 1e-9; v += xstep) {
      absl::StrAppendFormat(&s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                            f.X(v), f.h - f.bottom + 14, Number(v));
    }
  }
  absl::StrAppendFormat(
      &s,
      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>"
      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n"
      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n"
      "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
      f.left, f.h - f.bottom, f.w - f.right, f.h - f.bottom, f.left, f.top, f.left, f.h - f.bottom,
      (f.left + f.w - f.right) / 2, f.h - 8, xlabel, (f.top + f.h - f.bottom) / 2, ylabel);
  return s;
}

std::string Polyline(const Frame& f, const std::vector<std::pair<double, double>>& points,
                     const char* color) {
  std::string s = absl::StrFormat(
      "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" points=\"", color);
  for (const auto& [x, y] : points) absl::StrAppendFormat(&s, "%.1f,%.1f ", f.X(x), f.Y(y));
  return s + "\"/>\n";
}

std::string Legend(const Frame& f, int i, const char* color, const std::string& label) {
  const double x = f.w - f.right - 110, y = f.top + 6 + 14 * i;
  return absl::StrFormat(
      "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
      "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
      x, y, color, x + 14, y + 9, label);
}

}  // namespace

std::string SummaryText(const Report& r) {
  const auto& h = r.latency;
  std::string s =
      absl::StrFormat("%s, %s, %d channel(s), %.1f s recorded\n", MethodName(r.options.method),
                      Mode(r.options), r.options.channels, r.seconds);
  absl::StrAppendFormat(&s, "  achieved  %.0f calls/s (%lld calls, %lld errors)\n",
                        r.achieved_rate(), static_cast<long long>(r.calls),
                        static_cast<long long>(r.errors));
  absl::StrAppendFormat(&s, "  latency   p50 %s  p90 %s  p99 %s  p99.9 %s  max %s ms\n",
                        Ms(h.Percentile(0.5)), Ms(h.Percentile(0.9)), Ms(h.Percentile(0.99)),
                        Ms(h.Percentile(0.999)), Ms(h.max()));
  for (const auto& [name, m] : r.methods) {
    absl::StrAppendFormat(&s, "  %-12s %lld calls, p50 %s  p99 %s  max %s ms\n", name,
                          static_cast<long long>(m.calls), Ms(m.latency.Percentile(0.5)),
                          Ms(m.latency.Percentile(0.99)), Ms(m.latency.max()));
    if (m.status_latency.size() < 2) continue;  // One status: the line above says it all.
    for (const auto& [code, h] : m.status_latency) {
      absl::StrAppendFormat(&s, "    %-20s %lld calls, p50 %s  p99 %s  max %s ms\n", code,
                            static_cast<long long>(h.count()), Ms(h.Percentile(0.5)),
                            Ms(h.Percentile(0.99)), Ms(h.max()));
    }
  }
  if (r.slots > 0) {
    absl::StrAppendFormat(&s, "  fill rate %.3f (%lld placements / %lld slots)\n", r.fill_rate(),
                          static_cast<long long>(r.placements), static_cast<long long>(r.slots));
  }
  for (const auto& [reason, n] : r.no_bid_reasons) {
    absl::StrAppendFormat(&s, "  no bid    %s: %lld\n", reason, static_cast<long long>(n));
  }
  if (!r.event_results.empty()) {
    absl::StrAppendFormat(&s, "  events    %.0f a second (answered in OK ReportEvents calls)\n",
                          r.events_rate());
  }
  for (const auto& [result, n] : r.event_results) {
    absl::StrAppendFormat(&s, "  events    %s: %lld\n", result, static_cast<long long>(n));
  }
  if (r.ran_out_of_tokens) {
    absl::StrAppend(&s,
                    "  tokens    ran out before the end: the rates above are low (collect more: "
                    "--report_tokens)\n");
  }
  for (const auto& [code, n] : r.errors_by_status) {
    absl::StrAppendFormat(&s, "  errors    %s: %lld\n", code, static_cast<long long>(n));
  }
  return s;
}

std::string ToJson(const Report& r) {
  const auto& o = r.options;
  std::string s = absl::StrCat(
      "{\n  \"method\": \"", MethodName(o.method), "\",\n  \"mode\": \"",
      o.rate > 0 ? "open" : "closed", "\",\n  \"target_rate\": ", absl::StrFormat("%.1f", o.rate),
      ",\n  \"concurrency\": ", o.rate > 0 ? 0 : o.concurrency, ",\n  \"channels\": ", o.channels,
      ",\n  \"seconds\": ", absl::StrFormat("%.3f", r.seconds), ",\n  \"calls\": ", r.calls,
      ",\n  \"errors\": ", r.errors,
      ",\n  \"achieved_rate\": ", absl::StrFormat("%.1f", r.achieved_rate()),
      ",\n  \"latency\": ", JsonLatency(r.latency),
      ",\n  \"errors_by_status\": ", JsonCounts(r.errors_by_status), ",\n  \"slots\": ", r.slots,
      ",\n  \"placements\": ", r.placements,
      ",\n  \"fill_rate\": ", absl::StrFormat("%.4f", r.fill_rate()),
      ",\n  \"no_bid_reasons\": ", JsonCounts(r.no_bid_reasons),
      ",\n  \"event_results\": ", JsonCounts(r.event_results),
      ",\n  \"events_rate\": ", absl::StrFormat("%.1f", r.events_rate()),
      ",\n  \"report_batch\": ", o.method == Method::kReport ? o.report_batch : 0,
      ",\n  \"ran_out_of_tokens\": ", r.ran_out_of_tokens ? "true" : "false",
      ",\n  \"methods\": {");
  bool first = true;
  for (const auto& [name, m] : r.methods) {
    absl::StrAppend(&s, first ? "" : ",", "\n    \"", name, "\": {\"calls\": ", m.calls,
                    ", \"latency\": ", JsonLatency(m.latency),
                    ", \"status\": ", JsonCounts(m.status), ", \"status_latency\": {");
    // One status a line, so that shell scripts can pick one out.
    bool first_code = true;
    for (const auto& [code, h] : m.status_latency) {
      absl::StrAppend(&s, first_code ? "" : ",", "\n      \"", code, "\": ", JsonLatency(h));
      first_code = false;
    }
    absl::StrAppend(&s, "}}");
    first = false;
  }
  absl::StrAppend(&s, "\n  },\n  \"timeline\": [");
  for (size_t i = 0; i < r.timeline.size(); ++i) {
    const auto& t = r.timeline[i];
    absl::StrAppendFormat(
        &s,
        "%s\n    {\"t\": %.0f, \"calls\": %lld, \"errors\": %lld, \"p50_ms\": %s, "
        "\"p99_ms\": %s, \"max_ms\": %s}",
        i ? "," : "", t.t, static_cast<long long>(t.calls), static_cast<long long>(t.errors),
        Ms(t.p50_ns), Ms(t.p99_ns), Ms(t.max_ns));
  }
  return s + "\n  ]\n}\n";
}

std::string HistogramSvg(const Report& r) {
  // Histogram buckets regrouped into 10 bins a decade of milliseconds.
  std::map<int, int64_t> bins;
  r.latency.ForEachBucket([&](int64_t lo, int64_t hi, int64_t n) {
    const double ms = std::max((lo + hi) / 2e6, 1e-3);
    bins[static_cast<int>(std::floor(std::log10(ms) * 10))] += n;
  });
  Frame f;
  int64_t most = 1;
  for (const auto& [b, n] : bins) most = std::max(most, n);
  f.log_x = true;
  f.x0 = bins.empty() ? 0.01 : std::pow(10, std::floor(bins.begin()->first / 10.0));
  f.x1 = bins.empty() ? 1 : std::pow(10, std::ceil((bins.rbegin()->first + 1) / 10.0));
  f.y1 = most * 1.1;
  std::string s = Open(f, "Latency histogram (all calls)", "latency, ms (log scale)", "calls");
  for (const auto& [b, n] : bins) {
    const double x = f.X(std::pow(10, b / 10.0)), x2 = f.X(std::pow(10, (b + 1) / 10.0));
    absl::StrAppendFormat(
        &s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4878d0\"/>\n", x,
        f.Y(n), std::max(x2 - x - 1, 1.0), f.Y(0) - f.Y(n));
  }
  const char* colors[] = {"#2a9d8f", "#e9c46a", "#f4a261", "#e76f51"};
  int i = 0;
  for (const auto& q : kQuantiles) {
    const double v = std::max(r.latency.Percentile(q.q) / 1e6, f.x0);
    absl::StrAppendFormat(&s,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                          "stroke-width=\"2\" stroke-dasharray=\"4 2\"/>\n",
                          f.X(v), f.top, f.X(v), f.Y(0), colors[i]);
    s += Legend(f, i, colors[i], absl::StrCat(q.name, " ", Ms(r.latency.Percentile(q.q)), " ms"));
    ++i;
  }
  return s + "</svg>\n";
}

std::string LatencyOverTimeSvg(const Report& r) {
  Frame f;
  f.x1 = std::max<double>(1, r.timeline.size());
  double top = 0.001;
  for (const auto& t : r.timeline) top = std::max(top, t.max_ns / 1e6);
  f.y1 = top * 1.1;
  std::string s = Open(f, "Latency over time", "seconds", "latency, ms");
  std::vector<std::pair<double, double>> p50, p99, max;
  for (const auto& t : r.timeline) {
    p50.emplace_back(t.t + 0.5, t.p50_ns / 1e6);
    p99.emplace_back(t.t + 0.5, t.p99_ns / 1e6);
    max.emplace_back(t.t + 0.5, t.max_ns / 1e6);
  }
  s += Polyline(f, max, "#e76f51") + Polyline(f, p99, "#f4a261") + Polyline(f, p50, "#2a9d8f");
  s += Legend(f, 0, "#2a9d8f", "p50") + Legend(f, 1, "#f4a261", "p99") +
       Legend(f, 2, "#e76f51", "max");
  return s + "</svg>\n";
}

std::string ThroughputOverTimeSvg(const Report& r) {
  Frame f;
  f.x1 = std::max<double>(1, r.timeline.size());
  double top = 1;
  for (const auto& t : r.timeline) top = std::max<double>(top, t.calls);
  f.y1 = top * 1.1;
  std::string s = Open(f, "Throughput over time", "seconds", "calls per second");
  std::vector<std::pair<double, double>> calls, errors;
  for (const auto& t : r.timeline) {
    calls.emplace_back(t.t + 0.5, t.calls);
    errors.emplace_back(t.t + 0.5, t.errors);
  }
  s += Polyline(f, calls, "#4878d0") + Polyline(f, errors, "#d62728");
  s += Legend(f, 0, "#4878d0", "completed") + Legend(f, 1, "#d62728", "errors");
  return s + "</svg>\n";
}

std::string ToHtml(const Report& r) {
  std::string s =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>attex-load report</title>\n"
      "<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
      "pre{background:#f7f7f7;padding:8px}</style></head><body>\n<h1>attex-load report</h1>\n";
  absl::StrAppend(&s, "<pre>", SummaryText(r), "</pre>\n");  // Only digits, names and codes.
  absl::StrAppend(&s, "<table><tr><th>method</th><th>calls</th>");
  for (const auto& q : kQuantiles) absl::StrAppend(&s, "<th>", q.name, " ms</th>");
  absl::StrAppend(&s, "<th>max ms</th></tr>\n");
  auto row = [&](const std::string& name, const Histogram& h) {
    absl::StrAppend(&s, "<tr><td>", name, "</td><td>", h.count(), "</td>");
    for (const auto& q : kQuantiles) absl::StrAppend(&s, "<td>", Ms(h.Percentile(q.q)), "</td>");
    absl::StrAppend(&s, "<td>", Ms(h.max()), "</td></tr>\n");
  };
  row("all", r.latency);
  for (const auto& [name, m] : r.methods) row(name, m.latency);
  absl::StrAppend(&s, "</table>\n<h2>Latency</h2>\n", HistogramSvg(r), "<br>\n",
                  LatencyOverTimeSvg(r), "<h2>Throughput</h2>\n", ThroughputOverTimeSvg(r),
                  "</body></html>\n");
  return s;
}

}  // namespace attex::load
