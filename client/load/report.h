// What attex-load prints and writes: a plain-text summary, a JSON report and
// a self-contained HTML report (inline SVG charts, no scripts, no external
// resources) with the latency histogram and latency and throughput over
// time.
#ifndef ATTEX_CLIENT_LOAD_REPORT_H_
#define ATTEX_CLIENT_LOAD_REPORT_H_

#include <string>

#include "client/load/driver.h"

namespace attex::load {

// The summary for a terminal: mode, achieved rate, percentiles, fill rate,
// errors by gRPC status, and a line per method.
std::string SummaryText(const Report& report);

// The report as one JSON object (latencies in milliseconds).
std::string ToJson(const Report& report);

// The three charts as standalone SVG documents (also embedded in the HTML).
std::string HistogramSvg(const Report& report);
std::string LatencyOverTimeSvg(const Report& report);
std::string ThroughputOverTimeSvg(const Report& report);

// A complete HTML page: the summary table and the three charts.
std::string ToHtml(const Report& report);

}  // namespace attex::load

#endif  // ATTEX_CLIENT_LOAD_REPORT_H_
