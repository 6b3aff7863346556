#include "client/load/driver.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "api/limits.h"
#include "attex/v1/campaign.grpc.pb.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "attex/v1/operator.grpc.pb.h"
#include "client/channel_target.h"
#include "client/load/clock.h"
#include "client/load/openrtb_driver.h"
#include "client/load/recorder.h"
#include "grpcpp/grpcpp.h"

namespace attex::load {
namespace {

// One operation: a Ping, a Bid, or a Bid followed by ReportEvents for what
// it won. Reused by the closed loop for the next operation.
struct Op {
  Method kind = Method::kPing;
  int64_t intended_ns = 0;  // Of the RPC now in flight.
  std::unique_ptr<grpc::ClientContext> ctx;
  attex::v1::PingRequest ping_request;
  attex::v1::PingResponse ping_response;
  const attex::v1::BidRequest* bid_request = nullptr;
  attex::v1::BidResponse bid_response;
  attex::v1::ReportEventsRequest events_request;
  attex::v1::ReportEventsResponse events_response;
  attex::v1::Campaign update_request;
  attex::v1::Campaign update_response;
};

class Engine final : public std::enable_shared_from_this<Engine> {
 public:
  Engine(DriverOptions options, const Clock& clock) : options_(std::move(options)), clock_(clock) {
    for (int i = 0; i < options_.channels; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("attex.load.channel", i);  // Distinct args: a connection each.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto channel = attex::client::BalancedChannel(options_.addr, options_.credentials, args);
      exchange_.push_back(attex::v1::Exchange::NewStub(channel));
      operator_.push_back(attex::v1::Operator::NewStub(channel));
      campaigns_.push_back(attex::v1::Campaigns::NewStub(channel));
    }
  }

  Report Run();

 private:
  void Launch(int64_t intended_ns);
  void Start(Op* op);
  void StartPing(Op* op, int channel);
  void StartBid(Op* op, int channel);
  void StartEvents(Op* op, int channel);
  void StartUpdate(Op* op, int channel, uint64_t n);
  // Finishes op instead once every token has been taken.
  void StartReport(Op* op, int channel);
  // Sends op->events_request (its context prepared) and records the answer.
  void SendEvents(Op* op, int channel);
  // After an RPC has been recorded: the next step of `op`, a new operation
  // (closed loop) or the end of it.
  void Next(Op* op);
  void Finish(Op* op);
  void PrepareContext(Op* op, int64_t intended_ns, const std::string& token);
  void PrintProgress();

  DriverOptions options_;
  const Clock& clock_;
  std::vector<std::unique_ptr<attex::v1::Exchange::Stub>> exchange_;
  std::vector<std::unique_ptr<attex::v1::Operator::Stub>> operator_;
  std::vector<std::unique_ptr<attex::v1::Campaigns::Stub>> campaigns_;
  std::atomic<uint64_t> sequence_{0};
  std::atomic<size_t> next_token_{0};  // kReport: the first token not yet taken.
  std::atomic<bool> ran_out_{false};
  std::unique_ptr<Recorder> recorder_;  // Made by Run before the first call.

  absl::Mutex mu_;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

void Engine::PrepareContext(Op* op, int64_t intended_ns, const std::string& token) {
  op->intended_ns = intended_ns;
  op->ctx = std::make_unique<grpc::ClientContext>();
  op->ctx->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoNanoseconds(options_.timeout));
  op->ctx->AddMetadata("authorization", "Bearer " + token);
}

void Engine::Launch(int64_t intended_ns) {
  {
    absl::MutexLock lock(&mu_);
    ++in_flight_;
  }
  auto* op = new Op;
  op->intended_ns = intended_ns;
  Start(op);
}

void Engine::Start(Op* op) {
  const uint64_t n = sequence_.fetch_add(1, std::memory_order_relaxed);
  const int channel = static_cast<int>(n % exchange_.size());
  op->kind = options_.method;
  if (op->kind == Method::kMix) {
    const int roll = static_cast<int>((n * 7) % 10);  // 70% bid, 20% events, 10% ping.
    op->kind = roll < 7 ? Method::kBid : roll < 9 ? Method::kEvents : Method::kPing;
  }
  if (op->kind == Method::kPing) {
    StartPing(op, channel);
  } else if (op->kind == Method::kUpdate) {
    StartUpdate(op, channel, n);
  } else if (op->kind == Method::kReport) {
    StartReport(op, channel);
  } else {
    op->bid_request = &options_.requests[(n / exchange_.size()) % options_.requests.size()];
    StartBid(op, channel);
  }
}

void Engine::StartPing(Op* op, int channel) {
  PrepareContext(op, op->intended_ns, options_.token);
  op->ping_request.set_payload(std::string(options_.ping_payload, 'x'));
  operator_[channel]->async()->Ping(op->ctx.get(), &op->ping_request, &op->ping_response,
                                    [self = shared_from_this(), op](grpc::Status status) {
                                      self->recorder_->Record("Ping", status, op->intended_ns);
                                      self->Next(op);
                                    });
}

void Engine::StartBid(Op* op, int channel) {
  PrepareContext(op, op->intended_ns, options_.token);
  op->bid_response.Clear();
  exchange_[channel]->async()->Bid(
      op->ctx.get(), op->bid_request, &op->bid_response,
      [self = shared_from_this(), op, channel](grpc::Status status) {
        self->recorder_->Record("Bid", status, op->intended_ns);
        if (status.ok()) {
          self->recorder_->RecordBid(op->intended_ns, *op->bid_request, op->bid_response);
        }
        if (status.ok() && op->kind == Method::kEvents && op->bid_response.placements_size() > 0) {
          self->StartEvents(op, channel);
          return;
        }
        self->Next(op);
      });
}

void Engine::StartEvents(Op* op, int channel) {
  op->events_request.Clear();
  for (const auto& p : op->bid_response.placements()) {
    auto* e = op->events_request.add_events();
    e->set_billing_token(p.billing_token());
    e->set_type(attex::v1::EVENT_TYPE_IMPRESSION);
    e->set_event_id(absl::StrCat(op->bid_response.request_id(), "/", p.slot_id()));
  }
  PrepareContext(op, clock_.NowNs(), options_.token);
  SendEvents(op, channel);
}

void Engine::StartReport(Op* op, int channel) {
  const auto& tokens = options_.billing_tokens;
  const size_t batch = static_cast<size_t>(options_.report_batch);
  const size_t first = next_token_.fetch_add(batch, std::memory_order_relaxed);
  if (first >= tokens.size()) {
    ran_out_.store(true, std::memory_order_relaxed);
    Finish(op);
    return;
  }
  op->events_request.Clear();
  for (size_t i = first; i < std::min(first + batch, tokens.size()); ++i) {
    auto* e = op->events_request.add_events();
    e->set_billing_token(tokens[i]);
    e->set_type(attex::v1::EVENT_TYPE_IMPRESSION);
    e->set_event_id(absl::StrCat("report-", i));
  }
  PrepareContext(op, op->intended_ns, options_.token);
  SendEvents(op, channel);
}

void Engine::SendEvents(Op* op, int channel) {
  op->events_response.Clear();
  exchange_[channel]->async()->ReportEvents(
      op->ctx.get(), &op->events_request, &op->events_response,
      [self = shared_from_this(), op](grpc::Status status) {
        self->recorder_->Record("ReportEvents", status, op->intended_ns);
        if (status.ok()) self->recorder_->RecordEvents(op->intended_ns, op->events_response);
        self->Next(op);
      });
}

void Engine::StartUpdate(Op* op, int channel, uint64_t n) {
  const auto& campaign = options_.campaigns[n % options_.campaigns.size()];
  op->update_request = campaign;
  op->update_request.set_version(0);  // No version check: clients update the same campaigns.
  // A bid that differs from the campaign's previous one (and stays within
  // 1 CPM of its original bid), so that every call changes the catalogue.
  const int64_t round = static_cast<int64_t>(n / options_.campaigns.size());
  op->update_request.set_bid_cpm_micros(campaign.bid_cpm_micros() + (round % 1000 + 1) * 1000);
  PrepareContext(op, op->intended_ns, options_.update_token);
  op->update_response.Clear();
  campaigns_[channel]->async()->UpdateCampaign(
      op->ctx.get(), &op->update_request, &op->update_response,
      [self = shared_from_this(), op](grpc::Status status) {
        self->recorder_->Record("UpdateCampaign", status, op->intended_ns);
        self->Next(op);
      });
}

void Engine::Next(Op* op) {
  // Closed loop: the next operation goes out as soon as this one is done.
  if (options_.rate <= 0 && clock_.NowNs() < recorder_->end_ns()) {
    op->intended_ns = clock_.NowNs();
    Start(op);
    return;
  }
  Finish(op);
}

void Engine::Finish(Op* op) {
  delete op;
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

void Engine::PrintProgress() {
  int64_t in_flight;
  {
    absl::MutexLock lock(&mu_);
    in_flight = in_flight_;
  }
  const double t = (clock_.NowNs() - recorder_->record_ns()) / 1e9;
  Second s;
  int64_t errors = 0;
  if (t < 0) {
    std::fprintf(stderr, "\rwarming up %4.1fs, %lld in flight          ", -t,
                 static_cast<long long>(in_flight));
  } else if (recorder_->LastSecond(&s, &errors)) {
    std::fprintf(stderr,
                 "\r[%5.1fs] %8lld calls/s  p50 %7.3f ms  p99 %7.3f ms  max %8.3f ms  "
                 "errors %lld  in flight %lld   ",
                 t, static_cast<long long>(s.calls), s.p50_ns / 1e6, s.p99_ns / 1e6, s.max_ns / 1e6,
                 static_cast<long long>(errors), static_cast<long long>(in_flight));
  }
}

Report Engine::Run() {
  const int64_t start = clock_.NowNs();
  recorder_ = std::make_unique<Recorder>(clock_, start + absl::ToInt64Nanoseconds(options_.warmup),
                                         options_.duration);
  const int64_t end_ns = recorder_->end_ns();
  int64_t next_progress = start + 1'000'000'000;
  auto tick = [&](int64_t now) {
    if (options_.progress && now >= next_progress) {
      PrintProgress();
      next_progress += 1'000'000'000;
    }
  };
  if (options_.rate > 0) {
    // Open loop: call i is due at start + i / rate whatever happened before.
    const double period = 1e9 / options_.rate;
    for (int64_t i = 0;;) {
      const int64_t due = start + static_cast<int64_t>(i * period);
      if (due >= end_ns) break;
      const int64_t now = clock_.NowNs();
      tick(now);
      if (due > now) {
        if (due - now > 200'000) {
          std::this_thread::sleep_for(std::chrono::nanoseconds(due - now - 100'000));
        } else {
          std::this_thread::yield();
        }
        continue;
      }
      bool full;
      {
        absl::MutexLock lock(&mu_);
        full = in_flight_ >= options_.max_in_flight;
      }
      if (full) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      Launch(due);
      ++i;
    }
  } else {
    for (int i = 0; i < options_.concurrency; ++i) Launch(clock_.NowNs());
    while (clock_.NowNs() < end_ns) {
      tick(clock_.NowNs());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // Every call has a deadline, so every call completes.
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int64_t* n) { return *n == 0; }, &in_flight_));
  }
  if (options_.progress) {
    PrintProgress();
    std::fputc('\n', stderr);
  }
  Report report = recorder_->Finish();
  report.options = options_;
  report.options.requests.clear();
  report.options.token.clear();
  report.options.campaigns.clear();
  report.options.update_token.clear();
  report.options.billing_tokens.clear();
  report.ran_out_of_tokens = ran_out_.load();
  return report;
}

}  // namespace

absl::StatusOr<Method> ParseMethod(const std::string& name) {
  if (name == "ping") return Method::kPing;
  if (name == "bid") return Method::kBid;
  if (name == "events") return Method::kEvents;
  if (name == "mix") return Method::kMix;
  if (name == "openrtb") return Method::kOpenRtb;
  if (name == "update") return Method::kUpdate;
  if (name == "report") return Method::kReport;
  return absl::InvalidArgumentError(absl::StrCat(
      "method: \"", name, "\" is not ping, bid, events, mix, openrtb, update or report"));
}

std::string MethodName(Method method) {
  switch (method) {
    case Method::kPing:
      return "ping";
    case Method::kBid:
      return "bid";
    case Method::kEvents:
      return "events";
    case Method::kMix:
      return "mix";
    case Method::kOpenRtb:
      return "openrtb";
    case Method::kUpdate:
      return "update";
    case Method::kReport:
      return "report";
  }
  return "?";
}

double Report::events_rate() const {
  int64_t events = 0;
  for (const auto& [result, n] : event_results) events += n;
  return seconds > 0 ? events / seconds : 0;
}

std::string GrpcCodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(std::size(kNames))) return kNames[code];
  return absl::StrCat("CODE_", code);
}

absl::StatusOr<Report> RunLoad(DriverOptions options) {
  if (options.addr.empty()) return absl::InvalidArgumentError("addr: must not be empty");
  if (options.channels < 1) return absl::InvalidArgumentError("channels: must be at least 1");
  if (options.rate <= 0 && options.concurrency < 1) {
    return absl::InvalidArgumentError("concurrency: must be at least 1 (or give a rate)");
  }
  if (options.duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("duration: must be positive");
  }
  if (options.method == Method::kUpdate) {
    if (options.campaigns.empty()) {
      return absl::InvalidArgumentError("campaigns: update needs campaigns to update");
    }
  } else if (options.method == Method::kReport) {
    if (options.billing_tokens.empty()) {
      return absl::InvalidArgumentError("billing_tokens: report needs billing tokens to report");
    }
    if (options.report_batch < 1 || options.report_batch > api::kMaxEventsPerReport) {
      return absl::InvalidArgumentError(
          absl::StrCat("report_batch: must be 1 to ", api::kMaxEventsPerReport));
    }
  } else if (options.method != Method::kPing && options.requests.empty()) {
    return absl::InvalidArgumentError("requests: bid, events and mix need bid requests");
  }
  if (options.method == Method::kOpenRtb) return RunOpenRtbLoad(options);
  auto engine = std::make_shared<Engine>(std::move(options), SteadyClock());
  Report report = engine->Run();
  // Each callback holds the engine until gRPC destroys it, just after the
  // last one has counted itself out: wait, so that the channels are
  // destroyed here rather than on a gRPC thread (or during exit).
  for (int i = 0; i < 10000 && engine.use_count() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return report;
}

}  // namespace attex::load
