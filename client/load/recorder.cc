#include "client/load/recorder.h"

#include <string>

namespace attex::load {

Recorder::Recorder(const Clock& clock, int64_t record_ns, absl::Duration duration)
    : clock_(clock),
      record_ns_(record_ns),
      end_ns_(record_ns + absl::ToInt64Nanoseconds(duration)),
      duration_(duration) {}

void Recorder::Record(const char* method, const grpc::Status& status, int64_t intended_ns) {
  const int64_t now = clock_.NowNs();
  if (intended_ns < record_ns_ || intended_ns >= end_ns_) return;
  const int64_t latency = now - intended_ns;
  const std::string code = GrpcCodeName(status.error_code());
  absl::MutexLock lock(&mu_);
  report_.latency.Record(latency);
  ++report_.calls;
  auto& m = report_.methods[method];
  m.latency.Record(latency);
  ++m.calls;
  ++m.status[code];
  m.status_latency[code].Record(latency);
  if (!status.ok()) {
    ++report_.errors;
    ++report_.errors_by_status[code];
  }
  RollSecond((now - record_ns_) / 1'000'000'000);
  ++current_.calls;
  if (!status.ok()) ++current_.errors;
  current_latency_.Record(latency);
}

void Recorder::RecordBid(int64_t intended_ns, const attex::v1::BidRequest& request,
                         const attex::v1::BidResponse& response) {
  if (intended_ns < record_ns_) return;
  absl::MutexLock lock(&mu_);
  report_.slots += request.slots_size();
  report_.placements += response.placements_size();
  if (!response.no_bid_reason().empty()) ++report_.no_bid_reasons[response.no_bid_reason()];
}

void Recorder::RecordEvents(int64_t intended_ns, const attex::v1::ReportEventsResponse& response) {
  if (intended_ns < record_ns_) return;
  absl::MutexLock lock(&mu_);
  for (const auto& r : response.results()) {
    std::string name = attex::v1::EventResult_Name(r.result());
    ++report_.event_results[name.substr(name.rfind('_') + 1)];
  }
}

bool Recorder::LastSecond(Second* second, int64_t* errors) const {
  absl::MutexLock lock(&mu_);
  if (report_.timeline.empty()) return false;
  *second = report_.timeline.back();
  *errors = report_.errors;
  return true;
}

void Recorder::RollSecond(int64_t second) {
  while (second_ < second) {
    current_.t = static_cast<double>(second_);
    current_.p50_ns = current_latency_.Percentile(0.5);
    current_.p99_ns = current_latency_.Percentile(0.99);
    current_.max_ns = current_latency_.max();
    report_.timeline.push_back(current_);
    current_ = Second();
    current_latency_.Clear();
    ++second_;
  }
}

Report Recorder::Finish() {
  absl::MutexLock lock(&mu_);
  if (current_.calls > 0) RollSecond(second_ + 1);
  report_.seconds = absl::ToDoubleSeconds(duration_);
  return report_;
}

}  // namespace attex::load
