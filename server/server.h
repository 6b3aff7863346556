// The attex server: opens the store, loads accounts, campaigns and spend,
// starts the gRPC callback server (three services, health, reflection) and
// drains on Shutdown.
#ifndef ATTEX_SERVER_SERVER_H_
#define ATTEX_SERVER_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "server/budget_slicer.h"
#include "server/campaigns_service.h"
#include "server/core.h"
#include "server/exchange_service.h"
#include "server/health_agent.h"
#include "server/openrtb/http_server.h"
#include "server/openrtb/openrtb_service.h"
#include "server/operator_service.h"
#include "server/shared_caps.h"
#include "store/pg_campaign_feed.h"

namespace attex::server {

class Server final {
 public:
  // Opens everything and starts serving. Errors: the store, the model, the
  // listen address.
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();

  int port() const { return port_; }
  // The OpenRTB endpoint's port; 0 when it is off (--openrtb_listen empty).
  int openrtb_port() const { return http_ != nullptr ? http_->port() : 0; }
  int metrics_port() const { return core_->metrics.port(); }  // 0: not serving metrics.
  // The HAProxy agent-check port; 0 when it is off.
  int health_agent_port() const { return agent_ != nullptr ? agent_->port() : 0; }
  // Health turns NOT_SERVING at once; new calls are still served for
  // `drain_delay` (so that a balancer's health check takes the replica out
  // first), then refused, and calls in flight get up to `grace` more to
  // finish, then queued writes are flushed. Idempotent. Logs, and returns,
  // whether every call in flight finished within `grace` (false: the rest
  // were cancelled; also false when already shut down).
  bool Shutdown(absl::Duration grace, absl::Duration drain_delay = absl::ZeroDuration());
  // Blocks until Shutdown has completed.
  void Wait();

 private:
  Server() = default;
  // Starts the OpenRTB endpoint when options.openrtb.listen is set.
  static absl::Status StartOpenRtb(Server& server);
  // With --redis_addr: leases the first budget slices, then renews them,
  // and shares the frequency caps.
  static absl::Status StartSlices(Server& server);

  std::unique_ptr<Core> core_;
  std::unique_ptr<ExchangeService> exchange_;
  std::unique_ptr<CampaignsService> campaigns_;
  std::unique_ptr<OperatorService> operator_;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<OpenRtbService> openrtb_;
  std::unique_ptr<HealthAgent> agent_;         // With --health_agent_listen.
  std::unique_ptr<openrtb::HttpServer> http_;  // Stopped before the rest.
  // With --store=postgres: campaign changes from other replicas, patched
  // into the catalogue on the work queue. Stopped before the queue.
  std::unique_ptr<store::PgCampaignFeed> feed_;
  // With --redis_addr: this replica's budget slices.
  std::shared_ptr<BudgetSlicer> slicer_;  // Shared with its metrics' callbacks.
  // With --redis_addr: the frequency caps shared by the fleet.
  std::shared_ptr<SharedCaps> shared_caps_;
  int port_ = 0;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

// On a first start without --demo: an operator account whose token goes to
// <data_dir>/operator-token (mode 0600), so that accounts can be created.
absl::Status BootstrapOperator(Core& core);

// <data_dir>/billing.key: 32 random bytes made on first start (mode 0600).
absl::StatusOr<std::string> LoadOrCreateSecret(const std::string& data_dir);

// The billing key of --billing_key_file, never made: at least 32 bytes.
// FAILED_PRECONDITION naming the flag when it is missing or short.
absl::StatusOr<std::string> LoadSecretFile(const std::string& path);

// Opens the store that options name (--store, --postgres_dsn), with errors
// that name the flag to fix.
absl::StatusOr<std::unique_ptr<store::Store>> OpenStore(const ServerOptions& options);

}  // namespace attex::server

#endif  // ATTEX_SERVER_SERVER_H_
