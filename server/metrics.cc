#include "server/metrics.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "prometheus/metric_family.h"
#include "server/core.h"

namespace attex::server {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* kBuckets = new prometheus::Histogram::BucketBoundaries{
      50e-6, 100e-6, 250e-6, 500e-6, 1e-3,   2.5e-3, 5e-3,
      10e-3, 25e-3,  50e-3,  100e-3, 250e-3, 1,      2.5};
  return *kBuckets;
}

// "/attex.v1.Exchange/Bid" -> "Exchange/Bid"; "/grpc.health.v1.Health/Check" -> "Health/Check".
std::string ShortMethod(const char* full) {
  std::string m = full == nullptr ? "" : full;
  const auto slash = m.rfind('/');
  if (slash == std::string::npos || slash == 0) return m;
  const auto dot = m.rfind('.', slash);
  return dot == std::string::npos ? m.substr(1) : m.substr(dot + 1);
}

class CallInterceptor final : public grpc::experimental::Interceptor {
 public:
  CallInterceptor(Metrics* metrics, std::string method)
      : metrics_(metrics), method_(std::move(method)), start_(absl::Now()) {
    metrics_->CallStarted();
  }
  ~CallInterceptor() override { metrics_->CallEnded(); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->Call(method_, methods->GetSendStatus().error_code(), absl::Now() - start_);
    }
    methods->Proceed();
  }

 private:
  Metrics* metrics_;
  std::string method_;
  absl::Time start_;
};

class InterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit InterceptorFactory(Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallInterceptor(metrics_, ShortMethod(info->method()));
  }

 private:
  Metrics* metrics_;
};

}  // namespace

// Gauges whose value is computed when scraped.
// A metric family of this registry, by name and help text.
template <typename Builder>
auto& Metrics::RegisterFamily(Builder builder, const char* name, const char* help) {
  return builder.Name(name).Help(help).Register(*registry_);
}

class Metrics::Callbacks final : public prometheus::Collectable {
 public:
  void Add(std::string name, std::string help, std::function<double()> value) {
    absl::MutexLock lock(&mu_);
    entries_.push_back({std::move(name), std::move(help), std::move(value), {}, {}});
  }
  void AddInfo(std::string name, std::string help, std::string label,
               std::function<std::string()> value) {
    absl::MutexLock lock(&mu_);
    entries_.push_back(
        {std::move(name), std::move(help), [] { return 1.0; }, std::move(label), std::move(value)});
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    absl::MutexLock lock(&mu_);
    std::vector<prometheus::MetricFamily> out;
    for (const auto& e : entries_) {
      prometheus::MetricFamily family;
      family.name = e.name;
      family.help = e.help;
      family.type = prometheus::MetricType::Gauge;
      prometheus::ClientMetric metric;
      metric.gauge.value = e.value();
      if (e.label_value) metric.label.push_back({e.label, e.label_value()});
      family.metric.push_back(std::move(metric));
      out.push_back(std::move(family));
    }
    return out;
  }

 private:
  struct Entry {
    std::string name, help;
    std::function<double()> value;
    std::string label;  // With label_value: an info gauge.
    std::function<std::string()> label_value;
  };
  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
};

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      callbacks_(std::make_shared<Callbacks>()),
      calls_(RegisterFamily(BuildCounter(), "attex_calls_total",
                            "Finished RPCs by method and gRPC status")),
      latency_(RegisterFamily(BuildHistogram(), "attex_call_latency_seconds",
                              "RPC latency in the server by method and gRPC status")),
      in_flight_gauge_(
          RegisterFamily(BuildGauge(), "attex_calls_in_flight", "RPCs started and not yet finished")
              .Add({})),
      shed_(RegisterFamily(
          BuildCounter(), "attex_calls_shed_total",
          "RPCs refused by admission control, by reason (capacity, deadline, queue, late)")),
      slots_(RegisterFamily(BuildCounter(), "attex_auction_slots_total",
                            "Slots asked for in Bid requests")
                 .Add({})),
      placements_(
          RegisterFamily(BuildCounter(), "attex_auction_placements_total",
                         "Slots filled in answered Bids, after budget reservations (fill rate = "
                         "placements / slots)")
              .Add({})),
      floors_hit_(RegisterFamily(BuildCounter(), "attex_auction_floor_priced_total",
                                 "Placements priced at the slot's floor")
                      .Add({})),
      no_bid_(RegisterFamily(BuildCounter(), "attex_auction_no_bid_total",
                             "Bid calls answered with no placement, by reason")),
      ledger_commit_(
          RegisterFamily(BuildHistogram(), "attex_ledger_commit_seconds",
                         "Time to commit one batch of billing events durably (group commit)")
              .Add({}, LatencyBuckets())),
      spend_(RegisterFamily(BuildCounter(), "attex_spend_micros_total",
                            "Billed spend since start, micros")
                 .Add({})),
      losses_(RegisterFamily(BuildCounter(), "attex_openrtb_losses_total",
                             "OpenRTB loss notices (lurl) by OpenRTB loss reason code")) {
  for (ShedReason reason :
       {ShedReason::kCapacity, ShedReason::kDeadline, ShedReason::kQueue, ShedReason::kLate}) {
    shed_by_reason_[static_cast<size_t>(reason)] =
        &shed_.Add({{"reason", std::string(ShedReasonName(reason))}});
  }
}

Metrics::~Metrics() { StopServing(); }

namespace {

// Opens and drops a connection to the metrics listener at `listen` (its
// bound `port`), without blocking: a wildcard or missing host ("9464") is
// reached on loopback.
void Knock(const std::string& listen, int port) {
  const size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    ::connect(fd, a->ai_addr, a->ai_addrlen);  // Loopback: queued at once.
    ::close(fd);
  }
  freeaddrinfo(found);
}

}  // namespace

void Metrics::StopServing() {
  if (exposer_ == nullptr) return;
  // civetweb's listener thread polls its socket with a 2 s timeout and only
  // then sees the stop flag that mg_stop sets, so every stop (every test
  // server's) waited up to 2 s. A connection arriving after the flag is set
  // wakes it at once; connections made before are served (and closed) as
  // any, so knock until the exposer is gone.
  std::atomic<bool> stopped{false};
  std::thread stopper([this, &stopped] {
    exposer_.reset();
    stopped.store(true);
  });
  while (!stopped.load()) {
    Knock(listen_, port_);
    absl::SleepFor(absl::Milliseconds(2));
  }
  stopper.join();
}

absl::Status Metrics::Serve(const std::string& listen) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("metrics_listen ", listen, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(callbacks_);
  const auto ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? 0 : ports.front();
  listen_ = listen;
  return absl::OkStatus();
}

void Metrics::Call(std::string_view method, grpc::StatusCode code, absl::Duration latency) {
  std::string key =
      absl::StrCat(absl::string_view(method.data(), method.size()), "#", static_cast<int>(code));
  CallSeries s;
  {
    absl::MutexLock lock(&series_mu_);
    auto it = series_.find(key);
    if (it == series_.end()) {
      const std::map<std::string, std::string> labels = {
          {"method", std::string(method)}, {"code", absl::StrCat(static_cast<int>(code))}};
      it = series_
               .emplace(key,
                        CallSeries{&calls_.Add(labels), &latency_.Add(labels, LatencyBuckets())})
               .first;
    }
    s = it->second;
  }
  s.calls->Increment();
  s.latency->Observe(absl::ToDoubleSeconds(latency));
  calls_total_.fetch_add(1, std::memory_order_relaxed);
  MaybeSample();
}

Metrics::Totals Metrics::totals() const {
  Totals t;
  t.at_ms = absl::ToUnixMillis(absl::Now());
  t.calls = calls_total_.load(std::memory_order_relaxed);
  t.bids = bids_total_.load(std::memory_order_relaxed);
  t.slots = slots_total_.load(std::memory_order_relaxed);
  t.placements = placements_total_.load(std::memory_order_relaxed);
  t.spend = spend_total_.load(std::memory_order_relaxed);
  t.shed = shed_total_.load(std::memory_order_relaxed);
  t.events_accepted = events_accepted_total_.load(std::memory_order_relaxed);
  return t;
}

void Metrics::MaybeSample() {
  const int64_t now_s = absl::ToUnixSeconds(absl::Now());
  int64_t last = last_sample_s_.load(std::memory_order_relaxed);
  if (now_s <= last || !last_sample_s_.compare_exchange_strong(last, now_s)) return;
  const Totals t = totals();
  absl::MutexLock lock(&samples_mu_);
  samples_.push_back(t);
  while (samples_.size() > 1 && samples_.front().at_ms < t.at_ms - 61'000) samples_.pop_front();
}

void Metrics::FillRates(int64_t max_in_flight, attex::v1::Stats* stats) {
  const Totals now = totals();
  Totals then;  // Zeros at start.
  {
    absl::MutexLock lock(&samples_mu_);
    for (const Totals& t : samples_) {
      if (t.at_ms >= now.at_ms - 60'000) {
        then = t;
        break;
      }
    }
  }
  if (then.at_ms == 0) then.at_ms = now.at_ms - 1000;
  const double seconds = std::max(1e-3, (now.at_ms - then.at_ms) / 1000.0);
  stats->set_calls_per_second((now.calls - then.calls) / seconds);
  stats->set_bids_per_second((now.bids - then.bids) / seconds);
  const int64_t slots = now.slots - then.slots;
  stats->set_fill_rate_last_minute(
      slots > 0 ? static_cast<double>(now.placements - then.placements) / slots : 0.0);
  stats->set_spend_micros_per_second((now.spend - then.spend) / seconds);
  stats->set_shed_per_second((now.shed - then.shed) / seconds);
  stats->set_calls_shed(now.shed);
  stats->set_calls_in_flight(in_flight());
  stats->set_max_in_flight(max_in_flight);
}

void Metrics::CallStarted() {
  in_flight_gauge_.Set(static_cast<double>(in_flight_.fetch_add(1, std::memory_order_relaxed) + 1));
}

void Metrics::CallEnded() {
  in_flight_gauge_.Set(static_cast<double>(in_flight_.fetch_sub(1, std::memory_order_relaxed) - 1));
}

std::string_view Metrics::ShedReasonName(ShedReason reason) {
  switch (reason) {
    case ShedReason::kCapacity:
      return "capacity";
    case ShedReason::kDeadline:
      return "deadline";
    case ShedReason::kQueue:
      return "queue";
    case ShedReason::kLate:
      return "late";
  }
  return "unknown";
}

void Metrics::Shed(ShedReason reason) {
  shed_total_.fetch_add(1, std::memory_order_relaxed);
  shed_by_reason_[static_cast<size_t>(reason)]->Increment();
}

void Metrics::Bid(int slots, int placements, int floor_priced, std::string_view no_bid_reason) {
  slots_.Increment(slots);
  placements_.Increment(placements);
  bids_total_.fetch_add(1, std::memory_order_relaxed);
  slots_total_.fetch_add(slots, std::memory_order_relaxed);
  placements_total_.fetch_add(placements, std::memory_order_relaxed);
  if (floor_priced > 0) floors_hit_.Increment(floor_priced);
  if (!no_bid_reason.empty()) no_bid_.Add({{"reason", std::string(no_bid_reason)}}).Increment();
}

void Metrics::OpenRtbLoss(std::string_view reason) {
  losses_.Add({{"reason", std::string(reason)}}).Increment();
}

void Metrics::LedgerCommit(const billing::CommitSummary& commit) {
  ledger_commit_.Observe(absl::ToDoubleSeconds(commit.latency));
  events_accepted_total_.fetch_add(commit.accepted, std::memory_order_relaxed);
  if (commit.billed_micros <= 0) return;
  spend_.Increment(static_cast<double>(commit.billed_micros));
  spend_total_.fetch_add(commit.billed_micros, std::memory_order_relaxed);
}

void Metrics::AddGaugeCallback(const std::string& name, const std::string& help,
                               std::function<double()> value) {
  callbacks_->Add(name, help, std::move(value));
}

void Metrics::AddInfoCallback(const std::string& name, const std::string& help,
                              const std::string& label, std::function<std::string()> value) {
  callbacks_->AddInfo(name, help, label, std::move(value));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Metrics::MakeInterceptorFactory() {
  return std::make_unique<InterceptorFactory>(this);
}

absl::Status ServeMetrics(Core& core) {
  if (core.options.metrics_listen.empty()) return absl::OkStatus();
  Metrics& m = core.metrics;
  m.AddGaugeCallback("attex_spend_today_micros", "Billed spend in the current UTC day, micros",
                     [&core] {
                       const int64_t now_ms = NowMs();
                       double sum = 0;
                       for (const auto& c : core.catalog_manager.Current()->campaigns) {
                         sum += static_cast<double>(c->budget->today(now_ms));
                       }
                       return sum;
                     });
  m.AddGaugeCallback("attex_campaigns_out_of_budget",
                     "Active campaigns whose daily or total budget is spent", [&core] {
                       const int64_t now_ms = NowMs();
                       double n = 0;
                       for (const auto& c : core.catalog_manager.Current()->campaigns) {
                         n += c->status == attex::v1::CAMPAIGN_STATUS_ACTIVE &&
                              c->budget->Remaining(now_ms) <= 0;
                       }
                       return n;
                     });
  m.AddGaugeCallback("attex_active_campaigns", "Active campaigns in the catalogue", [&core] {
    return static_cast<double>(core.catalog_manager.Current()->active_campaigns);
  });
  m.AddGaugeCallback(
      "attex_active_ads", "Active ads (campaign creatives) in the catalogue",
      [&core] { return static_cast<double>(core.catalog_manager.Current()->active_ads); });
  m.AddGaugeCallback(
      "attex_catalog_builds",
      "Catalogue snapshots built whole since start (new or archived campaigns, "
      "changed creatives, a new model)",
      [&core] { return static_cast<double>(core.catalog_manager.publish_counts().builds); });
  m.AddGaugeCallback(
      "attex_catalog_patches",
      "Catalogue snapshots made by patching the previous one since start (bids, status, "
      "budgets, targeting)",
      [&core] { return static_cast<double>(core.catalog_manager.publish_counts().patches); });
  m.AddGaugeCallback(
      "attex_catalog_upserts", "Campaign changes the catalogue has taken in since start",
      [&core] { return static_cast<double>(core.catalog_manager.publish_counts().upserts); });
  m.AddGaugeCallback(
      "attex_campaign_commits",
      "Store transactions of campaign changes since start (one fsync each, group commit)",
      [&core] { return static_cast<double>(core.campaign_changes.commits()); });
  m.AddGaugeCallback(
      "attex_campaign_changes",
      "Campaign changes (UpdateCampaign, SetCampaignStatus) sent to the store since start",
      [&core] { return static_cast<double>(core.campaign_changes.changes()); });
  m.AddInfoCallback("attex_model_info", "The attention model serving Bid calls (1)", "version",
                    [&core] { return core.catalog_manager.Current()->model->version(); });
  m.AddGaugeCallback("attex_max_in_flight", "The admission bound on calls in flight (0: none)",
                     [&core] { return static_cast<double>(core.admission.max_in_flight()); });
  m.AddGaugeCallback("attex_bid_queue_waiting", "Bid calls queued for a bid thread",
                     [&core] { return static_cast<double>(core.bids->waiting()); });
  m.AddGaugeCallback(
      "attex_bid_service_seconds",
      "Measured time to decide one Bid on a bid thread (moving average over about 8 calls)",
      [&core] { return absl::ToDoubleSeconds(core.bids->service_time()); });
  m.AddGaugeCallback("attex_bid_queue_limit",
                     "Bid calls that may wait: --bid_queue_ms of work at the measured service time",
                     [&core] { return static_cast<double>(core.bids->limit()); });
  if (core.pass_workers != nullptr) {
    m.AddGaugeCallback(
        "attex_pass_splits",
        "Passes (and ad masks) over large catalogues split across the pass threads since start",
        [&core] { return static_cast<double>(core.pass_workers->split()); });
    m.AddGaugeCallback(
        "attex_pass_splits_busy",
        "Passes (and ad masks) run on one thread since start because another held the pass "
        "threads",
        [&core] { return static_cast<double>(core.pass_workers->busy()); });
  }
  if (core.gatherer != nullptr) {
    m.AddGaugeCallback("attex_shared_passes", "Shared passes run (Bid calls gathered into one)",
                       [&core] { return static_cast<double>(core.gatherer->passes()); });
    m.AddGaugeCallback("attex_shared_pass_bids", "Bid calls decided in shared passes",
                       [&core] { return static_cast<double>(core.gatherer->requests()); });
  }
  return m.Serve(core.options.metrics_listen);
}

}  // namespace attex::server
