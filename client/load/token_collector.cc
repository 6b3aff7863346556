#include "client/load/token_collector.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "client/channel_target.h"
#include "grpcpp/grpcpp.h"

namespace attex::load {
namespace {

constexpr int kMaxFailuresInARow = 100;
constexpr int kMaxEmptyInARow = 10'000;

struct Call {
  grpc::ClientContext ctx;
  attex::v1::BidResponse response;
};

// The calls in flight share one of these; each completion starts the next
// call until enough tokens are in or the collection gives up.
class Collector final : public std::enable_shared_from_this<Collector> {
 public:
  Collector(const DriverOptions& options, int64_t count) : options_(options), count_(count) {
    for (int i = 0; i < options_.channels; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("attex.load.channel", i);  // Distinct args: a connection each.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      stubs_.push_back(attex::v1::Exchange::NewStub(
          attex::client::BalancedChannel(options_.addr, options_.credentials, args)));
    }
  }

  absl::StatusOr<Collected> Run() {
    const absl::Time start = absl::Now();
    {
      absl::MutexLock lock(&mu_);
      in_flight_ = options_.concurrency;
    }
    for (int i = 0; i < options_.concurrency; ++i) Send();
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(
                                     +[](int* n) { return *n == 0; }, &in_flight_),
                                 absl::Milliseconds(500))) {
      if (options_.progress) {
        std::fprintf(stderr, "\rcollecting billing tokens: %zu of %lld", out_.tokens.size(),
                     static_cast<long long>(count_));
      }
    }
    if (options_.progress) std::fputc('\n', stderr);
    out_.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    if (!error_.ok()) return error_;
    // The calls still in flight at the end bring a few more than asked for.
    if (static_cast<int64_t>(out_.tokens.size()) > count_) out_.tokens.resize(count_);
    return std::move(out_);
  }

 private:
  void Send() {
    const uint64_t n = sequence_++;
    auto* call = new Call;
    call->ctx.set_deadline(std::chrono::system_clock::now() +
                           absl::ToChronoNanoseconds(options_.timeout));
    call->ctx.AddMetadata("authorization", "Bearer " + options_.token);
    const auto& request = options_.requests[n % options_.requests.size()];
    stubs_[n % stubs_.size()]->async()->Bid(&call->ctx, &request, &call->response,
                                            [self = shared_from_this(), call](grpc::Status status) {
                                              if (self->Done(status, call->response)) self->Send();
                                              delete call;
                                            });
  }

  // Keeps what `response` placed; true when another call is wanted.
  bool Done(const grpc::Status& status, const attex::v1::BidResponse& response) {
    absl::MutexLock lock(&mu_);
    if (!status.ok()) {
      ++out_.failed;
      if (++failures_in_a_row_ >= kMaxFailuresInARow && error_.ok()) {
        error_ = absl::UnavailableError(absl::StrCat(
            kMaxFailuresInARow, " Bid calls in a row failed, the last: ", status.error_message()));
      }
    } else {
      ++out_.bids;
      failures_in_a_row_ = 0;
      for (const auto& p : response.placements()) out_.tokens.push_back(p.billing_token());
      empty_in_a_row_ = response.placements().empty() ? empty_in_a_row_ + 1 : 0;
      if (empty_in_a_row_ >= kMaxEmptyInARow && error_.ok()) {
        error_ = absl::UnavailableError(
            absl::StrCat(kMaxEmptyInARow, " Bid answers in a row placed nothing (no-bid reason \"",
                         response.no_bid_reason(), "\"): no billing tokens to collect"));
      }
    }
    if (error_.ok() && static_cast<int64_t>(out_.tokens.size()) < count_) return true;
    --in_flight_;
    return false;
  }

  const DriverOptions& options_;
  const int64_t count_;
  std::vector<std::unique_ptr<attex::v1::Exchange::Stub>> stubs_;
  std::atomic<uint64_t> sequence_{0};

  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  Collected out_ ABSL_GUARDED_BY(mu_);
  int failures_in_a_row_ ABSL_GUARDED_BY(mu_) = 0;
  int empty_in_a_row_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<Collected> CollectBillingTokens(const DriverOptions& options, int64_t count) {
  if (count < 1) return absl::InvalidArgumentError("report_tokens: must be at least 1");
  if (options.requests.empty()) {
    return absl::InvalidArgumentError("requests: collecting billing tokens needs bid requests");
  }
  if (options.channels < 1) return absl::InvalidArgumentError("channels: must be at least 1");
  if (options.concurrency < 1) {
    return absl::InvalidArgumentError("concurrency: must be at least 1");
  }
  auto collector = std::make_shared<Collector>(options, count);
  auto collected = collector->Run();
  // The last callback may still hold the collector: let gRPC release it
  // here rather than destroy the channels on one of its own threads.
  for (int i = 0; i < 10000 && collector.use_count() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return collected;
}

}  // namespace attex::load
