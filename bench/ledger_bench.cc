// Durable billing events a second (synchronous=FULL: each commit is fsynced
// before it returns).
//  - BM_StoreRecordEvents/N: Store::RecordEvents with N events per
//    transaction (N = 1 is one fsync per event, the old path).
//  - BM_ReportThroughWorkQueue/threads:T: T concurrent reporters, each
//    submitting one event at a time to a work queue (store/work_queue.h)
//    whose after-batch hook commits the billing batch (billing/), as the
//    server's ReportEvents does (no gRPC): the queue's batches share one
//    transaction and one fsync.
//  - BM_DiskSync: the reference, measured in the same run: overwrite 16 KiB
//    of a file and fdatasync it (about what one group commit syncs).
// p50_ms / p99_ms: latency of an event, from the call (or Submit) until it
// is answered (for a group, every event waits for the whole group).
// Run on the disk the server's data_dir lives on: TMPDIR picks it.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "auction/billing_token.h"
#include "auction/budget.h"
#include "benchmark/benchmark.h"
#include "billing/billing_batch.h"
#include "store/store.h"
#include "store/work_queue.h"

namespace attex {
namespace {

std::string MakeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base ? base : "/tmp") + "/attex-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Sets p50_ms and p99_ms from latencies in ns (sorts them).
void ReportLatency(benchmark::State& state, std::vector<int64_t>& ns) {
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) { return ns[static_cast<size_t>(q * (ns.size() - 1))] / 1e6; };
  state.counters["p50_ms"] = at(0.50);
  state.counters["p99_ms"] = at(0.99);
}

void BM_DiskSync(benchmark::State& state) {
  const std::string dir = MakeTempDir();
  const std::string path = dir + "/sync";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
  if (fd < 0) std::abort();
  constexpr size_t kFile = 1 << 20, kWrite = 16 << 10;
  const std::string bytes(kFile, 'x');
  if (::pwrite(fd, bytes.data(), kFile, 0) != static_cast<ssize_t>(kFile) || ::fsync(fd) != 0)
    std::abort();
  std::vector<int64_t> latency;
  size_t offset = 0;
  for (auto _ : state) {
    const int64_t start = NowNs();
    if (::pwrite(fd, bytes.data(), kWrite, offset) != static_cast<ssize_t>(kWrite)) std::abort();
    if (::fdatasync(fd) != 0) std::abort();
    latency.push_back(NowNs() - start);
    offset = (offset + kWrite) % kFile;
  }
  ReportLatency(state, latency);
  ::close(fd);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_DiskSync)->UseRealTime();

store::BillingEvent Impression(int64_t n) {
  store::BillingEvent e;
  // As the server stores it: the hex SHA-256 of the token, at a random place
  // in the events' key.
  e.token_hash = auction::Sha256Hex(absl::StrCat("bench-", n));
  e.type = attex::v1::EVENT_TYPE_IMPRESSION;
  e.event_id = "ev";
  e.campaign_id = absl::StrCat("cmp-", n % 16);
  e.platform_id = "acc-2";
  e.price_micros = 2000;
  e.at_ms = 1'700'000'000'000;
  e.entries = {
      {"advertiser:acc-3", -2000}, {"platform:acc-2", 1600}, {"user:u1", 200}, {"exchange", 200}};
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
  std::vector<int64_t> latency;
  for (auto _ : state) {
    state.PauseTiming();
    events.clear();
    for (int i = 0; i < batch; ++i) events.push_back(Impression(n++));
    state.ResumeTiming();
    const int64_t start = NowNs();
    auto results = (*store)->RecordEvents(events);
    latency.push_back(NowNs() - start);
    if (!results.ok()) {
      state.SkipWithError(results.status().ToString().c_str());
      break;  // The range-for would go on, and PauseTiming would then abort.
    }
  }
  state.SetItemsProcessed(n);
  ReportLatency(state, latency);
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StoreRecordEvents)->Arg(1)->Arg(16)->Arg(64)->Arg(256)->UseRealTime();

void BM_ReportThroughWorkQueue(benchmark::State& state) {
  // What the server's Core holds for billing, without gRPC.
  struct Ledger {
    std::unique_ptr<store::Store> store;
    auction::TokenSigner signer{std::string(32, 'k')};
    auction::ReservationBook reservations;
    std::shared_ptr<auction::BudgetState> budget = std::make_shared<auction::BudgetState>();
    std::unique_ptr<billing::BillingBatch> batch;
    std::unique_ptr<store::WorkQueue> queue;  // Stopped before the rest goes.
  };
  static std::unique_ptr<Ledger> ledger;
  static std::string dir;
  static std::vector<std::string> tokens;
  static std::atomic<int64_t> next{0};
  static std::vector<std::vector<int64_t>> latency;  // One per thread.
  constexpr int64_t kTokens = 400'000;
  if (state.thread_index() == 0) {
    latency.assign(state.threads(), {});
    dir = MakeTempDir();
    auto store = store::OpenSqliteStore(dir);
    if (!store.ok()) std::abort();
    ledger = std::make_unique<Ledger>();
    ledger->store = *std::move(store);
    Ledger* l = ledger.get();
    l->batch = std::make_unique<billing::BillingBatch>(
        billing::BillingContext{.store = l->store.get(),
                                .signer = &l->signer,
                                .split = {},
                                .reservations = &l->reservations,
                                .budget = [l](const std::string&) { return l->budget; }});
    l->queue = std::make_unique<store::WorkQueue>([l] { l->batch->Commit(WallMs()); });
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
        tokens.push_back(l->signer.Sign(claims));
      }
    }
  }
  // Google Benchmark starts the timed loop of all threads together.
  const billing::Reporter reporter{.platform_id = "acc-2"};
  int64_t done = 0;
  for (auto _ : state) {
    const int64_t start = NowNs();
    const int64_t i = next.fetch_add(1) % kTokens;
    attex::v1::Event event;
    event.set_billing_token(tokens[i]);
    event.set_type(attex::v1::EVENT_TYPE_IMPRESSION);
    attex::v1::EventOutcome outcome;
    std::promise<void> answered;
    ledger->queue->Submit([&]() -> store::WorkQueue::Completion {
      auto status = std::make_shared<absl::Status>();
      ledger->batch->Add(reporter, event, WallMs(), &outcome, status);
      return [&answered] { answered.set_value(); };
    });
    answered.get_future().wait();
    // Touched only in the timed loop, which starts after thread 0's setup
    // and ends for every thread before thread 0 goes on (both at a barrier).
    latency[state.thread_index()].push_back(NowNs() - start);
    ++done;
  }
  state.SetItemsProcessed(done);
  if (state.thread_index() == 0) {
    std::vector<int64_t> all;
    for (const auto& l : latency) all.insert(all.end(), l.begin(), l.end());
    ReportLatency(state, all);
    ledger->queue->Stop();
    ledger.reset();
    std::filesystem::remove_all(dir);
  }
}
BENCHMARK(BM_ReportThroughWorkQueue)->Threads(1)->Threads(16)->Threads(64)->UseRealTime();

}  // namespace
}  // namespace attex

BENCHMARK_MAIN();
