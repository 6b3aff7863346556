// The load engine of attex-load: drives Ping, Bid, ReportEvents and
// UpdateCampaign calls
// through the gRPC callback API (one thread issues, gRPC's threads complete)
// over several channels, closed loop (a fixed number of calls in flight) or
// open loop (calls sent on a fixed schedule, each call's latency measured
// from its intended send time, so that a stalled server shows in the tail
// rather than slowing the schedule: no coordinated omission). The sending
// is here; what is measured of the calls, and how, is recorder.h.
#ifndef ATTEX_CLIENT_LOAD_DRIVER_H_
#define ATTEX_CLIENT_LOAD_DRIVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attex/v1/campaign.pb.h"
#include "attex/v1/exchange.pb.h"
#include "client/load/histogram.h"
#include "grpcpp/security/credentials.h"

namespace attex::load {

// kUpdate: UpdateCampaign of `campaigns` in turn, each a new bid (what an
// advertiser's automated bidder sends). kOpenRtb: Bid as OpenRTB 2.6 over
// HTTP (openrtb_driver.h). kReport: ReportEvents alone, each call a batch
// of `report_batch` impressions of `billing_tokens` not reported before
// (collected from Bid answers first: token_collector.h).
enum class Method { kPing, kBid, kEvents, kMix, kOpenRtb, kUpdate, kReport };
// "ping", "bid", "events", "mix", "openrtb", "update", "report".
absl::StatusOr<Method> ParseMethod(const std::string& name);
std::string MethodName(Method method);

struct DriverOptions {
  std::string addr;          // host:port
  std::string openrtb_addr;  // host:port of the OpenRTB endpoint (method openrtb).
  std::string token;         // bearer token (platform or operator for bid/events)
  // Plaintext unless set (TLS or mutual TLS: client/credentials.h).
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  int channels = 1;
  Method method = Method::kPing;
  int concurrency = 8;                       // Closed loop: calls kept in flight.
  double rate = 0;                           // > 0: open loop at this many calls a second.
  absl::Duration warmup = absl::Seconds(1);  // Sent, not recorded.
  absl::Duration duration = absl::Seconds(10);
  absl::Duration timeout = absl::Seconds(1);  // Per call deadline.
  int max_in_flight = 20000;  // Open loop: sending waits past this (still timed from schedule).
  int ping_payload = 0;       // Bytes of Ping payload.
  bool progress = false;      // A live line on stderr each second.
  std::vector<attex::v1::BidRequest> requests;  // Bid requests, cycled.
  // kUpdate: the campaigns updated, cycled (each call sends one with a new
  // bid, version 0: no version check), and the token that owns them.
  std::vector<attex::v1::Campaign> campaigns;
  std::string update_token;
  // kReport: the tokens reported, each once, in their order, and the
  // events a call (at most api::kMaxEventsPerReport).
  std::vector<std::string> billing_tokens;
  int report_batch = 100;
};

// One second of the run (by completion time, from the start of recording).
struct Second {
  double t = 0;  // Seconds since recording began.
  int64_t calls = 0;
  int64_t errors = 0;
  int64_t p50_ns = 0, p99_ns = 0, max_ns = 0;
};

struct MethodStats {
  Histogram latency;  // Nanoseconds, OK and failed calls alike.
  int64_t calls = 0;
  std::map<std::string, int64_t> status;  // "OK", "DEADLINE_EXCEEDED", ...
  // Per status: how long the answered (OK) calls took apart from the
  // refused ones, which under overload should come back at once.
  std::map<std::string, Histogram> status_latency;
};

struct Report {
  DriverOptions options;  // Without the requests and token.
  double seconds = 0;     // Recorded window.
  Histogram latency;      // All calls in the window, nanoseconds.
  int64_t calls = 0, errors = 0;
  std::map<std::string, MethodStats> methods;  // "Ping", "Bid", "ReportEvents".
  std::map<std::string, int64_t> errors_by_status;
  int64_t slots = 0, placements = 0;
  std::map<std::string, int64_t> no_bid_reasons;
  std::map<std::string, int64_t> event_results;  // "ACCEPTED", "DUPLICATE", ...
  std::vector<Second> timeline;
  // kReport: the tokens were all reported before the end of the run (the
  // calls after that were not sent, so the rates are low: collect more).
  bool ran_out_of_tokens = false;
  double achieved_rate() const { return seconds > 0 ? calls / seconds : 0; }
  // Events answered (any result) in OK ReportEvents calls, a second.
  double events_rate() const;
  double fill_rate() const { return slots > 0 ? static_cast<double>(placements) / slots : 0; }
};

// Runs the load described by `options` and reports what was recorded.
// Errors: bad options (INVALID_ARGUMENT). Failing calls are reported, not
// errors.
absl::StatusOr<Report> RunLoad(DriverOptions options);

// "INVALID_ARGUMENT" and the like.
std::string GrpcCodeName(int code);

}  // namespace attex::load

#endif  // ATTEX_CLIENT_LOAD_DRIVER_H_
