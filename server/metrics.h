// Prometheus metrics of attex-server, served by prometheus-cpp's exposer on
// --metrics_listen (GET /metrics). Calls, latency and calls in flight are
// counted for every RPC by a gRPC server interceptor (MakeInterceptorFactory);
// the services add auction outcomes, shed calls and the ledger's commit
// latency; gauges that are cheap to compute at scrape time (spend today,
// campaigns out of budget) are callbacks. Thread-safe.
#ifndef ATTEX_SERVER_METRICS_H_
#define ATTEX_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "attex/v1/operator.pb.h"
#include "billing/billing_batch.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}

namespace attex::server {

class Metrics final {
 public:
  Metrics();
  ~Metrics();  // StopServing.

  // Serves the registry on `listen` ("127.0.0.1:9464"; port 0: any).
  // Errors: UNAVAILABLE when it cannot listen.
  absl::Status Serve(const std::string& listen);
  int port() const { return port_; }  // 0 until Serve succeeded.
  // Closes the endpoint and joins its threads, within milliseconds.
  // Idempotent; not concurrently with Serve.
  void StopServing();

  // One finished RPC ("/attex.v1.Exchange/Bid" is shortened to "Exchange/Bid").
  void Call(std::string_view method, grpc::StatusCode code, absl::Duration latency);
  // Calls now in flight: started and not yet finished.
  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  void CallStarted();
  void CallEnded();
  // Why admission control refused a call: the label of
  // attex_calls_shed_total{reason}. kCapacity: --max_in_flight calls were in
  // flight; kDeadline: the call's deadline had passed; kQueue: the Bid work
  // queued ahead of it would take longer than --bid_queue_ms; kLate: it
  // could not be answered within its tmax (or gRPC deadline) counted from
  // its arrival.
  enum class ShedReason { kCapacity, kDeadline, kQueue, kLate };
  // "capacity", "deadline", "queue", "late"
  static std::string_view ShedReasonName(ShedReason reason);
  // A call refused by admission control.
  void Shed(ShedReason reason);
  // One answered Bid: the slots it asked for, the placements it was answered
  // with (after budget reservations), how many of those are priced at their
  // slot's floor, and why nothing was placed (empty when anything was).
  void Bid(int slots, int placements, int floor_priced, std::string_view no_bid_reason);
  // One ledger commit: a batch of billing events recorded durably in one
  // transaction (group commit), the events it accepted and the spend billed.
  void LedgerCommit(const billing::CommitSummary& commit);
  // One OpenRTB loss notice: attex_openrtb_losses_total{reason}, the label
  // one of a bounded set (openrtb::LossReasonLabel).
  void OpenRtbLoss(std::string_view reason);

  // Totals since start: what Operator.GetStats reports.
  struct Totals {
    int64_t at_ms = 0;
    int64_t calls = 0, bids = 0, slots = 0, placements = 0, spend = 0, shed = 0;
    int64_t events_accepted = 0;
  };
  Totals totals() const;
  // A gauge computed at each scrape.
  void AddGaugeCallback(const std::string& name, const std::string& help,
                        std::function<double()> value);
  // A gauge of value 1 whose label `label` is computed at each scrape
  // (attex_model_info{version="..."}).
  void AddInfoCallback(const std::string& name, const std::string& help, const std::string& label,
                       std::function<std::string()> value);

  // Sets the rate fields of `stats` (10 to 17): rates over about the last
  // minute, from samples taken at most once a second as calls finish.
  void FillRates(int64_t max_in_flight, attex::v1::Stats* stats);

  // Counts and times every call of a server it is added to.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeInterceptorFactory();

  prometheus::Registry& registry() { return *registry_; }

 private:
  class Callbacks;
  template <typename Builder>
  auto& RegisterFamily(Builder builder, const char* name, const char* help);
  // Per "method#code": the counter and histogram, found without building
  // prometheus label maps on every call.
  struct CallSeries {
    prometheus::Counter* calls;
    prometheus::Histogram* latency;
  };

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<Callbacks> callbacks_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string listen_;  // What Serve was given.
  int port_ = 0;
  std::atomic<int64_t> in_flight_{0};
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Gauge& in_flight_gauge_;
  prometheus::Family<prometheus::Counter>& shed_;
  // attex_calls_shed_total by ShedReason, made once: refusing stays cheap.
  std::array<prometheus::Counter*, 4> shed_by_reason_{};
  prometheus::Counter& slots_;
  prometheus::Counter& placements_;
  prometheus::Counter& floors_hit_;
  prometheus::Family<prometheus::Counter>& no_bid_;
  prometheus::Histogram& ledger_commit_;
  prometheus::Counter& spend_;
  prometheus::Family<prometheus::Counter>& losses_;
  // Totals are sampled for FillRates.
  void MaybeSample();
  std::atomic<int64_t> calls_total_{0}, bids_total_{0}, slots_total_{0}, placements_total_{0},
      spend_total_{0}, shed_total_{0}, events_accepted_total_{0};
  std::atomic<int64_t> last_sample_s_{0};
  absl::Mutex samples_mu_;
  std::deque<Totals> samples_ ABSL_GUARDED_BY(samples_mu_);  // Oldest first, about 61 s.
  absl::Mutex series_mu_;
  absl::flat_hash_map<std::string, CallSeries> series_ ABSL_GUARDED_BY(series_mu_);
};

struct Core;

// Adds the gauges read from the catalogue at scrape time (spend today,
// active campaigns and ads, campaigns out of budget) and serves `core`'s
// metrics on options.metrics_listen; does nothing when that is empty.
absl::Status ServeMetrics(Core& core);

}  // namespace attex::server

#endif  // ATTEX_SERVER_METRICS_H_
