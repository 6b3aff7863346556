// What attex-load measures of the calls it makes: the part of the driver
// that turns completed calls into a Report. Separate from the sending
// (driver.cc) so that tests can record calls at times a fake Clock gives
// and check counts, rates, percentiles and the timeline exactly.
#ifndef ATTEX_CLIENT_LOAD_RECORDER_H_
#define ATTEX_CLIENT_LOAD_RECORDER_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "attex/v1/exchange.pb.h"
#include "client/load/clock.h"
#include "client/load/driver.h"
#include "client/load/histogram.h"
#include "grpcpp/support/status.h"

namespace attex::load {

// Records the calls of one run. A call counts if its intended send time
// falls in the window [record_ns, record_ns + duration); its latency runs
// from that intended time to its completion, read from `clock` when it is
// recorded, so that a stalled server shows in the tail however late the
// call was sent (no coordinated omission). Per method, per gRPC status, and
// per second of completion from record_ns. Thread-safe.
class Recorder final {
 public:
  // `clock` must outlive the recorder.
  Recorder(const Clock& clock, int64_t record_ns, absl::Duration duration);
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  int64_t record_ns() const { return record_ns_; }
  int64_t end_ns() const { return end_ns_; }

  // A call of `method` ("Ping", "Bid", "ReportEvents") intended at
  // `intended_ns` has just completed with `status`.
  void Record(const char* method, const grpc::Status& status, int64_t intended_ns);
  // What an OK Bid call answered; counted for calls intended from
  // record_ns on.
  void RecordBid(int64_t intended_ns, const attex::v1::BidRequest& request,
                 const attex::v1::BidResponse& response);
  // What an OK ReportEvents call answered; likewise.
  void RecordEvents(int64_t intended_ns, const attex::v1::ReportEventsResponse& response);

  // For a progress line: the last whole second recorded and the errors so
  // far. False before the first second is over.
  bool LastSecond(Second* second, int64_t* errors) const;

  // What was recorded, the second in progress closed; `seconds` is the
  // window's duration, `options` left empty. Call once, when every call has
  // completed.
  Report Finish();

 private:
  // Closes the seconds before `second` into the timeline.
  void RollSecond(int64_t second) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const int64_t record_ns_, end_ns_;
  const absl::Duration duration_;

  mutable absl::Mutex mu_;
  Report report_ ABSL_GUARDED_BY(mu_);
  int64_t second_ ABSL_GUARDED_BY(mu_) = 0;  // The second `current_` holds.
  Second current_ ABSL_GUARDED_BY(mu_);
  Histogram current_latency_ ABSL_GUARDED_BY(mu_);
};

}  // namespace attex::load

#endif  // ATTEX_CLIENT_LOAD_RECORDER_H_
