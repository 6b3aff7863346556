// Durable billing events a second (synchronous=FULL: each commit is fsynced
// before it returns).
//  - BM_StoreRecordEvents/N: Store::RecordEvents with N events per
//    transaction (N = 1 is one fsync per event, the old path).
//  - BM_ReportThroughWorkQueue/threads:T: T concurrent reporters, each
//    submitting one event at a time to the server's work queue and waiting
//    for its answer, as ReportEvents does (no gRPC): the queue's batches
//    share one transaction and one fsync.
// Run on the disk the server's data_dir lives on: TMPDIR picks it.
#include <stdlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "attention/model.h"
#include "auction/billing_token.h"
#include "benchmark/benchmark.h"
#include "server/billing.h"
#include "server/core.h"
#include "server/exchange_service.h"
#include "store/store.h"

namespace attex {
namespace {

std::string MakeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base ? base : "/tmp") + "/attex-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

store::BillingEvent Impression(int64_t n) {
  store::BillingEvent e;
  e.token_hash = absl::StrCat("bench-", n);
  e.type = attex::v1::EVENT_TYPE_IMPRESSION;
  e.event_id = "ev";
  e.campaign_id = absl::StrCat("cmp-", n % 16);
  e.platform_id = "acc-2";
  e.price_micros = 2000;
  e.at_ms = 1'700'000'000'000;
  e.entries = {{"advertiser:acc-3", -2000}, {"platform:acc-2", 1600}, {"user:u1", 200},
               {"exchange", 200}};
  e.enforce_budget = true;
  e.total_budget_micros = int64_t{1} << 60;
  return e;
}

void BM_StoreRecordEvents(benchmark::State& state) {
  const std::string dir = MakeTempDir();
  auto store = store::OpenSqliteStore(dir);
  if (!store.ok()) std::abort();
  const int batch = static_cast<int>(state.range(0));
  int64_t n = 0;
  std::vector<store::BillingEvent> events;
  for (auto _ : state) {
    state.PauseTiming();
    events.clear();
    for (int i = 0; i < batch; ++i) events.push_back(Impression(n++));
    state.ResumeTiming();
    auto results = (*store)->RecordEvents(events);
    if (!results.ok()) state.SkipWithError("RecordEvents failed");
  }
  state.SetItemsProcessed(n);
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StoreRecordEvents)->Arg(1)->Arg(16)->Arg(64)->Arg(256)->UseRealTime();

void BM_ReportThroughWorkQueue(benchmark::State& state) {
  static std::unique_ptr<server::Core> core;
  static std::string dir;
  static std::vector<std::string> tokens;
  static std::atomic<int64_t> next{0};
  constexpr int64_t kTokens = 400'000;
  if (state.thread_index() == 0) {
    dir = MakeTempDir();
    auto store = store::OpenSqliteStore(dir);
    if (!store.ok()) std::abort();
    server::ServerOptions options;
    options.data_dir = dir;
    core = std::make_unique<server::Core>(options, *std::move(store), attention::Model::Default(),
                                          std::string(32, 'k'));
    if (tokens.empty()) {
      auction::BillingClaims claims;
      claims.campaign_id = "cmp-1";
      claims.advertiser_id = "acc-3";
      claims.platform_id = "acc-2";
      claims.user_key = "u1";
      claims.price_cpm_micros = 2'000'000;
      claims.expires_ms = int64_t{1} << 50;
      for (int64_t i = 0; i < kTokens; ++i) {
        claims.nonce = i + 1;
        tokens.push_back(core->signer.Sign(claims));
      }
    }
  }
  // Google Benchmark starts the timed loop of all threads together.
  const server::Caller caller{"acc-2", attex::v1::ROLE_PLATFORM};
  int64_t done = 0;
  for (auto _ : state) {
    const int64_t i = next.fetch_add(1) % kTokens;
    attex::v1::Event event;
    event.set_billing_token(tokens[i]);
    event.set_type(attex::v1::EVENT_TYPE_IMPRESSION);
    attex::v1::EventOutcome outcome;
    std::promise<void> answered;
    core->queue.Submit([&]() -> server::WorkQueue::Completion {
      auto status = std::make_shared<absl::Status>();
      core->billing.Add(*core, caller, event, server::NowMs(), &outcome, status);
      return [&answered] { answered.set_value(); };
    });
    answered.get_future().wait();
    ++done;
  }
  state.SetItemsProcessed(done);
  if (state.thread_index() == 0) {
    core->queue.Stop();
    core.reset();
    std::filesystem::remove_all(dir);
  }
}
BENCHMARK(BM_ReportThroughWorkQueue)->Threads(1)->Threads(16)->Threads(64)->UseRealTime();

}  // namespace
}  // namespace attex

BENCHMARK_MAIN();
