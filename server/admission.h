// Admission control: at most max_in_flight calls are worked on at once;
// past that a call is refused at once with RESOURCE_EXHAUSTED rather than
// queued, so that memory and queueing delay stay bounded and clients can
// back off or go to another replica. A call whose deadline has already
// passed is not worked on (DEADLINE_EXCEEDED), neither when it arrives nor
// when it reaches the front of the work queue. Thread-safe.
#ifndef ATTEX_SERVER_ADMISSION_H_
#define ATTEX_SERVER_ADMISSION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "server/metrics.h"

namespace attex::server {

class Admission final {
 public:
  // max_in_flight 0: no bound. `metrics` counts the calls in flight and the
  // shed ones; it must outlive this.
  Admission(int64_t max_in_flight, Metrics* metrics)
      : max_in_flight_(max_in_flight), metrics_(metrics) {}

  // Whether a call that has just arrived may be worked on.
  absl::Status Admit(const grpc::CallbackServerContext& ctx) const;
  // Whether queued work is still wanted: DEADLINE_EXCEEDED once `deadline`
  // has passed.
  absl::Status StillWanted(absl::Time deadline) const;

  int64_t max_in_flight() const { return max_in_flight_; }

 private:
  const int64_t max_in_flight_;
  Metrics* const metrics_;
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_ADMISSION_H_
