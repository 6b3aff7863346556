// attex-server: the attention exchange. Flags may also come from a file:
// --flagfile=attex.flags (one --flag=value a line).
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/openrtb/currency.h"
#include "server/server.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "address:port to serve gRPC on (port 0: any)");
ABSL_FLAG(std::string, data_dir, "./attex-data",
          "directory of the SQLite store, the billing key and the token files");
ABSL_FLAG(std::string, store, "sqlite",
          "where the books are kept: sqlite (in --data_dir, one machine) or postgres (at "
          "--postgres_dsn, shared by a fleet of replicas)");
ABSL_FLAG(std::string, postgres_dsn, "",
          "with --store=postgres: libpq connection string or URI, e.g. "
          "\"host=db.internal dbname=attex user=attex\" (a password: PGPASSWORD or ~/.pgpass)");
ABSL_FLAG(std::string, billing_key_file, "",
          "file of the billing key (at least 32 bytes), shared by every replica; required with "
          "--store=postgres (empty: <data_dir>/billing.key, made on first start)");
ABSL_FLAG(std::string, redis_addr, "",
          "host:port of Redis for budget slices (docs/fleet.md#budget-slices): each replica "
          "places a campaign only within the slice of its budget it leased; needs "
          "--store=postgres (empty: none, one machine)");
ABSL_FLAG(std::string, replica_id, "",
          "this replica's name in the budget slices, unique in the fleet and the same across "
          "its restarts (empty: <hostname>:<--listen port>)");
ABSL_FLAG(int, slice_lease_s, 10,
          "how long a budget slice is leased: a dead replica's slices return to the fleet after "
          "it (1 to 600)");
ABSL_FLAG(int64_t, slice_initial_micros, 10000,
          "the first budget slice asked for a campaign; later ones follow its spend rate");
ABSL_FLAG(bool, demo, false,
          "seed demo accounts and campaigns; tokens in <data_dir>/demo-tokens.json");
ABSL_FLAG(std::string, model, "", "attention model file (empty: the built-in default model)");
ABSL_FLAG(std::string, training_log, "",
          "folder for the training log of consented billed impressions and their clicks "
          "(docs/model.md); empty: none");
ABSL_FLAG(int64_t, training_log_file_bytes, int64_t{64} << 20,
          "the training log starts a new file past this many bytes");
ABSL_FLAG(int64_t, training_log_max_bytes, int64_t{1} << 30,
          "the training log's oldest files are removed past this many bytes in all");
ABSL_FLAG(std::string, port_file, "", "write the bound port to this file once serving");
ABSL_FLAG(int64_t, default_floor_cpm_micros, 100000, "floor for slots that name none");
ABSL_FLAG(std::string, auction, "second", "default auction: second or first price");
ABSL_FLAG(double, reserve_rho, 0.0,
          "dynamic reserve: floor >= rho x slot attention price (0: off)");
ABSL_FLAG(double, explore_share, 0.0,
          "exploration traffic: this share of requests (by a hash of the request id) has one "
          "slot filled with a uniformly drawn eligible ad at the floor, marked in the training "
          "log with its propensity (0: none; docs/model.md)");
ABSL_FLAG(int64_t, platform_share_bps, 8000, "platform's share of each billed impression, 1/10000");
ABSL_FLAG(int64_t, user_share_bps, 1000,
          "user's attention dividend, 1/10000 (exchange keeps the rest)");
ABSL_FLAG(int64_t, billing_token_ttl_s, 3600, "how long a billing token can be reported");
ABSL_FLAG(int, default_tmax_ms, 100, "deadline of bid requests that name none");
ABSL_FLAG(int, grace_period_s, 10, "on SIGTERM, how long calls in flight may take to finish");
ABSL_FLAG(int, drain_delay_s, 0,
          "on SIGTERM, how long health says NOT_SERVING while new calls are still served, "
          "before the listener closes: long enough for a balancer's health check to take the "
          "replica out (0: none, for one machine with no balancer; a fleet: e.g. 5)");
ABSL_FLAG(std::string, health_agent_listen, "",
          "address:port of the HAProxy agent-check port: answers \"up ready\" while serving, "
          "\"drain\" once draining (empty: none; see deploy/haproxy.cfg.in)");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain: serve TLS (with --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA: require client certificates it signs (mutual TLS)");
ABSL_FLAG(double, rate_limit_platform, 0, "calls a second per platform account (0: unlimited)");
ABSL_FLAG(double, rate_limit_advertiser, 0, "calls a second per advertiser account (0: unlimited)");
ABSL_FLAG(double, rate_limit_operator, 0, "calls a second per operator account (0: unlimited)");
ABSL_FLAG(std::string, rate_limit_accounts, "",
          "per-account overrides: acc-2=5000,acc-7=100:200 (rate[:burst])");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "address:port of the Prometheus /metrics endpoint (empty: none)");
ABSL_FLAG(int, max_streams_per_connection, 256,
          "HTTP/2 streams a client connection may have open; more calls wait in the client (0: "
          "gRPC's default, unbounded)");
ABSL_FLAG(int64_t, max_in_flight, 4096,
          "calls worked on at once; past it RESOURCE_EXHAUSTED at once (0: no bound)");
ABSL_FLAG(
    int64_t, shared_pass_window_us, 0,
    "gather concurrent Bid calls this long into one pass over the keys (0: off; at most 1000)");
ABSL_FLAG(int64_t, shared_pass_min_ads, 100000,
          "shared passes only on catalogues of at least this many ads");
ABSL_FLAG(int, shared_pass_threads, 0, "threads deciding shared passes (0: one per core)");
ABSL_FLAG(int, pass_threads, -1,
          "threads that share one pass over a large catalogue with the calling thread (-1: "
          "one per usable core, less one; 0: none)");
ABSL_FLAG(int64_t, pass_split_min_ads, 65536,
          "passes over at least this many ads are split across --pass_threads");
ABSL_FLAG(int, bid_threads, 0,
          "threads deciding Bid calls, off gRPC's threads (0: one per CPU the server may run on)");
ABSL_FLAG(int64_t, bid_queue_ms, 20,
          "Bid calls are refused on arrival (RESOURCE_EXHAUSTED) when the work queued ahead of "
          "them would take longer than this, at the measured service time (1 to 1000)");
ABSL_FLAG(double, bid_inline_max_ms, 2,
          "a Bid runs on the gRPC thread that read it, not handed to the Bid threads, while none "
          "is queued and the measured service time is at most this (0 to 1000; 0: never)");
ABSL_FLAG(int, bid_nice, 0,
          "niceness of the Bid threads (0 to 19; gRPC's threads run at 0): above 0, under "
          "overload reading and refusing calls comes before deciding queued ones, which "
          "refuses sooner but answers fewer");
ABSL_FLAG(double, commit_gather_ms, 0,
          "group-commit delay (0 to 1000): while writes (campaign changes, billing events) "
          "arrive concurrently, the store commits and the catalogue publishes at most once "
          "this often, so that a stream of them costs one commit (fsync, or a PostgreSQL round "
          "trip) and one catalogue version a batch; a lone write is committed at once (0: "
          "never wait)");
ABSL_FLAG(std::string, key_storage, "float32",
          "storage of the ads' keys for the attention pass: float32, bf16 or int8");
ABSL_FLAG(int64_t, ann_min_ads, 250000,
          "catalogues of at least this many ads get an ANN index, built in the background "
          "(0: never)");
ABSL_FLAG(int, ann_candidates, 1000,
          "with an ANN index: ads retrieved per slot (split between the heads); exact "
          "attention runs over the union (1 to 100000)");
ABSL_FLAG(std::string, openrtb_listen, "",
          "address:port of the OpenRTB 2.6 endpoint, POST /openrtb2/bid (empty: off; port 0: any)");
ABSL_FLAG(int, openrtb_threads, 2, "io threads of the OpenRTB endpoint (1 to 64)");
ABSL_FLAG(int, openrtb_nobid_status, 204,
          "HTTP status of an OpenRTB no-bid: 204 (no body) or 200 (a body with nbr)");
ABSL_FLAG(std::string, openrtb_public_url, "",
          "base URL of the OpenRTB notice URLs (burl, lurl) in answers, as platforms reach it "
          "(empty: http://<openrtb_listen>)");
ABSL_FLAG(std::string, openrtb_currency, "USD",
          "the account currency (ISO 4217) in which bids, budgets and billing are; OpenRTB "
          "requests in another currency need --currency_rates");
ABSL_FLAG(std::string, currency_rates, "",
          "file of exchange rates for OpenRTB requests in other currencies: one \"CODE RATE\" "
          "a line, RATE what one unit is worth in --openrtb_currency (empty: none)");
ABSL_FLAG(bool, openrtb_nurl, false,
          "OpenRTB answers carry a win notice URL (nurl, GET /openrtb2/win): logged, never billed");
ABSL_FLAG(std::string, openrtb_port_file, "",
          "write the OpenRTB endpoint's bound port to this file once serving");
ABSL_FLAG(std::string, log_format, "text", "text, or json (one object a line, for log shippers)");

namespace {

// %j in a log pattern: the message, escaped for a JSON string.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (const char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
        dest.append(escaped, escaped + 6);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

// --openrtb_currency and the --currency_rates file (empty: none), checked
// line by line; the message names the flag and the line.
absl::StatusOr<attex::openrtb::CurrencyRates> LoadCurrencyRates(const std::string& account,
                                                                const std::string& path) {
  const bool code = account.size() == 3 && std::all_of(account.begin(), account.end(),
                                                       [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!code) {
    return absl::InvalidArgumentError(
        absl::StrCat("--openrtb_currency: \"", account, "\" is not an ISO 4217 code such as USD"));
  }
  if (path.empty()) return attex::openrtb::CurrencyRates(account);
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return absl::NotFoundError(absl::StrCat("--currency_rates: cannot open ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  auto rates = attex::openrtb::CurrencyRates::Parse(text.str(), path, account);
  if (!rates.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--currency_rates: ", rates.status().message()));
  }
  return rates;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("the attention exchange. Flags below; see docs/operations.md.");
  // --help lists this file's flags (Abseil's default looks for a file named
  // after the binary).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) {
    return absl::EndsWith(path, "server/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles,
  // about 1% of a Bid's CPU in a profile; the tests run with it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  spdlog::set_level(spdlog::level::from_str(absl::GetFlag(FLAGS_log_level)));
  if (absl::GetFlag(FLAGS_log_format) == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonEscapedMessage>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","thread":%t,"msg":"%j"})");
    spdlog::set_formatter(std::move(formatter));
  } else if (absl::GetFlag(FLAGS_log_format) != "text") {
    std::fprintf(stderr, "attex-server: --log_format must be \"text\" or \"json\"\n");
    return 2;
  }

  attex::server::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  const std::string store = absl::GetFlag(FLAGS_store);
  if (store != "sqlite" && store != "postgres") {
    std::fprintf(stderr, "attex-server: --store must be \"sqlite\" or \"postgres\", not \"%s\"\n",
                 store.c_str());
    return 2;
  }
  options.store =
      store == "postgres" ? attex::server::StoreKind::kPostgres : attex::server::StoreKind::kSqlite;
  options.postgres_dsn = absl::GetFlag(FLAGS_postgres_dsn);
  options.billing_key_file = absl::GetFlag(FLAGS_billing_key_file);
  if (options.store == attex::server::StoreKind::kPostgres && options.postgres_dsn.empty()) {
    std::fprintf(stderr, "attex-server: --store=postgres needs --postgres_dsn\n");
    return 2;
  }
  if (options.store == attex::server::StoreKind::kSqlite && !options.postgres_dsn.empty()) {
    std::fprintf(stderr, "attex-server: --postgres_dsn is for --store=postgres only\n");
    return 2;
  }
  options.slices.redis_addr = absl::GetFlag(FLAGS_redis_addr);
  options.slices.replica_id = absl::GetFlag(FLAGS_replica_id);
  if (options.slices.replica_id.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    const std::string port = options.listen.substr(options.listen.rfind(':') + 1);
    options.slices.replica_id =
        absl::StrCat(host, ":", port == "0" ? absl::StrCat("pid", ::getpid()) : port);
  }
  const int lease_s = absl::GetFlag(FLAGS_slice_lease_s);
  if (lease_s < 1 || lease_s > 600) {
    std::fprintf(stderr, "attex-server: --slice_lease_s must be 1 to 600, not %d\n", lease_s);
    return 2;
  }
  options.slices.lease = absl::Seconds(lease_s);
  options.slices.initial_slice_micros = absl::GetFlag(FLAGS_slice_initial_micros);
  if (options.slices.initial_slice_micros < 1) {
    std::fprintf(stderr, "attex-server: --slice_initial_micros must be positive\n");
    return 2;
  }
  if (!options.slices.redis_addr.empty() && options.store != attex::server::StoreKind::kPostgres) {
    std::fprintf(stderr, "attex-server: --redis_addr (budget slices) needs --store=postgres\n");
    return 2;
  }
  options.demo = absl::GetFlag(FLAGS_demo);
  options.model_path = absl::GetFlag(FLAGS_model);
  options.training_log.dir = absl::GetFlag(FLAGS_training_log);
  options.training_log.file_bytes = absl::GetFlag(FLAGS_training_log_file_bytes);
  options.training_log.max_bytes = absl::GetFlag(FLAGS_training_log_max_bytes);
  options.port_file = absl::GetFlag(FLAGS_port_file);
  options.auction.default_floor_cpm_micros = absl::GetFlag(FLAGS_default_floor_cpm_micros);
  const std::string auction = absl::GetFlag(FLAGS_auction);
  if (auction != "second" && auction != "first") {
    std::fprintf(stderr, "attex-server: --auction must be \"second\" or \"first\"\n");
    return 2;
  }
  options.auction.default_type = auction == "first" ? attex::v1::AUCTION_TYPE_FIRST_PRICE
                                                    : attex::v1::AUCTION_TYPE_SECOND_PRICE;
  options.auction.reserve_rho = absl::GetFlag(FLAGS_reserve_rho);
  options.auction.explore_share = absl::GetFlag(FLAGS_explore_share);
  if (!(options.auction.explore_share >= 0.0 && options.auction.explore_share <= 1.0)) {
    std::fprintf(stderr, "attex-server: --explore_share must be in [0, 1]\n");
    return 2;
  }
  options.split.platform_bps = absl::GetFlag(FLAGS_platform_share_bps);
  options.split.user_bps = absl::GetFlag(FLAGS_user_share_bps);
  options.billing_token_ttl_s = absl::GetFlag(FLAGS_billing_token_ttl_s);
  options.default_tmax_ms = absl::GetFlag(FLAGS_default_tmax_ms);
  options.grace_period_s = absl::GetFlag(FLAGS_grace_period_s);
  options.drain_delay_s = absl::GetFlag(FLAGS_drain_delay_s);
  options.health_agent_listen = absl::GetFlag(FLAGS_health_agent_listen);
  if (options.drain_delay_s < 0 || options.drain_delay_s > 300) {
    std::fprintf(stderr, "attex-server: --drain_delay_s must be 0 to 300, not %d\n",
                 options.drain_delay_s);
    return 2;
  }
  options.tls = {absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                 absl::GetFlag(FLAGS_tls_client_ca)};
  options.rate_limits.platform.per_second = absl::GetFlag(FLAGS_rate_limit_platform);
  options.rate_limits.advertiser.per_second = absl::GetFlag(FLAGS_rate_limit_advertiser);
  options.rate_limits.op.per_second = absl::GetFlag(FLAGS_rate_limit_operator);
  auto overrides = attex::server::ParseRateOverrides(absl::GetFlag(FLAGS_rate_limit_accounts));
  if (!overrides.ok()) {
    std::fprintf(stderr, "attex-server: %s\n", std::string(overrides.status().message()).c_str());
    return 2;
  }
  options.rate_limits.accounts = *std::move(overrides);
  auto key_format = attex::attention::ParseKeyFormat(absl::GetFlag(FLAGS_key_storage));
  if (!key_format.ok()) {
    std::fprintf(stderr, "attex-server: --key_storage must be float32, bf16 or int8, not \"%s\"\n",
                 absl::GetFlag(FLAGS_key_storage).c_str());
    return 2;
  }
  options.catalog.key_format = *key_format;
  options.catalog.ann_min_ads = absl::GetFlag(FLAGS_ann_min_ads);
  options.auction.ann_candidates = absl::GetFlag(FLAGS_ann_candidates);
  if (options.catalog.ann_min_ads < 0) {
    std::fprintf(stderr, "attex-server: --ann_min_ads must not be negative (0: no ANN index)\n");
    return 2;
  }
  if (options.auction.ann_candidates < 1 ||
      options.auction.ann_candidates > attex::auction::kMaxAnnCandidates) {
    std::fprintf(stderr, "attex-server: --ann_candidates must be between 1 and %d\n",
                 attex::auction::kMaxAnnCandidates);
    return 2;
  }
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.max_in_flight = std::max<int64_t>(0, absl::GetFlag(FLAGS_max_in_flight));
  options.max_streams_per_connection = std::max(0, absl::GetFlag(FLAGS_max_streams_per_connection));
  const int64_t window_us = absl::GetFlag(FLAGS_shared_pass_window_us);
  if (window_us < 0 || window_us > 1000) {
    std::fprintf(stderr, "attex-server: --shared_pass_window_us must be 0 to 1000, not %lld\n",
                 static_cast<long long>(window_us));
    return 2;
  }
  options.shared_pass_window = absl::Microseconds(window_us);
  options.shared_pass_min_ads = std::max<int64_t>(0, absl::GetFlag(FLAGS_shared_pass_min_ads));
  options.shared_pass_threads = std::max(0, absl::GetFlag(FLAGS_shared_pass_threads));
  options.pass_threads = absl::GetFlag(FLAGS_pass_threads);
  options.pass_split_min_ads = std::max<int64_t>(1, absl::GetFlag(FLAGS_pass_split_min_ads));
  if (options.pass_threads < -1 || options.pass_threads > 64) {
    std::fprintf(stderr, "attex-server: --pass_threads must be -1 to 64, not %d\n",
                 options.pass_threads);
    return 2;
  }
  options.bid_threads = std::max(0, absl::GetFlag(FLAGS_bid_threads));
  const int64_t queue_ms = absl::GetFlag(FLAGS_bid_queue_ms);
  if (queue_ms < 1 || queue_ms > 1000) {
    std::fprintf(stderr, "attex-server: --bid_queue_ms must be 1 to 1000, not %lld\n",
                 static_cast<long long>(queue_ms));
    return 2;
  }
  options.bid_queue_delay = absl::Milliseconds(queue_ms);
  const double inline_ms = absl::GetFlag(FLAGS_bid_inline_max_ms);
  if (!(inline_ms >= 0 && inline_ms <= 1000)) {
    std::fprintf(stderr, "attex-server: --bid_inline_max_ms must be 0 to 1000, not %g\n",
                 inline_ms);
    return 2;
  }
  options.bid_inline_max = absl::Milliseconds(inline_ms);
  const double gather_ms = absl::GetFlag(FLAGS_commit_gather_ms);
  if (!(gather_ms >= 0 && gather_ms <= 1000)) {
    std::fprintf(stderr, "attex-server: --commit_gather_ms must be 0 to 1000, not %g\n", gather_ms);
    return 2;
  }
  options.commit_gather = absl::Milliseconds(gather_ms);
  options.bid_nice = absl::GetFlag(FLAGS_bid_nice);
  if (options.bid_nice < 0 || options.bid_nice > 19) {
    std::fprintf(stderr, "attex-server: --bid_nice must be 0 to 19, not %d\n", options.bid_nice);
    return 2;
  }
  options.openrtb.listen = absl::GetFlag(FLAGS_openrtb_listen);
  options.openrtb.threads = absl::GetFlag(FLAGS_openrtb_threads);
  options.openrtb.nobid_status = absl::GetFlag(FLAGS_openrtb_nobid_status);
  options.openrtb.public_url = absl::GetFlag(FLAGS_openrtb_public_url);
  if (auto rates = LoadCurrencyRates(absl::GetFlag(FLAGS_openrtb_currency),
                                     absl::GetFlag(FLAGS_currency_rates));
      rates.ok()) {
    options.openrtb.rates = *std::move(rates);
  } else {
    std::fprintf(stderr, "attex-server: %s\n", std::string(rates.status().message()).c_str());
    return 2;
  }
  options.openrtb.nurl = absl::GetFlag(FLAGS_openrtb_nurl);
  options.openrtb.port_file = absl::GetFlag(FLAGS_openrtb_port_file);
  if (options.openrtb.threads < 1 || options.openrtb.threads > 64) {
    std::fprintf(stderr, "attex-server: --openrtb_threads must be 1 to 64, not %d\n",
                 options.openrtb.threads);
    return 2;
  }
  if (options.openrtb.nobid_status != 204 && options.openrtb.nobid_status != 200) {
    std::fprintf(stderr, "attex-server: --openrtb_nobid_status must be 204 or 200, not %d\n",
                 options.openrtb.nobid_status);
    return 2;
  }
  if (options.auction.default_floor_cpm_micros < 0 || options.billing_token_ttl_s <= 0 ||
      options.default_tmax_ms <= 0 || options.grace_period_s < 0 ||
      options.auction.reserve_rho < 0) {
    std::fprintf(stderr,
                 "attex-server: floors, rho and the grace period must not be negative; "
                 "the token ttl and default tmax must be positive\n");
    return 2;
  }

  // SIGTERM and SIGINT are taken by a thread of their own, not a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const int grace = options.grace_period_s;
  const int drain_delay = options.drain_delay_s;
  auto server = attex::server::Server::Start(std::move(options));
  if (!server.ok()) {
    spdlog::critical("cannot start: {}", server.status().ToString());
    return 1;
  }
  spdlog::info("attex-server listening on port {}", (*server)->port());
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("received {}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    (*server)->Shutdown(absl::Seconds(grace), absl::Seconds(drain_delay));
  });
  (*server)->Wait();
  waiter.join();
  server->reset();
  spdlog::info("stopped");
  return 0;
}
