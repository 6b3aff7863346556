// What the three services share: options, the store, the catalogue
// manager, the accounts, the token signer, the work queue and the metrics.
#ifndef ATTEX_SERVER_CORE_H_
#define ATTEX_SERVER_CORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "attention/pass_workers.h"
#include "auction/auction.h"
#include "auction/billing_token.h"
#include "auction/revenue_split.h"
#include "billing/billing_batch.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "server/admission.h"
#include "server/auth.h"
#include "server/bid_gatherer.h"
#include "server/bid_queue.h"
#include "server/budget_slicer.h"
#include "server/campaign_batch.h"
#include "server/catalog_manager.h"
#include "server/metrics.h"
#include "server/model_reloader.h"
#include "server/openrtb/currency.h"
#include "server/rate_limiter.h"
#include "server/tls.h"
#include "server/training_log.h"
#include "store/store.h"
#include "store/work_queue.h"

namespace attex::server {

// The OpenRTB 2.6 endpoint (server/openrtb/openrtb_service.h).
struct OpenRtbOptions {
  std::string listen;  // host:port; empty: no OpenRTB endpoint.
  int threads = 2;     // The HTTP server's io threads.
  // What a no-bid is answered with: 204, or 200 with a body naming `nbr`.
  int nobid_status = 204;
  // The base of the notice URLs (burl, lurl) the answers carry, e.g.
  // "https://rtb.example.com"; empty: "http://" + the bound address.
  std::string public_url;
  // The account currency (ISO 4217, as OpenRTB names it) and the rates of
  // the other currencies requests may use (--currency_rates).
  openrtb::CurrencyRates rates{"USD"};
  bool nurl = false;      // Answers carry a win notice URL (nurl).
  std::string port_file;  // If set, the bound port is written there.
};

// Where the books are kept (--store): SQLite in data_dir (one machine), or
// PostgreSQL at postgres_dsn (a fleet of replicas sharing one database).
enum class StoreKind { kSqlite, kPostgres };

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";
  std::string data_dir = "./attex-data";
  StoreKind store = StoreKind::kSqlite;
  std::string postgres_dsn;  // With kPostgres.
  // The billing key's file (--billing_key_file): required with kPostgres,
  // so that every replica signs and verifies with the same key; empty with
  // kSqlite: <data_dir>/billing.key, made on first start.
  std::string billing_key_file;
  bool demo = false;
  std::string model_path;  // Empty: the default model.
  std::string port_file;   // If set, the bound port is written there.
  auction::AuctionConfig auction;
  CatalogOptions catalog;  // Key storage and the ANN index.
  auction::SplitConfig split;
  int64_t billing_token_ttl_s = 3600;
  int default_tmax_ms = 100;
  int grace_period_s = 10;
  // After SIGTERM, how long health says NOT_SERVING while calls are still
  // served, so that a balancer takes the replica out before it stops.
  int drain_delay_s = 0;
  // address:port of the HAProxy agent-check port (empty: none).
  std::string health_agent_listen;
  TlsOptions tls;
  RateLimitOptions rate_limits;
  std::string metrics_listen;  // Empty: no metrics endpoint.
  int64_t max_in_flight = 0;   // Calls worked on at once; past it RESOURCE_EXHAUSTED. 0: no bound.
  // HTTP/2 streams one client connection may hold open (0: unbounded): under
  // overload, calls past it wait in the client instead of in this server's
  // memory.
  int max_streams_per_connection = 0;
  // Shared passes (BidGatherer): Bid calls on catalogues of at least
  // shared_pass_min_ads ads are gathered for up to shared_pass_window and
  // scored in one pass. Zero window: every Bid is decided alone.
  absl::Duration shared_pass_window = absl::ZeroDuration();
  int64_t shared_pass_min_ads = 100'000;
  int shared_pass_threads = 0;  // 0: one per core.
  // Threads that take part in one pass over a large catalogue (of at least
  // pass_split_min_ads ads) besides the calling one; -1: one per core this
  // process may run on, less one; 0: none.
  int pass_threads = -1;
  int64_t pass_split_min_ads = 65'536;
  // Bid calls are decided on bid_threads threads of their own (0: one per
  // CPU the process may run on); a call is refused on arrival when the
  // work queued ahead of it would take longer than bid_queue_delay, or
  // would not let it be answered within its tmax counted from arrival
  // (BidQueue).
  int bid_threads = 0;
  absl::Duration bid_queue_delay = absl::Milliseconds(20);
  // A Bid runs on the gRPC thread that read it, instead of the queue's,
  // while nothing is queued and the measured service time is at most this
  // (BidQueue::TryRunInline); zero: always on the queue's threads.
  absl::Duration bid_inline_max = absl::Milliseconds(2);
  int bid_nice = 0;  // The bid threads' niceness (gRPC's threads: 0).
  // The work queue's group-commit delay (store::WorkQueue's `gather`):
  // concurrent writes are committed and published at most once this often.
  absl::Duration commit_gather = absl::ZeroDuration();
  OpenRtbOptions openrtb;
  TrainingLogOptions training_log;  // dir empty: none.
  // Budget slices from Redis (a fleet; redis_addr empty: none).
  SliceOptions slices;
};

struct Core {
  // The work queue's thread starts here; `secret` is the billing key.
  Core(ServerOptions opts, std::unique_ptr<store::Store> st,
       std::shared_ptr<const attention::Model> model, std::string secret);

  ServerOptions options;
  std::unique_ptr<store::Store> store;
  CatalogManager catalog_manager;  // The live catalogue and its rebuilds.
  Authenticator auth;
  auction::TokenSigner signer;
  Metrics metrics;
  Admission admission{options.max_in_flight, &metrics};
  // Set by Server::Start with --training_log; outlives the work queue and
  // the bid threads, which feed it.
  std::unique_ptr<TrainingLog> training_log;
  absl::Time started = absl::Now();
  auction::ReservationBook reservations;                          // Settled on the work queue.
  auction::FrequencyCaps frequency;                               // Read and counted by Bid.
  billing::BillingBatch billing;                                  // Work queue only.
  CampaignBatch campaign_changes{store.get(), &catalog_manager};  // Add/Commit: work queue only.
  int64_t last_frequency_sweep_ms = 0;                            // Work queue only.
  store::WorkQueue queue;  // Its thread stops before the rest is destroyed.
  ModelReloader reloader{&catalog_manager, store.get(), &queue};  // ReloadModel.
  // Set when passes are split (options.pass_threads); used by the auction.
  std::unique_ptr<attention::PassWorkers> pass_workers;
  // Set when shared passes are on; destroyed first (its jobs use the rest).
  std::unique_ptr<BidGatherer> gatherer;
  // Where Bid calls are decided (on catalogues below shared_pass_min_ads
  // when shared passes are on); set by Server::Start, destroyed first.
  std::unique_ptr<BidQueue> bids;
};

// Commits the billing batch (metrics, then housekeeping: expired
// reservations, and frequency windows that have passed, once a minute).
// Work queue only.
void CommitBilling(Core& core, int64_t now_ms);

// Commits the open group of campaign changes (before the catalogue is
// published). Work queue only.
void CommitCampaignChanges(Core& core, int64_t now_ms);

// Who reports billing events for `caller`.
billing::Reporter ReporterOf(const Caller& caller);

inline grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

inline int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// Runs `work` (returning absl::Status, filling the response) on the work
// queue and finishes the RPC with its status once its effects are visible.
// Past capacity, or once the call's deadline has passed, the work is not
// done (see Admission).
template <typename Fn>
grpc::ServerUnaryReactor* Defer(Core& core, grpc::CallbackServerContext* ctx, Fn work) {
  auto* reactor = ctx->DefaultReactor();
  if (auto admitted = core.admission.Admit(*ctx); !admitted.ok()) {
    reactor->Finish(ToGrpc(admitted));
    return reactor;
  }
  const absl::Time deadline = absl::FromChrono(ctx->deadline());
  core.queue.Submit(
      [&core, reactor, deadline, work = std::move(work)]() mutable -> store::WorkQueue::Completion {
        // Work whose caller has given up is not done.
        absl::Status status = core.admission.StillWanted(deadline);
        if (status.ok()) status = work();
        return [reactor, status] { reactor->Finish(ToGrpc(status)); };
      });
  return reactor;
}

// Finishes at once with `status`.
inline grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* ctx,
                                       const absl::Status& status) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpc(status));
  return reactor;
}

}  // namespace attex::server

#endif  // ATTEX_SERVER_CORE_H_
