#include "server/server.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "server/demo.h"
#include "spdlog/spdlog.h"

namespace attex::server {

absl::StatusOr<std::string> LoadOrCreateSecret(const std::string& data_dir) {
  const std::string path = data_dir + "/billing.key";
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::stringstream buf;
    buf << in.rdbuf();
    std::string secret = buf.str();
    if (secret.size() < 32) return absl::DataLossError(absl::StrCat(path, " is truncated"));
    return secret;
  }
  const std::string secret = auction::RandomBytes(32);
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  const bool ok =
      ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) &&
      ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  spdlog::info("created billing key {}", path);
  return secret;
}

absl::StatusOr<std::string> LoadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--billing_key_file: cannot read ", path,
        " (make one shared by every replica, e.g. head -c 32 /dev/urandom > ", path, ")"));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  std::string secret = buf.str();
  if (secret.size() < 32) {
    return absl::FailedPreconditionError(absl::StrCat("--billing_key_file: ", path, " holds ",
                                                      secret.size(), " bytes, fewer than 32"));
  }
  return secret;
}

absl::StatusOr<std::unique_ptr<store::Store>> OpenStore(const ServerOptions& options) {
  if (options.store == StoreKind::kSqlite) return store::OpenSqliteStore(options.data_dir);
  auto opened = store::OpenPgStore(options.postgres_dsn);
  if (!opened.ok()) {
    return absl::Status(opened.status().code(),
                        absl::StrCat("--postgres_dsn: ", opened.status().message()));
  }
  return opened;
}

absl::Status BootstrapOperator(Core& core) {
  auto account = CreateAccount(core, attex::v1::ROLE_OPERATOR, "bootstrap operator");
  if (!account.ok()) return account.status();
  const std::string path = core.options.data_dir + "/operator-token";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const std::string line = account->token() + "\n";
  const bool ok =
      fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  if (fd >= 0) ::close(fd);
  if (!ok) return absl::InternalError(absl::StrCat("cannot write ", path));
  spdlog::warn("no accounts: created operator {}; its token is in {} (mode 0600)", account->id(),
               path);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  options.catalog.keep_key_inputs = !options.training_log.dir.empty();
  if (auto s = auction::ValidateSplit(options.split); !s.ok()) return s;
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("data_dir ", options.data_dir, ": ", ec.message()));
  if (!options.slices.redis_addr.empty() && options.store != StoreKind::kPostgres) {
    return absl::InvalidArgumentError(
        "--redis_addr (budget slices) is for a fleet: it needs --store=postgres, whose spend "
        "every replica reads");
  }
  options.catalog.budget_slices = !options.slices.redis_addr.empty();
  if (options.store == StoreKind::kPostgres && options.billing_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--store=postgres needs --billing_key_file: every replica must sign and verify billing "
        "tokens with the same key");
  }
  auto store = OpenStore(options);
  if (!store.ok()) return store.status();
  auto secret = options.billing_key_file.empty() ? LoadOrCreateSecret(options.data_dir)
                                                 : LoadSecretFile(options.billing_key_file);
  if (!secret.ok()) return secret.status();
  // Opened before the catalogue is loaded: a change committed meanwhile by
  // another replica is read again, never missed.
  std::unique_ptr<store::PgCampaignFeed> feed;
  if (options.store == StoreKind::kPostgres) {
    auto opened = store::PgCampaignFeed::Open(options.postgres_dsn);
    if (!opened.ok()) {
      return absl::Status(opened.status().code(),
                          absl::StrCat("--postgres_dsn: ", opened.status().message()));
    }
    feed = *std::move(opened);
  }
  std::shared_ptr<const attention::Model> model;
  if (options.model_path.empty()) {
    model = attention::Model::Default();
  } else {
    auto loaded = attention::Model::Load(options.model_path);
    if (!loaded.ok()) return loaded.status();
    model = *std::move(loaded);
  }

  const std::string training_secret = *secret;
  std::unique_ptr<Server> server(new Server());
  server->core_ =
      std::make_unique<Core>(std::move(options), *std::move(store), model, *std::move(secret));
  Core& core = *server->core_;
  if (!core.options.training_log.dir.empty()) {
    // The user id hash's key: derived from the billing key, never the key itself.
    auto log =
        TrainingLog::Open(core.options.training_log,
                          auction::Sha256Hex(absl::StrCat("training-log\n", training_secret)));
    if (!log.ok()) return log.status();
    core.training_log = *std::move(log);
  }

  // Accounts, campaigns and what they have spent, as the store has them.
  auto accounts = core.store->ListAccounts();
  if (!accounts.ok()) return accounts.status();
  for (const auto& account : *accounts) core.auth.Add(account);
  const int64_t now_ms = NowMs();
  auto spend = core.store->AllSpend(now_ms / auction::kMillisPerDay * auction::kMillisPerDay);
  if (!spend.ok()) return spend.status();
  for (const auto& [id, totals] : *spend) {
    core.catalog_manager.Budget(id)->Load(totals.total_micros, totals.today_micros, now_ms);
  }
  // Compiled a page at a time: the protos are the store's (CatalogManager
  // keeps none), and a million ads' worth of them held at once raised the
  // peak at start by about 650 MB (docs/performance.md).
  constexpr int kLoadPage = 10'000;
  for (std::string after;;) {
    auto page = core.store->ListCampaigns("", after, kLoadPage);
    if (!page.ok()) return page.status();
    for (const auto& c : *page) core.catalog_manager.Upsert(c);
    if (static_cast<int>(page->size()) < kLoadPage) break;
    after = page->back().id();
  }
  if (core.options.demo) {
    if (auto s = SeedDemo(core); !s.ok()) return s;
  } else if (accounts->empty()) {
    if (auto s = BootstrapOperator(core); !s.ok()) return s;
  }
  core.catalog_manager.Publish();
  if (feed != nullptr) {
    // Other replicas' campaign changes, patched in on the work queue (whose
    // batch hook publishes), as this replica's own are.
    feed->Start([&core](std::vector<attex::v1::Campaign> changed) {
      core.queue.Submit([&core, changed = std::move(changed)]() -> store::WorkQueue::Completion {
        int upserted = 0;
        for (const auto& c : changed) upserted += core.catalog_manager.UpsertIfNewer(c) ? 1 : 0;
        if (upserted > 0) spdlog::debug("{} campaign changes from other replicas", upserted);
        return [] {};
      });
    });
    server->feed_ = std::move(feed);
  }
  // Before the slices: a fleet's share of the limits is set on this limiter.
  core.auth.SetRateLimits(core.options.rate_limits);
  if (auto s = StartSlices(*server); !s.ok()) return s;
  // Loading a large catalogue leaves freed protos and build buffers in the
  // heap (hundreds of MB at a million ads): give them back to the system.
  malloc_trim(0);
  const auto catalog = core.catalog_manager.Current();
  spdlog::info("loaded {} campaigns ({} active, {} active ads), model {}",
               catalog->campaigns.size(), catalog->active_campaigns, catalog->active_ads,
               model->version());

  if (core.options.shared_pass_window > absl::ZeroDuration()) {
    BidGatherer::Options gather;
    gather.window = core.options.shared_pass_window;
    gather.threads = core.options.shared_pass_threads > 0
                         ? core.options.shared_pass_threads
                         : std::max(1u, std::thread::hardware_concurrency());
    core.gatherer = std::make_unique<BidGatherer>(gather, &core.options.auction);
    spdlog::info("shared passes: Bid gathered for up to {} us on catalogues of {}+ ads, {} threads",
                 absl::ToInt64Microseconds(gather.window), core.options.shared_pass_min_ads,
                 gather.threads);
  }
  BidQueue::Options bid_options;
  bid_options.threads = core.options.bid_threads > 0 ? core.options.bid_threads : UsableCpus();
  bid_options.max_queue_delay = core.options.bid_queue_delay;
  bid_options.nice = core.options.bid_nice;
  bid_options.max_inline_service = core.options.bid_inline_max;
  core.bids = std::make_unique<BidQueue>(bid_options, &core.metrics);
  spdlog::info(
      "Bid calls decided on {} threads (nice {}), or on gRPC's while none is queued and one takes "
      "at most {} ms; refused on arrival past {} ms of queued work",
      bid_options.threads, bid_options.nice,
      absl::ToDoubleMilliseconds(bid_options.max_inline_service),
      absl::ToDoubleMilliseconds(bid_options.max_queue_delay));
  server->exchange_ = std::make_unique<ExchangeService>(&core);
  server->campaigns_ = std::make_unique<CampaignsService>(&core);
  server->operator_ = std::make_unique<OperatorService>(&core);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  auto credentials = MakeServerCredentials(core.options.tls);
  if (!credentials.ok()) return credentials.status();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(core.options.listen, *credentials, &server->port_);
  builder.RegisterService(server->exchange_.get());
  builder.RegisterService(server->campaigns_.get());
  builder.RegisterService(server->operator_.get());
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  if (core.options.max_streams_per_connection > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                               core.options.max_streams_per_connection);
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> counting;
  counting.push_back(core.metrics.MakeInterceptorFactory());  // Calls, latency, in flight.
  builder.experimental().SetInterceptorCreators(std::move(counting));
  if (auto s = ServeMetrics(core); !s.ok()) {
    spdlog::error("no metrics endpoint: {}", s.ToString());  // Serving matters more.
  }
  server->grpc_ = builder.BuildAndStart();
  if (server->grpc_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", core.options.listen));
  }
  server->grpc_->GetHealthCheckService()->SetServingStatus(true);
  if (!core.options.health_agent_listen.empty()) {
    auto agent = HealthAgent::Listen(core.options.health_agent_listen);
    if (!agent.ok()) return agent.status();
    server->agent_ = *std::move(agent);
    spdlog::info("HAProxy agent-check on port {}", server->agent_->port());
  }
  if (auto s = StartOpenRtb(*server); !s.ok()) return s;
  if (!core.options.port_file.empty()) {
    std::ofstream(core.options.port_file + ".tmp") << server->port_ << "\n";
    std::filesystem::rename(core.options.port_file + ".tmp", core.options.port_file, ec);
  }
  return server;
}

absl::Status Server::StartSlices(Server& server) {
  Core& core = *server.core_;
  const SliceOptions& options = core.options.slices;
  if (options.redis_addr.empty()) return absl::OkStatus();
  auto client = store::RedisClient::Connect(options.redis_addr);
  if (!client.ok()) {
    return absl::Status(client.status().code(),
                        absl::StrCat("--redis_addr: ", client.status().message()));
  }
  server.slicer_ = std::make_shared<BudgetSlicer>(
      options,
      std::make_unique<store::RedisSlices>(*std::move(client), options.replica_id, options.lease),
      &core.catalog_manager, core.store.get());
  // Before serving, so that the first bids find their slices.
  if (auto s = server.slicer_->Round(NowMs()); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("--redis_addr: ", s.message()));
  }
  server.slicer_->Start();
  auto caps_client = store::RedisClient::Connect(options.redis_addr);
  if (!caps_client.ok()) {
    return absl::Status(caps_client.status().code(),
                        absl::StrCat("--redis_addr: ", caps_client.status().message()));
  }
  server.shared_caps_ =
      std::make_shared<SharedCaps>(&core.frequency, *std::move(caps_client), options.replica_id);
  core.frequency.set_observer(server.shared_caps_.get());
  // The rate limits are the fleet's: this replica admits 1/n of each.
  server.shared_caps_->set_on_replicas(
      [&core](int64_t live) { core.auth.SetRateShare(1.0 / static_cast<double>(live)); });
  if (auto live = server.shared_caps_->Heartbeat(); live.ok()) {
    core.auth.SetRateShare(1.0 / static_cast<double>(std::max<int64_t>(1, *live)));
  }
  server.shared_caps_->Start();
  const std::shared_ptr<SharedCaps> caps = server.shared_caps_;
  core.metrics.AddGaugeCallback("attex_shared_caps_recorded",
                                "Placements of capped campaigns written to Redis",
                                [caps] { return static_cast<double>(caps->stats().recorded); });
  core.metrics.AddGaugeCallback("attex_shared_caps_failed_rounds",
                                "Frequency cap rounds that could not reach Redis",
                                [caps] { return static_cast<double>(caps->stats().failures); });
  const std::shared_ptr<BudgetSlicer> slicer = server.slicer_;
  core.metrics.AddGaugeCallback(
      "attex_budget_slice_campaigns", "Campaigns this replica holds a budget slice of",
      [slicer] { return static_cast<double>(slicer->stats().campaigns_held); });
  core.metrics.AddGaugeCallback(
      "attex_budget_slice_micros", "Budget this replica's slices hold, micros",
      [slicer] { return static_cast<double>(slicer->stats().granted_micros); });
  core.metrics.AddGaugeCallback("attex_budget_slice_leases",
                                "Budget slices leased or renewed since the start",
                                [slicer] { return static_cast<double>(slicer->stats().leases); });
  core.metrics.AddGaugeCallback("attex_budget_slice_failed_rounds",
                                "Slice renewal rounds that could not reach Redis",
                                [slicer] { return static_cast<double>(slicer->stats().failures); });
  const SliceStats stats = server.slicer_->stats();
  spdlog::info(
      "budget slices and frequency caps in Redis at {} as replica \"{}\": lease {} s, {} "
      "campaigns hold {} micros",
      options.redis_addr, options.replica_id, absl::ToDoubleSeconds(options.lease),
      stats.campaigns_held, stats.granted_micros);
  return absl::OkStatus();
}

absl::Status Server::StartOpenRtb(Server& server) {
  const OpenRtbOptions& options = server.core_->options.openrtb;
  if (options.listen.empty()) return absl::OkStatus();
  openrtb::HttpServer::Options http;
  http.listen = options.listen;
  http.threads = options.threads;
  http.headers = {{"x-openrtb-version", "2.6"}};
  auto started = openrtb::HttpServer::Listen(http);
  if (!started.ok()) return started.status();
  server.http_ = *std::move(started);
  const int port = server.http_->port();
  std::string public_url = options.public_url;
  if (public_url.empty()) {
    public_url =
        absl::StrCat("http://", options.listen.substr(0, options.listen.rfind(':')), ":", port);
  }
  while (!public_url.empty() && public_url.back() == '/') public_url.pop_back();
  // The service needs the port (its notice URLs name it), so it is made
  // between Listen and Serve.
  server.openrtb_ = std::make_unique<OpenRtbService>(server.core_.get(), public_url);
  server.http_->Serve([service = server.openrtb_.get()](const openrtb::HttpRequest& request,
                                                        openrtb::HttpServer::Reply reply) {
    service->Handle(request, std::move(reply));
  });
  if (!options.port_file.empty()) {
    std::error_code ec;
    std::ofstream(options.port_file + ".tmp") << port << "\n";
    std::filesystem::rename(options.port_file + ".tmp", options.port_file, ec);
  }
  spdlog::info("OpenRTB 2.6 on {} (POST /openrtb2/bid), {} io threads; notices at {}/openrtb2/",
               options.listen.substr(0, options.listen.rfind(':')) + ":" + std::to_string(port),
               options.threads, public_url);
  return absl::OkStatus();
}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

bool Server::Shutdown(absl::Duration grace, absl::Duration drain_delay) {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_ || grpc_ == nullptr) return false;
    shut_down_ = true;
  }
  grpc_->GetHealthCheckService()->SetServingStatus(false);
  if (agent_ != nullptr) agent_->SetDraining();
  if (drain_delay > absl::ZeroDuration()) {
    // Still serving: a balancer sees NOT_SERVING and stops sending here
    // before the listener closes, so no call it sent is refused.
    spdlog::info("draining: NOT_SERVING, still serving for the drain delay ({} s)",
                 absl::ToDoubleSeconds(drain_delay));
    absl::SleepFor(drain_delay);
  }
  spdlog::info("draining: refusing new calls, up to {} s for calls in flight",
               absl::ToDoubleSeconds(grace));
  if (http_ != nullptr) http_->StopAccepting();
  const absl::Time deadline = absl::Now() + grace;
  grpc_->Shutdown(absl::ToChronoTime(deadline));
  // gRPC returns before the deadline only once every call has finished.
  bool in_time = absl::Now() < deadline;
  if (core_->gatherer != nullptr) core_->gatherer->Stop();
  core_->bids->Stop();
  feed_.reset();  // Submits to the queue: stopped first.
  core_->queue.Stop();
  // No Bid reserves any more and billing has committed: what is not
  // reserved goes back to the fleet.
  if (slicer_ != nullptr) slicer_->Stop();
  if (shared_caps_ != nullptr) {
    shared_caps_->Stop();  // What was counted last reaches Redis.
    core_->frequency.set_observer(nullptr);
  }
  if (http_ != nullptr) {
    // What the queues finished above is written back before the io stops.
    if (!http_->Drain(deadline)) in_time = false;
    http_->Stop();
  }
  if (in_time) {
    spdlog::info("drained: every call in flight finished within the grace period");
  } else if (grace > absl::ZeroDuration()) {
    spdlog::warn("drained: the grace period ran out; calls still in flight were cancelled");
  }
  return in_time;
}

void Server::Wait() {
  if (grpc_ != nullptr) grpc_->Wait();
}

}  // namespace attex::server
