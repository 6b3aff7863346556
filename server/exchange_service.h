// attex.v1.Exchange: a Bid is authenticated and validated on the reactor
// thread and decided on core.bids (BidQueue: admission at arrival, its own
// threads), or in a shared pass (BidGatherer); Explain runs on the reactor
// thread (CPU only, lock-free reads of the catalogue); ReportEvents is
// written through the work queue and answered once durable.
#ifndef ATTEX_SERVER_EXCHANGE_SERVICE_H_
#define ATTEX_SERVER_EXCHANGE_SERVICE_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "server/core.h"

namespace attex::server {

class BidTask;

class ExchangeService final : public attex::v1::Exchange::CallbackService {
 public:
  explicit ExchangeService(Core* core);
  ~ExchangeService() override;

  grpc::ServerUnaryReactor* Bid(grpc::CallbackServerContext* ctx,
                                const attex::v1::BidRequest* request,
                                attex::v1::BidResponse* response) override;
  grpc::ServerUnaryReactor* Explain(grpc::CallbackServerContext* ctx,
                                    const attex::v1::BidRequest* request,
                                    attex::v1::Explanation* response) override;
  grpc::ServerUnaryReactor* ReportEvents(grpc::CallbackServerContext* ctx,
                                         const attex::v1::ReportEventsRequest* request,
                                         attex::v1::ReportEventsResponse* response) override;

 private:
  friend class BidTask;
  BidTask* Acquire();
  void Release(BidTask* task);

  Core* core_;
  absl::Mutex pool_mu_;
  std::vector<std::unique_ptr<BidTask>> tasks_ ABSL_GUARDED_BY(pool_mu_);  // Every task made.
  std::vector<BidTask*> free_ ABSL_GUARDED_BY(pool_mu_);
};

// Everything after the auction of a Bid (gRPC or OpenRTB): reserves each
// winner's price (a placement the budget no longer covers is left out),
// counts frequency, signs billing tokens and fills *response, placements in
// the order of result.slots; counts the Bid in the metrics.
void CompleteBid(Core& core, const Caller& caller, const auction::Catalog& catalog,
                 const attex::v1::BidRequest& request, const auction::AuctionResult& result,
                 int64_t now_ms, absl::Time arrived, attex::v1::BidResponse* response);

// Records one event (blocking; on the work queue). Exposed for tests.
absl::StatusOr<attex::v1::EventOutcome> RecordEvent(Core& core, const Caller& caller,
                                                    const attex::v1::Event& event, int64_t now_ms);

}  // namespace attex::server

#endif  // ATTEX_SERVER_EXCHANGE_SERVICE_H_
