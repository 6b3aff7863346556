#include "server/admission.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace attex::server {

absl::Status Admission::Admit(const grpc::CallbackServerContext& ctx) const {
  // The metrics interceptor has counted this call already, hence ">".
  if (max_in_flight_ > 0 && metrics_->in_flight() > max_in_flight_) {
    metrics_->Shed(Metrics::ShedReason::kCapacity);
    return absl::ResourceExhaustedError(absl::StrCat("the server is at capacity (", max_in_flight_,
                                                     " calls in flight); retry with backoff"));
  }
  return StillWanted(absl::FromChrono(ctx.deadline()));
}

absl::Status Admission::StillWanted(absl::Time deadline) const {
  if (absl::Now() >= deadline) {
    metrics_->Shed(Metrics::ShedReason::kDeadline);
    return absl::DeadlineExceededError("the call's deadline passed before it was worked on");
  }
  return absl::OkStatus();
}

QueueLimit::QueueLimit(int workers, absl::Duration max_delay)
    : workers_(std::max(1, workers)), max_delay_(max_delay) {}

absl::Duration QueueLimit::Wait(int64_t waiting, int64_t running,
                                absl::Duration running_elapsed) const {
  // A job starts at once while a worker is free; behind the others it
  // waits for its share of the work ahead (a running job counted whole,
  // less what it has done).
  const int64_t ahead = waiting + running - workers_ + 1;
  if (ahead <= 0) return absl::ZeroDuration();
  const absl::Duration done =
      std::clamp(running_elapsed, absl::ZeroDuration(), service_ * std::max<int64_t>(running, 0));
  return std::max(absl::ZeroDuration(), service_ * ahead - done) / workers_;
}

std::optional<Metrics::ShedReason> QueueLimit::Refusal(absl::Time now, absl::Time deadline,
                                                       int64_t waiting, int64_t running,
                                                       absl::Duration running_elapsed) const {
  const absl::Duration wait = Wait(waiting, running, running_elapsed);
  if (wait > max_delay_) return Metrics::ShedReason::kQueue;
  if (now + wait + service_ > deadline) return Metrics::ShedReason::kLate;
  return std::nullopt;
}

void QueueLimit::Served(absl::Duration service) {
  // An exponentially weighted moving average over about the last 8 jobs:
  // quick enough to follow a catalogue that grows or a neighbour that takes
  // the CPU, smooth enough that the limit does not flap with every job.
  service = std::min(service, 4 * service_);
  service_ += (service - service_) / 8;
  service_ = std::max(service_, absl::Microseconds(1));
}

int64_t QueueLimit::limit() const {
  return static_cast<int64_t>(absl::FDivDuration(max_delay_ * workers_, service_));
}

}  // namespace attex::server
