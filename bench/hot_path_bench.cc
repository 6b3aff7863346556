// The whole bid hot path on one thread: embed (context vector, slot queries),
// eligibility (campaigns, then per-ad formats and categories), one fused
// attention pass for all slots, ranking, allocation and pricing, i.e.
// auction::RunAuction without explanation. Args: ads, creatives per campaign.
// Run pinned, e.g.: taskset -c 1 hot_path_bench --benchmark_repetitions=5
// BM_AnnHotPath: the same with candidates from an ANN index against the
// exact scan of the same catalogue, with recall@10 (building the index of
// 1e6 ads takes minutes on one core; --benchmark_filter=ads:100000 skips it).
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "attention/model.h"
#include "auction/auction.h"
#include "auction/budget.h"
#include "auction/catalog.h"
#include "benchmark/benchmark.h"

namespace attex::auction {
namespace {

constexpr int64_t kNowMs = 1'790'000'000'000;

std::shared_ptr<const Catalog> SyntheticCatalog(int64_t ads, int per_campaign,
                                                attention::KeyFormat format) {
  static const std::shared_ptr<const attention::Model> model = attention::Model::Default();
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> word(0, 999), interest(0, 99), category(0, 19), formats(0, 2),
      bid(200, 5000);
  static const char* kFormats[] = {"banner", "video", "native"};
  std::vector<std::shared_ptr<const CompiledCampaign>> compiled;
  for (int64_t c = 0; c * per_campaign < ads; ++c) {
    attex::v1::Campaign campaign;
    campaign.set_id(absl::StrCat("c", c));
    campaign.set_advertiser_id(absl::StrCat("adv", c % 500));
    campaign.set_status(attex::v1::CAMPAIGN_STATUS_ACTIVE);
    campaign.set_bid_cpm_micros(1000 * bid(rng));
    campaign.mutable_budget()->set_total_micros(int64_t{1} << 50);
    if (c % 4 == 0) campaign.mutable_targeting()->add_countries("US");
    for (int k = 0; k < per_campaign && c * per_campaign + k < ads; ++k) {
      auto* cr = campaign.add_creatives();
      cr->set_id(absl::StrCat("c", c, "-", k));
      cr->set_format(kFormats[formats(rng)]);
      cr->set_category(absl::StrCat("cat", category(rng)));
      cr->add_features(absl::StrCat("kw:w", word(rng)));
      cr->add_features(absl::StrCat("interest:i", interest(rng)));
    }
    compiled.push_back(CompileCampaign(campaign, *model, std::make_shared<BudgetState>()));
  }
  return BuildCatalog(model, std::move(compiled), format);
}

// `variant` > 0 changes the user (a shared pass gathers different users).
attex::v1::BidRequest Request(int slots = 4, int variant = 0) {
  attex::v1::BidRequest req;
  req.set_request_id(absl::StrCat("bench-", variant));
  for (const char* f : {"interest:i3", "interest:i42", "kw:w17", "kw:w512"}) {
    req.mutable_user()->add_features(f);
  }
  if (variant > 0) {
    req.mutable_user()->add_features(absl::StrCat("interest:i", variant % 100));
    req.mutable_user()->add_features(absl::StrCat("kw:w", (37 * variant) % 1000));
  }
  for (const char* r : {"kw:w1", "kw:w2", "kw:w3"}) req.mutable_user()->add_recent(r);
  req.mutable_context()->set_country("US");
  req.mutable_context()->set_device_type("mobile");
  req.mutable_context()->add_features("site:news");
  const char* formats[] = {"banner", "banner", "video", "native"};
  for (int s = 0; s < slots; ++s) {
    auto* slot = req.add_slots();
    slot->set_id(absl::StrCat("s", s));
    slot->set_format(formats[s]);
    slot->set_position(s);
  }
  req.add_blocked_categories("cat7");
  return req;
}

// Built once per shape across repetitions; one large catalogue at a time.
std::shared_ptr<const Catalog> CachedCatalog(int64_t ads, int per_campaign,
                                             attention::KeyFormat format) {
  static std::map<std::tuple<int64_t, int, int>, std::shared_ptr<const Catalog>> cache;
  auto& cached = cache[{ads, per_campaign, static_cast<int>(format)}];
  if (!cached) {
    for (auto& [key, catalog] : cache) catalog.reset();
    cached = SyntheticCatalog(ads, per_campaign, format);
  }
  return cached;
}

void BM_HotPath(benchmark::State& state) {
  const int64_t ads = state.range(0);
  const int per_campaign = static_cast<int>(state.range(1));
  const auto format = static_cast<attention::KeyFormat>(state.range(2));
  const auto catalog = CachedCatalog(ads, per_campaign, format);
  const attex::v1::BidRequest req = Request();
  const AuctionConfig config;
  AuctionResult result;
  RunAuction(*catalog, config, req, kNowMs, absl::InfiniteFuture(), &result, nullptr);
  for (auto _ : state) {
    RunAuction(*catalog, config, req, kNowMs, absl::InfiniteFuture(), &result, nullptr);
    benchmark::DoNotOptimize(result.slots.data());
  }
  state.counters["placed"] = static_cast<double>(result.slots.size());
  state.counters["campaigns"] = static_cast<double>(catalog->campaigns.size());
  state.SetItemsProcessed(state.iterations() * ads);
  state.SetLabel(std::string(attention::KeyFormatName(format)));
}
BENCHMARK(BM_HotPath)
    ->Args({10'000, 100, 0})
    ->Args({10'000, 1, 0})
    ->Args({10'000, 4, 0})
    ->Args({1'000'000, 100, 0})
    ->Args({1'000'000, 1, 0})
    ->Args({1'000'000, 100, 1})
    ->Args({1'000'000, 100, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Shared passes: `requests` different requests of `slots` slots each, run
// one after another (RunAuction each: the reference, timed in the same
// iteration) and gathered into shared passes (RunAuctions). Reports both
// per batch and gain = alone / shared; the iteration time is the shared one.
void BM_SharedPass(benchmark::State& state) {
  const int64_t ads = state.range(0);
  const int requests = static_cast<int>(state.range(1));
  const int slots = static_cast<int>(state.range(2));
  const auto catalog = CachedCatalog(ads, 100, attention::KeyFormat::kFloat32);
  const AuctionConfig config;
  std::vector<attex::v1::BidRequest> reqs;
  for (int i = 0; i < requests; ++i) reqs.push_back(Request(slots, i + 1));
  std::vector<AuctionResult> results(requests);
  std::vector<AuctionJob> jobs;
  for (int i = 0; i < requests; ++i) {
    jobs.push_back({&reqs[i], kNowMs, absl::InfiniteFuture(), &results[i]});
  }
  RunAuctions(*catalog, config, jobs);  // Warm: buffers grown.
  double alone_s = 0.0, shared_s = 0.0;
  for (auto _ : state) {
    const absl::Time t0 = absl::Now();
    for (int i = 0; i < requests; ++i) {
      RunAuction(*catalog, config, reqs[i], kNowMs, absl::InfiniteFuture(), &results[i], nullptr);
    }
    const absl::Time t1 = absl::Now();
    RunAuctions(*catalog, config, jobs);
    const absl::Time t2 = absl::Now();
    benchmark::DoNotOptimize(results.data());
    alone_s += absl::ToDoubleSeconds(t1 - t0);
    shared_s += absl::ToDoubleSeconds(t2 - t1);
    state.SetIterationTime(absl::ToDoubleSeconds(t2 - t1));
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["alone_ms"] = 1e3 * alone_s / n;
  state.counters["shared_ms"] = 1e3 * shared_s / n;
  state.counters["gain"] = alone_s / shared_s;
  state.counters["requests_per_s"] = requests * n / shared_s;
}
BENCHMARK(BM_SharedPass)
    ->Args({1'000'000, 4, 1})
    ->Args({1'000'000, 16, 1})
    ->Args({1'000'000, 4, 4})
    ->Args({10'000, 16, 1})
    ->Args({10'000, 4, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

// A catalogue for retrieval: campaigns of 10 creatives whose keys come from
// a wide vocabulary (50,000 keywords, 1,000 interests), so that few ads are
// alike and the exact top 10 is well defined; bids 0.2 to 5 CPM. With its
// ANN index (BuildAnnIndex, default AnnOptions), built once and timed.
struct AnnFixture {
  std::shared_ptr<const Catalog> catalog;
  double build_s = 0;
};

std::shared_ptr<const Catalog> RetrievalCatalog(int64_t ads) {
  static const std::shared_ptr<const attention::Model> model = attention::Model::Default();
  std::mt19937 rng(17);
  std::uniform_int_distribution<int> word(0, 49'999), interest(0, 999), category(0, 19),
      formats(0, 2), bid(200, 5000);
  static const char* kFormats[] = {"banner", "video", "native"};
  std::vector<std::shared_ptr<const CompiledCampaign>> compiled;
  for (int64_t c = 0; c * 10 < ads; ++c) {
    attex::v1::Campaign campaign;
    campaign.set_id(absl::StrCat("c", c));
    campaign.set_advertiser_id(absl::StrCat("adv", c % 5000));
    campaign.set_status(attex::v1::CAMPAIGN_STATUS_ACTIVE);
    campaign.set_bid_cpm_micros(1000 * bid(rng));
    campaign.mutable_budget()->set_total_micros(int64_t{1} << 50);
    for (int k = 0; k < 10 && c * 10 + k < ads; ++k) {
      auto* cr = campaign.add_creatives();
      cr->set_id(absl::StrCat("c", c, "-", k));
      cr->set_format(kFormats[formats(rng)]);
      cr->set_category(absl::StrCat("cat", category(rng)));
      cr->add_features(absl::StrCat("kw:w", word(rng)));
      cr->add_features(absl::StrCat("kw:w", word(rng)));
      cr->add_features(absl::StrCat("interest:i", interest(rng)));
    }
    compiled.push_back(CompileCampaign(campaign, *model, std::make_shared<BudgetState>()));
  }
  return BuildCatalog(model, std::move(compiled));
}

// Requests of 4 slots (banner, banner, video, native) from users of two
// interests and two keywords each.
std::vector<attex::v1::BidRequest> RetrievalRequests(int n) {
  std::vector<attex::v1::BidRequest> requests;
  std::mt19937 rng(23);
  std::uniform_int_distribution<int> word(0, 49'999), interest(0, 999);
  for (int i = 0; i < n; ++i) {
    attex::v1::BidRequest req = Request();
    req.mutable_user()->clear_features();
    req.mutable_user()->clear_recent();
    req.mutable_user()->add_features(absl::StrCat("interest:i", interest(rng)));
    req.mutable_user()->add_features(absl::StrCat("interest:i", interest(rng)));
    req.mutable_user()->add_features(absl::StrCat("kw:w", word(rng)));
    req.mutable_user()->add_features(absl::StrCat("kw:w", word(rng)));
    req.clear_blocked_categories();
    requests.push_back(std::move(req));
  }
  return requests;
}

// Per slot, the top 10 by weight x bid as the explanation lists them.
std::vector<std::set<int64_t>> TopTen(const Catalog& catalog, const AuctionConfig& base,
                                      const attex::v1::BidRequest& req) {
  AuctionConfig config = base;
  config.explain_top = 10;
  AuctionResult result;
  attex::v1::Explanation ex;
  RunAuction(catalog, config, req, kNowMs, absl::InfiniteFuture(), &result, &ex);
  std::vector<std::set<int64_t>> top;
  for (const auto& slot : ex.slots()) {
    top.emplace_back();
    for (const auto& c : slot.candidates()) {
      // Campaign "cN", creative "cN-k": row 10 N + k.
      const auto dash = c.creative_id().find('-');
      top.back().insert(std::stoll(c.creative_id().substr(1, dash - 1)) * 10 +
                        std::stoll(c.creative_id().substr(dash + 1)));
    }
  }
  return top;
}

void BM_AnnHotPath(benchmark::State& state) {
  const int64_t ads = state.range(0);
  const int ann_candidates = static_cast<int>(state.range(1));
  // One catalogue and index per size across arguments and repetitions.
  static std::map<int64_t, AnnFixture> cache;
  auto& fixture = cache[ads];
  if (!fixture.catalog) {
    for (auto& [size, f] : cache) f.catalog.reset();
    fixture.catalog = RetrievalCatalog(ads);
    const absl::Time start = absl::Now();
    auto index = BuildAnnIndex(*fixture.catalog);
    if (!index.ok()) {
      state.SkipWithError(std::string(index.status().message()).c_str());
      return;
    }
    fixture.build_s = absl::ToDoubleSeconds(absl::Now() - start);
    fixture.catalog->ann.Set(*std::move(index));
  }
  const Catalog& catalog = *fixture.catalog;
  const auto requests = RetrievalRequests(16);
  AuctionConfig config;
  config.ann_candidates = ann_candidates;  // 0: the exact scan.

  // recall@10 against the exact scan, outside the timing.
  int found = 0, total = 0;
  if (ann_candidates > 0) {
    AuctionConfig exact = config;
    exact.ann_candidates = 0;
    for (const auto& req : requests) {
      const auto want = TopTen(catalog, exact, req);
      const auto got = TopTen(catalog, config, req);
      for (size_t s = 0; s < want.size() && s < got.size(); ++s) {
        for (int64_t row : want[s]) found += static_cast<int>(got[s].count(row));
        total += static_cast<int>(want[s].size());
      }
    }
  }

  AuctionResult result;
  int64_t candidates = 0, placed = 0;
  for (const auto& req : requests) {
    RunAuction(catalog, config, req, kNowMs, absl::InfiniteFuture(), &result, nullptr);
  }
  size_t i = 0;
  for (auto _ : state) {
    RunAuction(catalog, config, requests[i], kNowMs, absl::InfiniteFuture(), &result, nullptr);
    candidates += result.ann_candidates;
    placed += static_cast<int64_t>(result.slots.size());
    i = (i + 1) % requests.size();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["candidates"] = static_cast<double>(candidates) / n;
  state.counters["placed"] = static_cast<double>(placed) / n;
  if (total > 0) state.counters["recall10"] = static_cast<double>(found) / total;
  state.counters["build_s"] = fixture.build_s;
  state.SetLabel(ann_candidates > 0 ? absl::StrCat("ann ", ann_candidates) : "exact");
}
BENCHMARK(BM_AnnHotPath)
    ->ArgNames({"ads", "ann"})
    ->Args({100'000, 0})
    ->Args({100'000, 200})
    ->Args({100'000, 1000})
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace attex::auction

BENCHMARK_MAIN();
