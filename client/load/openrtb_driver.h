// attex-load --method openrtb: POST /openrtb2/bid over HTTP/1.1 keep-alive
// (Boost.Beast), the workload's bid requests written as OpenRTB 2.6 bodies
// (openrtb_body.h). `concurrency` connections, each on a thread of its own
// with one request in flight (closed loop); with a rate, each connection
// sends its share on a fixed schedule and every call is timed from its
// intended send time, so that a stalled server shows in the tail (calls in
// flight are bounded by the connections). Recorded as the gRPC methods are
// (recorder.h), under the method "OpenRTB": 200 and 204 count as OK, 503 as
// RESOURCE_EXHAUSTED, 504 as DEADLINE_EXCEEDED, other statuses and failed
// connections as errors.
#ifndef ATTEX_CLIENT_LOAD_OPENRTB_DRIVER_H_
#define ATTEX_CLIENT_LOAD_OPENRTB_DRIVER_H_

#include "absl/status/statusor.h"
#include "client/load/driver.h"

namespace attex::load {

// options.openrtb_addr is the endpoint's host:port; options.requests the
// bid requests, cycled.
absl::StatusOr<Report> RunOpenRtbLoad(const DriverOptions& options);

}  // namespace attex::load

#endif  // ATTEX_CLIENT_LOAD_OPENRTB_DRIVER_H_
