#include "server/admission.h"

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

}  // namespace attex::server
