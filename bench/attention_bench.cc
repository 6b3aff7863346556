// ScoreSlot throughput: one slot query against N ads' keys, d_model 64,
// 4 heads, every ad eligible. Reports ads scored per second.
#include <cstdint>
#include <random>
#include <vector>

#include "attention/scorer.h"
#include "benchmark/benchmark.h"

namespace attex::attention {
namespace {

void BM_ScoreSlot(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int d = 64;
  const int heads = 4;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> keys(n * d);
  for (float& k : keys) k = normal(rng);
  std::vector<float> query(d);
  for (float& x : query) x = normal(rng);
  std::vector<float> values(n, 1.0f);
  std::vector<uint8_t> mask(n, 1);
  std::vector<float> weights(n);
  std::vector<double> log_norm(heads);
  const KeyView view{keys.data(), n, d, heads};
  for (auto _ : state) {
    SlotScores out{absl::MakeSpan(weights), absl::MakeSpan(log_norm)};
    ScoreSlot(view, values, mask, query, &out);
    benchmark::DoNotOptimize(out.context);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * d * static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_ScoreSlot)->Arg(10'000)->Arg(100'000);

}  // namespace
}  // namespace attex::attention

BENCHMARK_MAIN();
