// attex-load: the load tester. See "Operating attex: load testing" in
// README.md.
//   attex-load --addr 127.0.0.1:50051 --tokens_file DATA/demo-tokens.json
//     --method bid --campaigns 2500 --rate 10000 --duration 30s --html r.html
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "api/limits.h"
#include "api/validation.h"
#include "attention/model.h"
#include "attex/v1/campaign.grpc.pb.h"
#include "client/channel_target.h"
#include "client/credentials.h"
#include "client/load/driver.h"
#include "client/load/report.h"
#include "client/load/token_collector.h"
#include "client/load/workload.h"
#include "grpcpp/grpcpp.h"
#include "store/store.h"

namespace {

using attex::load::Workload;

std::map<std::string, std::string> ReadTokens(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  std::map<std::string, std::string> out;
  const std::string text = buf.str();
  static const std::regex kPair("\"([^\"]+)\"\\s*:\\s*\"([^\"]*)\"");
  for (std::sregex_iterator it(text.begin(), text.end(), kPair), end; it != end; ++it) {
    out[(*it)[1]] = (*it)[2];
  }
  return out;
}

// Creates `n` campaigns through the API, 64 calls in flight. Returns the
// number that failed (their errors are printed).
int CreateCampaigns(const std::string& addr,
                    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                    const std::string& token, Workload& workload, int64_t n) {
  auto stub = attex::v1::Campaigns::NewStub(attex::client::BalancedChannel(addr, credentials));
  struct Call {
    grpc::ClientContext ctx;
    attex::v1::Campaign request, response;
  };
  absl::Mutex mu;
  int in_flight = 0, failed = 0, done = 0;
  for (int64_t i = 0; i < n; ++i) {
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](int* k) { return *k < 64; }, &in_flight));
      ++in_flight;
    }
    auto* call = new Call;
    call->request = workload.MakeCampaign(i, "");
    call->ctx.AddMetadata("authorization", "Bearer " + token);
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stub->async()->CreateCampaign(&call->ctx, &call->request, &call->response,
                                  [&, call](grpc::Status status) {
                                    absl::MutexLock lock(&mu);
                                    if (!status.ok() && failed++ < 5) {
                                      std::fprintf(stderr, "attex-load: CreateCampaign: %s\n",
                                                   status.error_message().c_str());
                                    }
                                    if (++done % 500 == 0) {
                                      std::fprintf(stderr, "\rcreated %d campaigns", done);
                                    }
                                    --in_flight;
                                    delete call;
                                  });
  }
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](int* k) { return *k == 0; }, &in_flight));
  std::fprintf(stderr, "\rcreated %lld campaigns (%d failed)\n", static_cast<long long>(n - failed),
               failed);
  return failed;
}

// Offline: inserts `n` workload campaigns of `advertiser_id` straight into
// the store of a data dir whose server is stopped, 10,000 a transaction,
// each checked as CreateCampaign checks it. For catalogues too large to
// create through the API in reasonable time (each API write is its own
// fsync and catalogue rebuild); the server loads them when it starts.
// Returns the process exit code.
int SeedDataDir(const std::string& data_dir, const std::string& advertiser_id, Workload& workload,
                int64_t n) {
  if (advertiser_id.empty()) {
    std::fprintf(stderr,
                 "attex-load: --seed_data_dir needs --advertiser_id (or a tokens file "
                 "with advertiser_id)\n");
    return 2;
  }
  auto store = attex::store::OpenSqliteStore(data_dir);
  if (!store.ok()) {
    std::fprintf(stderr, "attex-load: %s\n", std::string(store.status().message()).c_str());
    return 2;
  }
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  constexpr int64_t kChunk = 10'000;
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    std::vector<attex::v1::Campaign> chunk;
    for (int64_t i = begin; i < std::min(n, begin + kChunk); ++i) {
      attex::v1::Campaign c = workload.MakeCampaign(i, advertiser_id);
      if (auto s = attex::api::ValidateCampaign(c, attex::attention::ModelConfig{}.d_model);
          !s.ok()) {
        std::fprintf(stderr, "attex-load: campaign %lld: %s\n", static_cast<long long>(i),
                     std::string(s.message()).c_str());
        return 1;
      }
      chunk.push_back(std::move(c));
    }
    auto stored = (*store)->InsertCampaigns(std::move(chunk), now_ms);
    if (!stored.ok()) {
      std::fprintf(stderr, "attex-load: %s\n", std::string(stored.status().message()).c_str());
      return 1;
    }
    std::fprintf(stderr, "\rseeded %lld of %lld campaigns",
                 static_cast<long long>(begin + static_cast<int64_t>(stored->size())),
                 static_cast<long long>(n));
  }
  std::fprintf(stderr, "\n");
  std::printf("seeded %lld campaigns x %d creatives into %s\n", static_cast<long long>(n),
              workload.options().creatives_per_campaign, data_dir.c_str());
  return 0;
}

// Up to `n` campaigns of the advertiser whose token is `token` that are not
// archived, read through ListCampaigns: what --method update changes.
absl::StatusOr<std::vector<attex::v1::Campaign>> ListForUpdate(
    const std::string& addr, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const std::string& token, int64_t n) {
  auto stub = attex::v1::Campaigns::NewStub(attex::client::BalancedChannel(addr, credentials));
  std::vector<attex::v1::Campaign> out;
  std::string page_token;
  while (static_cast<int64_t>(out.size()) < n) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    attex::v1::ListCampaignsRequest request;
    request.set_page_size(1000);
    request.set_page_token(page_token);
    attex::v1::ListCampaignsResponse response;
    const grpc::Status status = stub->ListCampaigns(&ctx, request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat("ListCampaigns: ", status.error_message()));
    }
    for (auto& c : *response.mutable_campaigns()) {
      if (c.status() == attex::v1::CAMPAIGN_STATUS_ARCHIVED) continue;
      if (static_cast<int64_t>(out.size()) < n) out.push_back(std::move(c));
    }
    if (response.next_page_token().empty()) break;
    page_token = response.next_page_token();
  }
  if (out.empty()) return absl::NotFoundError("the advertiser has no campaign to update");
  return out;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) std::fprintf(stderr, "attex-load: cannot write %s\n", path.c_str());
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"attex-load: load tester for attex-server (closed or open loop)"};
  attex::load::DriverOptions o;
  const char* env_addr = std::getenv("ATTEX_ADDR");
  const char* env_token = std::getenv("ATTEX_TOKEN");
  o.addr = env_addr ? env_addr : "127.0.0.1:50051";
  o.token = env_token ? env_token : "";
  std::string tokens_file, advertiser_token, method = "ping", slots = "1-4", json, html;
  double duration_s = 10, warmup_s = 1;
  int timeout_ms = 1000, pool = 4096;
  int64_t campaigns = 0;
  bool quiet = false, live = false;
  attex::load::WorkloadOptions w;
  app.add_option("--addr", o.addr,
                 "server host:port, several as a comma-separated list of IPv4 address:port, or "
                 "dns:///name:port (round robin over the healthy ones; ATTEX_ADDR)");
  attex::client::TlsFiles tls;
  app.add_option("--ca_cert", tls.ca_cert, "PEM roots: use TLS (default: plaintext)")
      ->check(CLI::ExistingFile);
  app.add_option("--client_cert", tls.client_cert, "PEM client certificate for mutual TLS")
      ->check(CLI::ExistingFile);
  app.add_option("--client_key", tls.client_key, "PEM private key of --client_cert")
      ->check(CLI::ExistingFile);
  app.add_option("--token", o.token, "bearer token for the load (ATTEX_TOKEN)");
  app.add_option(
      "--tokens_file", tokens_file,
      "demo-tokens.json: the platform token for the load, the advertiser's for --campaigns");
  app.add_option("--advertiser_token", advertiser_token, "token that creates --campaigns");
  app.add_option("--method", method,
                 "ping, bid, events (bid, then bill what was won), mix, openrtb (bid as OpenRTB "
                 "2.6 over HTTP to --openrtb_addr), or update (UpdateCampaign bid changes of "
                 "--update_campaigns campaigns of the advertiser token), or report (bid first "
                 "for --report_tokens placements, then ReportEvents of their impressions, "
                 "--report_batch a call, each token once)");
  app.add_option("--openrtb_addr", o.openrtb_addr,
                 "host:port of the server's OpenRTB endpoint (--method openrtb)");
  app.add_option("--concurrency", o.concurrency, "closed loop: calls kept in flight");
  app.add_option("--rate", o.rate, "open loop: calls a second (latency from intended send time)");
  app.add_option("--duration", duration_s, "seconds recorded");
  app.add_option("--warmup", warmup_s, "seconds sent before recording");
  app.add_option("--channels", o.channels, "gRPC channels (connections)");
  app.add_option("--timeout_ms", timeout_ms, "deadline of each call");
  app.add_option("--max_in_flight", o.max_in_flight, "open loop: cap on calls in flight");
  app.add_option("--payload", o.ping_payload, "ping payload bytes");
  app.add_option("--campaigns", campaigns, "first create this many campaigns through the API");
  int64_t update_campaigns = 1000;
  app.add_option("--update_campaigns", update_campaigns,
                 "--method update: how many of the advertiser's campaigns it changes, in turn");
  int64_t report_tokens = 0;
  app.add_option("--report_tokens", report_tokens,
                 "--method report: billing tokens to collect by bidding first (default, open "
                 "loop: rate x (warmup + duration) x batch, and 2% more)");
  app.add_option("--report_batch", o.report_batch,
                 "--method report: events in one ReportEvents call (1 to 1000)");
  std::string seed_data_dir, advertiser_id;
  app.add_option(
      "--seed_data_dir", seed_data_dir,
      "offline: insert --campaigns straight into this stopped server's store, then exit");
  app.add_option("--advertiser_id", advertiser_id,
                 "owner of --seed_data_dir campaigns (default: advertiser_id of --tokens_file)");
  app.add_option("--creatives_per_campaign", w.creatives_per_campaign, "ads per created campaign");
  app.add_option("--slots", slots, "slots per request: N or MIN-MAX");
  app.add_option("--users", w.users, "distinct users (Zipf)");
  app.add_option("--seed", w.seed, "workload seed");
  app.add_option("--request_pool", pool, "distinct bid requests prepared, then cycled");
  app.add_flag("--live", live, "non-test bid requests: events bill real money");
  app.add_option("--json", json, "write a JSON report here");
  app.add_option("--html", html, "write an HTML report here");
  app.add_flag("--quiet", quiet, "no progress line");
  CLI11_PARSE(app, argc, argv);
  auto credentials = attex::client::MakeChannelCredentials(tls);
  if (!credentials.ok()) {
    std::fprintf(stderr, "attex-load: %s\n", std::string(credentials.status().message()).c_str());
    return 2;
  }
  o.credentials = *credentials;

  auto parsed = attex::load::ParseMethod(method);
  if (!parsed.ok()) {
    std::fprintf(stderr, "attex-load: %s\n", std::string(parsed.status().message()).c_str());
    return 2;
  }
  o.method = *parsed;
  if (!tokens_file.empty()) {
    auto tokens = ReadTokens(tokens_file);
    if (o.token.empty()) o.token = tokens["platform"];
    if (advertiser_token.empty()) advertiser_token = tokens["advertiser"];
  }
  if (!seed_data_dir.empty()) {
    if (advertiser_id.empty() && !tokens_file.empty()) {
      advertiser_id = ReadTokens(tokens_file)["advertiser_id"];
    }
    Workload workload(w);
    return SeedDataDir(seed_data_dir, advertiser_id, workload, campaigns);
  }
  if (o.token.empty()) {
    std::fprintf(stderr, "attex-load: give --token, ATTEX_TOKEN or --tokens_file\n");
    return 2;
  }
  const auto dash = slots.find('-');
  try {
    w.min_slots = std::stoi(slots.substr(0, dash));
    w.max_slots = dash == std::string::npos ? w.min_slots : std::stoi(slots.substr(dash + 1));
  } catch (...) {
    w.min_slots = 0;
  }
  if (w.min_slots < 1 || w.max_slots > 16 || w.min_slots > w.max_slots) {
    std::fprintf(stderr, "attex-load: --slots must be N or MIN-MAX within 1-16\n");
    return 2;
  }
  w.test = !live;
  o.duration = absl::Seconds(duration_s);
  o.warmup = absl::Seconds(warmup_s);
  o.timeout = absl::Milliseconds(timeout_ms);
  o.progress = !quiet;

  Workload workload(w);
  if (campaigns > 0) {
    if (advertiser_token.empty()) {
      std::fprintf(stderr, "attex-load: --campaigns needs --advertiser_token or --tokens_file\n");
      return 2;
    }
    if (CreateCampaigns(o.addr, o.credentials, advertiser_token, workload, campaigns) == campaigns)
      return 1;
  }
  if (o.method == attex::load::Method::kUpdate) {
    if (advertiser_token.empty()) {
      std::fprintf(stderr, "attex-load: update needs --advertiser_token or --tokens_file\n");
      return 2;
    }
    auto listed = ListForUpdate(o.addr, o.credentials, advertiser_token, update_campaigns);
    if (!listed.ok()) {
      std::fprintf(stderr, "attex-load: %s\n", std::string(listed.status().message()).c_str());
      return 2;
    }
    o.campaigns = *std::move(listed);
    o.update_token = advertiser_token;
  } else if (o.method != attex::load::Method::kPing) {
    for (int i = 0; i < std::max(pool, 1); ++i) o.requests.push_back(workload.MakeBidRequest());
  }
  if (o.method == attex::load::Method::kReport) {
    if (o.report_batch < 1 || o.report_batch > attex::api::kMaxEventsPerReport) {
      std::fprintf(stderr, "attex-load: --report_batch must be 1 to %d\n",
                   attex::api::kMaxEventsPerReport);
      return 2;
    }
    if (report_tokens <= 0 && o.rate > 0) {
      report_tokens =
          static_cast<int64_t>(o.rate * (duration_s + warmup_s) * o.report_batch * 1.02) +
          o.report_batch;
    }
    if (report_tokens <= 0) {
      std::fprintf(stderr,
                   "attex-load: --report_tokens: give how many billing tokens to collect (a "
                   "closed loop reports them until the end or until they run out)\n");
      return 2;
    }
    auto collected = attex::load::CollectBillingTokens(o, report_tokens);
    if (!collected.ok()) {
      std::fprintf(stderr, "attex-load: %s\n", std::string(collected.status().message()).c_str());
      return 2;
    }
    std::printf("collected %zu billing tokens from %lld bids (%lld failed) in %.1f s\n",
                collected->tokens.size(), static_cast<long long>(collected->bids),
                static_cast<long long>(collected->failed), collected->seconds);
    o.billing_tokens = std::move(collected->tokens);
    o.requests.clear();
  }
  auto report = attex::load::RunLoad(std::move(o));
  if (!report.ok()) {
    std::fprintf(stderr, "attex-load: %s\n", std::string(report.status().message()).c_str());
    return 2;
  }
  std::fputs(attex::load::SummaryText(*report).c_str(), stdout);
  if (report->options.method == attex::load::Method::kUpdate) {
    // The server answers an UpdateCampaign only once the catalogue snapshot
    // with the change is the one Bid reads (the work queue publishes a
    // batch's changes before it answers any of them).
    std::printf("  visible   to Bid when its call returns: visibility = the latency above\n");
  }
  bool ok = true;
  if (!json.empty()) ok &= WriteFile(json, attex::load::ToJson(*report));
  if (!html.empty()) ok &= WriteFile(html, attex::load::ToHtml(*report));
  return ok ? 0 : 1;
}
