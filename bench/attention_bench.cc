// The attention core against the memory-bandwidth bound, measured in the same
// run. main() first times streaming sums over a buffer far larger than the
// last-level cache (the read bandwidth one core gets, best of 3 sweeps), and
// every benchmark times them again after its own loop; each kernel reports,
// against the best bandwidth seen so far, besides its time:
//   GBps           bytes that one pass must read / time,
//   bound_fraction bytes that must be read / measured bandwidth / time,
// where the bytes that must be read are the keys in their storage format (with
// the head bias, 4 B per ad and head, where the tiles carry one) plus the
// values (4 B/ad) and the eligibility mask (2 B/ad).
// Times are this thread's CPU time (the machines are shared).
// Run pinned, e.g.: taskset -c 1 attention_bench --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true
// The two-core rows (mode 2) need two cores: taskset -c 0,1 ... --benchmark_filter='.*/2/[12]/'
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "Eigen/Core"
#include "absl/strings/str_cat.h"
#include "attention/ann.h"
#include "attention/fused.h"
#include "attention/model.h"
#include "attention/pass_workers.h"
#include "attention/scorer.h"
#include "attention/simd.h"
#include "attention/tiled_keys.h"
#include "benchmark/benchmark.h"

namespace attex::attention {
namespace {

double g_bandwidth = 0.0;                         // Bytes a second, measured by main().
constexpr size_t kStreamBytes = size_t{1} << 30;  // 1 GiB >> any L3.

using V = float __attribute__((vector_size(64)));

// Times the loop itself in this thread's CPU time, so that the counters are
// plain ratios and a shared machine's descheduling does not count (the
// bandwidth sweeps are timed the same way).
class Timer {
 public:
  // Thread CPU time; `wall`: elapsed time (for passes that use other
  // threads too).
  explicit Timer(bool wall = false) : clock_(wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID) {
    start_ = Now();
  }
  double Seconds() const { return Now() - start_; }

 private:
  double Now() const {
    timespec ts;
    clock_gettime(clock_, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
  }
  clockid_t clock_;
  double start_;
};

// One streaming sum over the buffer; returns the sum so it is not elided.
float StreamSum(const float* data, size_t floats) {
  V acc[4] = {};
  for (size_t i = 0; i + 64 <= floats; i += 64) {
    for (int k = 0; k < 4; ++k) {
      V v;
      std::memcpy(&v, data + i + 16 * k, sizeof(v));
      acc[k] += v;
    }
  }
  const V total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  float s = 0.0f;
  for (int l = 0; l < 16; ++l) s += total[l];
  return s;
}

const float* StreamBuffer() {
  static float* buffer = [] {
    auto* p = static_cast<float*>(std::aligned_alloc(64, kStreamBytes));
    for (size_t i = 0; i < kStreamBytes / 4; ++i) p[i] = static_cast<float>(i & 7);
    return p;
  }();
  return buffer;
}

// The best of `sweeps` streaming sums over 1 GiB: the read bandwidth one
// core reaches now. The host's memory is shared, and what one core gets
// drifts by a third over minutes, so each benchmark measures it again right
// after its own loop (SetCounters) and is judged against that.
double MeasureBandwidth(int sweeps = 3) {
  const float* buffer = StreamBuffer();
  double best = 0.0;
  for (int sweep = 0; sweep < sweeps; ++sweep) {
    const Timer timer;
    benchmark::DoNotOptimize(StreamSum(buffer, kStreamBytes / 4));
    best = std::max(best, kStreamBytes / timer.Seconds());
  }
  return best;
}

void BM_ReadBandwidth(benchmark::State& state) {
  const float* buffer = StreamBuffer();
  const Timer timer;
  for (auto _ : state) benchmark::DoNotOptimize(StreamSum(buffer, kStreamBytes / 4));
  state.counters["GBps"] = kStreamBytes * state.iterations() / timer.Seconds() / 1e9;
}
BENCHMARK(BM_ReadBandwidth)->Unit(benchmark::kMillisecond)->UseRealTime();

// Random keys (N(0,1)), bids and queries, cached per shape across benchmarks.
struct Data {
  std::vector<float> keys;
  std::vector<float> values;
  std::vector<uint16_t> mask;
  std::vector<float> queries;  // 4 slots.
};

const Data& DataFor(int64_t n, int d) {
  static std::map<std::pair<int64_t, int>, std::unique_ptr<Data>> cache;
  auto& slot = cache[{n, d}];
  if (!slot) {
    // One large catalogue at a time keeps memory bounded.
    for (auto& [shape, data] : cache) {
      if (data && shape.first >= 1'000'000) data.reset();
    }
    slot = std::make_unique<Data>();
    std::mt19937 rng(static_cast<uint32_t>(n * 131 + d));
    std::normal_distribution<float> normal;
    std::uniform_real_distribution<float> bid(1e5f, 5e6f);
    slot->keys.resize(n * d);
    for (float& k : slot->keys) k = normal(rng);
    slot->values.resize(n);
    for (float& v : slot->values) v = bid(rng);
    slot->mask.assign(n, 0x000f);  // Every ad eligible for slots 0-3.
    slot->queries.resize(4 * d);
    for (float& q : slot->queries) q = 0.2f * normal(rng);
  }
  return *slot;
}

void SetCounters(benchmark::State& state, double bytes_per_pass, double seconds) {
  const double per_pass = seconds / state.iterations();
  const double bandwidth = std::max(g_bandwidth, MeasureBandwidth());
  state.counters["GBps"] = bytes_per_pass / per_pass / 1e9;
  state.counters["bound_fraction"] = bytes_per_pass / bandwidth / per_pass;
  state.counters["bandwidth_GBps"] = bandwidth / 1e9;
}

// The fused pass for a request of 1 or 4 slots and its slots' top
// candidates (8 a slot, as the auction draws them): args N, d, slots, key
// format, ISA, mode, formats (the request's slots ask for 1 or 2 creative
// formats; with 2, half the ads are of each and half the slots ask each).
//  Mode 0, the previous approach (measured in the same run): each slot its
//   own query and pass slot, no bias (slots x heads dot products and exps
//   per ad), and its own scan for its top 8; ads of the two formats
//   interleaved, as the previous catalogue laid them out.
//  Mode 1, this release's, as the auction runs such a request: one query
//   per request and every ad's head bias in the tiles (one dot product and
//   one exp per ad and head), one pass slot per format (SlotClasses), ads
//   grouped by format, and one scan per format for its slots' candidates
//   (8 x (slots + 1), ClassCandidates).
//  Mode 2: mode 1 with the pass split across two cores (wall time).
void BM_Fused(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int d = static_cast<int>(state.range(1));
  const int slots = static_cast<int>(state.range(2));
  const auto format = static_cast<KeyFormat>(state.range(3));
  const auto isa = static_cast<Isa>(state.range(4));
  const int mode = static_cast<int>(state.range(5));
  const int formats = static_cast<int>(state.range(6));
  const bool shared = mode != 0;
  const bool two_cores = mode == 2;
  static PassWorkers workers(1);
  if (!IsaSupported(isa)) {
    state.SkipWithError("ISA not supported");
    return;
  }
  const Data& data = DataFor(n, d);
  std::vector<float> bias;
  if (shared) {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal;
    bias.resize(n * 4);
    for (float& b : bias) b = 0.1f * normal(rng);
  }
  // Which pass slots each ad is eligible for, and each pass slot's scans:
  // (pass slot, candidates).
  std::vector<uint16_t> mask(n);
  std::vector<std::pair<int, int>> scans;
  const int per_format = slots / formats;
  for (int64_t i = 0; i < n; ++i) {
    const int f = formats == 1 ? 0 : (shared ? (i < n / 2 ? 0 : 1) : static_cast<int>(i % 2));
    mask[i] = shared ? static_cast<uint16_t>(1u << f)
                     : static_cast<uint16_t>(((1u << per_format) - 1) << (f * per_format));
  }
  if (shared) {
    for (int f = 0; f < formats; ++f) {
      scans.emplace_back(f, per_format > 1 ? 8 * (per_format + 1) : 8);
    }
  } else {
    for (int s = 0; s < slots; ++s) scans.emplace_back(s, 8);
  }
  const TiledKeys keys(data.keys, n, d, 4, format, bias);
  AttentionPass pass;
  if (two_cores) pass.set_workers(&workers, 0);
  std::vector<Candidate> top(8 * (kMaxPassSlots + 1));
  const int one_request[] = {formats};
  auto run = [&] {
    if (shared) {
      pass.Run(keys, data.values, mask, absl::MakeConstSpan(data.queries.data(), d), one_request,
               isa);
    } else {
      pass.Run(keys, data.values, mask, absl::MakeConstSpan(data.queries.data(), slots * d), slots,
               isa);
    }
    for (const auto& [slot, k] : scans) {
      benchmark::DoNotOptimize(pass.TopK(slot, absl::MakeSpan(top.data(), k)));
    }
  };
  run();  // Warm: buffers grown.
  const Timer timer(two_cores);
  for (auto _ : state) {
    run();
    benchmark::ClobberMemory();
  }
  state.SetLabel(
      std::string(KeyFormatName(format)) + "/" + std::string(IsaName(isa)) + "/" +
      std::to_string(slots) + (slots == 1 ? " slot" : " slots") +
      (formats == 2 ? ", 2 formats" : "") +
      (two_cores ? "/one-query/two-cores(wall)" : (shared ? "/one-query" : "/per-slot(previous)")));
  SetCounters(state, static_cast<double>(keys.KeyBytes(n)) + 6.0 * n, timer.Seconds());
}

void FusedArgs(benchmark::internal::Benchmark* b) {
  const int best = static_cast<int>(BestIsa());
  // {slots, formats}: one slot; four of one format; four of two.
  const int requests[][2] = {{1, 1}, {4, 1}, {4, 2}};
  for (int64_t n : {10'000, 100'000, 1'000'000}) {
    for (int d : {64, 128}) {
      for (const auto& [slots, formats] : requests) {
        for (int format : {0, 1, 2}) {
          if (d == 64) b->Args({n, d, slots, format, best, 0, formats});
          b->Args({n, d, slots, format, best, 1, formats});
        }
      }
    }
  }
  // The pass split across two cores, at the headline shape.
  for (const auto& [slots, formats] : requests) {
    for (int format : {0, 2}) b->Args({1'000'000, 64, slots, format, best, 2, formats});
  }
  // The other SIMD paths at the headline shape.
  for (int isa = 0; isa < best; ++isa) b->Args({1'000'000, 64, 4, 0, isa, 1, 1});
}
BENCHMARK(BM_Fused)->Apply(FusedArgs)->Unit(benchmark::kMillisecond)->UseRealTime();

// References at the headline shape: the seed's two-pass ScoreSlot (one slot)
// and a plain Eigen matrix-vector product (scores only, one slot).
void BM_TwoPassScoreSlot(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int d = 64;
  const Data& data = DataFor(n, d);
  std::vector<uint8_t> mask(n, 1);
  std::vector<float> weights(n);
  std::vector<double> log_norm(4);
  const KeyView view{data.keys.data(), n, d, 4};
  const Timer timer;
  for (auto _ : state) {
    SlotScores out{absl::MakeSpan(weights), absl::MakeSpan(log_norm)};
    ScoreSlot(view, data.values, mask, absl::MakeConstSpan(data.queries.data(), d), &out);
    benchmark::DoNotOptimize(out.context);
  }
  SetCounters(state, 4.0 * d * n + 5.0 * n, timer.Seconds());
}
BENCHMARK(BM_TwoPassScoreSlot)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_EigenGemv(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int d = 64;
  const Data& data = DataFor(n, d);
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMajor> keys(data.keys.data(), n, d);
  Eigen::Map<const Eigen::VectorXf> q(data.queries.data(), d);
  Eigen::VectorXf scores(n);
  const Timer timer;
  for (auto _ : state) {
    scores.noalias() = keys * q;
    benchmark::DoNotOptimize(scores.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, 4.0 * d * n, timer.Seconds());
}
BENCHMARK(BM_EigenGemv)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();

// ANN retrieval on the default model's keys of a synthetic catalogue (ads
// described by keywords, interests and advertisers): time of one search for
// C candidates, and recall@10 = the share of the exact attention top 10
// (fused pass, every value 1) among them. Args: N, C.
struct AnnData {
  std::vector<float> keys;
  std::unique_ptr<AnnIndex> index;
  std::vector<float> queries;  // kAnnQueries x d.
  std::vector<std::vector<int64_t>> exact_top10;
};
constexpr int kAnnQueries = 50;

const AnnData& AnnDataFor(int64_t n) {
  static std::map<int64_t, std::unique_ptr<AnnData>> cache;
  auto& data = cache[n];
  if (data) return *data;
  data = std::make_unique<AnnData>();
  const auto model = Model::Default();
  const int d = model->d_model();
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> word(0, 4999), interest(0, 299), advertiser(0, 999);
  data->keys.resize(n * d);
  for (int64_t i = 0; i < n; ++i) {
    const std::string t[] = {absl::StrCat("kw:w", word(rng)), absl::StrCat("kw:w", word(rng)),
                             absl::StrCat("interest:i", interest(rng)),
                             absl::StrCat("advertiser:a", advertiser(rng))};
    const std::string_view v[] = {t[0], t[1], t[2], t[3]};
    model->AdKey(v, {}, absl::MakeSpan(data->keys.data() + i * d, d));
  }
  data->index = *AnnIndex::Build(data->keys, n, d);
  const TiledKeys tiled(data->keys, n, d, model->heads());
  const std::vector<float> values(n, 1.0f);
  const std::vector<uint16_t> mask(n, 1);
  AttentionPass pass;
  std::vector<float> u(d);
  data->queries.resize(kAnnQueries * d);
  for (int k = 0; k < kAnnQueries; ++k) {
    const std::string f[] = {absl::StrCat("interest:i", interest(rng)),
                             absl::StrCat("kw:w", word(rng))};
    const std::string_view v[] = {f[0], f[1]};
    model->ContextVector({v, {}, {}}, absl::MakeSpan(u));
    float* q = data->queries.data() + k * d;
    model->SlotQuery(u, "banner", absl::MakeSpan(q, d));
    pass.Run(tiled, values, mask, absl::MakeConstSpan(q, d), 1);
    std::vector<Candidate> top(10);
    top.resize(pass.TopK(0, absl::MakeSpan(top)));
    data->exact_top10.emplace_back();
    for (const Candidate& c : top) data->exact_top10.back().push_back(c.row);
  }
  return *data;
}

void BM_AnnSearch(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int c = static_cast<int>(state.range(1));
  const AnnData& data = AnnDataFor(n);
  const int d = static_cast<int>(data.queries.size() / kAnnQueries);
  std::vector<int64_t> found(c);
  int k = 0, hits = 0, total = 0;
  for (auto _ : state) {
    const float* q = data.queries.data() + (k % kAnnQueries) * d;
    const int got = data.index->Search(absl::MakeConstSpan(q, d), absl::MakeSpan(found));
    state.PauseTiming();
    for (int64_t row : data.exact_top10[k % kAnnQueries]) {
      hits += std::find(found.begin(), found.begin() + got, row) != found.begin() + got;
      ++total;
    }
    ++k;
    state.ResumeTiming();
  }
  state.counters["recall_at_10"] = total > 0 ? static_cast<double>(hits) / total : 0.0;
}
BENCHMARK(BM_AnnSearch)
    ->Args({100'000, 200})
    ->Args({100'000, 1000})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace attex::attention

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  attex::attention::g_bandwidth = attex::attention::MeasureBandwidth();
  std::printf(
      "measured read bandwidth: %.2f GB/s (best of 3 sweeps over 1 GiB; measured again after each "
      "benchmark); ISA %s\n",
      attex::attention::g_bandwidth / 1e9,
      std::string(attex::attention::IsaName(attex::attention::BestIsa())).c_str());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
