// The fused pass on every SIMD path this CPU runs (the others are skipped),
// against a textbook double-precision softmax(Q K^T / sqrt(d_head)) V.
#include "attention/fused.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace attex::attention {
namespace {

struct Problem {
  int64_t rows;
  int d_model;
  int heads;
  int slots;
  std::vector<float> keys;
  std::vector<float> values;
  std::vector<uint16_t> mask;
  std::vector<float> queries;      // One per request.
  std::vector<int> request_slots;  // Empty: each slot its own request.
  std::vector<float> bias;         // Empty, or rows x heads head biases.

  int Request(int slot) const {
    if (request_slots.empty()) return slot;
    for (int r = 0, first = 0; r < static_cast<int>(request_slots.size()); ++r) {
      first += request_slots[r];
      if (slot < first) return r;
    }
    return -1;
  }
};

Problem RandomProblem(int64_t rows, int d_model, int heads, int slots, double eligible_fraction,
                      float key_scale = 1.0f, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> bid(0.1f, 5.0f);
  std::bernoulli_distribution eligible(eligible_fraction);
  Problem p{rows, d_model, heads, slots, {}, {}, {}, {}, {}, {}};
  p.keys.resize(rows * d_model);
  for (float& k : p.keys) k = key_scale * normal(rng);
  for (int64_t i = 0; i < rows; ++i) {
    p.values.push_back(bid(rng));
    uint16_t bits = 0;
    for (int s = 0; s < slots; ++s) bits |= eligible(rng) ? (1u << s) : 0u;
    p.mask.push_back(bits);
  }
  for (int j = 0; j < slots * d_model; ++j) p.queries.push_back(normal(rng));
  return p;
}

// The problem's slots grouped into requests of `request_slots` slots (which
// sum to its slots), one query each, and a head bias per ad and head.
Problem WithRequests(Problem p, std::vector<int> request_slots, float bias_scale,
                     uint32_t seed = 99) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  p.request_slots = std::move(request_slots);
  p.queries.resize(p.request_slots.size() * p.d_model);
  p.bias.resize(p.rows * p.heads);
  for (float& b : p.bias) b = bias_scale * normal(rng);
  return p;
}

struct Reference {
  std::vector<double> weights;
  std::vector<double> log_normalisers;
  double context = 0.0;
  int64_t eligible = 0;
};

// Explicit scores, an explicit softmax per head, the mean over heads.
Reference ReferenceScore(const Problem& p, const std::vector<float>& keys, int slot) {
  const int dh = p.d_model / p.heads;
  const float* q = p.queries.data() + p.Request(slot) * p.d_model;
  Reference ref;
  ref.weights.assign(p.rows, 0.0);
  auto ok = [&](int64_t i) { return (p.mask[i] >> slot) & 1; };
  for (int64_t i = 0; i < p.rows; ++i) ref.eligible += ok(i);
  for (int h = 0; h < p.heads; ++h) {
    std::vector<double> scores(p.rows);
    double max = -std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < p.rows; ++i) {
      if (!ok(i)) continue;
      double s = 0.0;
      for (int j = h * dh; j < (h + 1) * dh; ++j) s += double{keys[i * p.d_model + j]} * q[j];
      scores[i] = s / std::sqrt(static_cast<double>(dh));
      if (!p.bias.empty()) scores[i] += p.bias[i * p.heads + h];
      max = std::max(max, scores[i]);
    }
    double sum = 0.0;
    for (int64_t i = 0; i < p.rows; ++i) {
      if (ok(i)) sum += std::exp(scores[i] - max);
    }
    ref.log_normalisers.push_back(max + std::log(sum));
    for (int64_t i = 0; i < p.rows; ++i) {
      if (ok(i)) ref.weights[i] += std::exp(scores[i] - max) / sum / p.heads;
    }
  }
  for (int64_t i = 0; i < p.rows; ++i) ref.context += ref.weights[i] * p.values[i];
  return ref;
}

// The keys as a TiledKeys of `format` stores them.
std::vector<float> Dequantised(const TiledKeys& tiled) {
  std::vector<float> keys(tiled.rows() * tiled.d_model());
  for (int64_t i = 0; i < tiled.rows(); ++i) {
    tiled.Row(i, absl::MakeSpan(keys.data() + i * tiled.d_model(), tiled.d_model()));
  }
  return keys;
}

void ExpectPassMatches(const Problem& p, const std::vector<float>& keys, const AttentionPass& pass,
                       double tolerance);

// Both ways of summing: relative to fixed score bounds where they apply
// (the default), and relative to a running max per lane (forced). Returns
// whether the default took the fixed bounds.
bool ExpectMatchesReference(const Problem& p, Isa isa, KeyFormat format = KeyFormat::kFloat32,
                            double tolerance = 1e-5, PassWorkers* workers = nullptr) {
  const TiledKeys tiled(p.keys, p.rows, p.d_model, p.heads, format, p.bias);
  const std::vector<float> keys = Dequantised(tiled);
  // The reference scores with the queries as the pass does (int8 keys: in
  // int16).
  Problem effective = p;
  for (size_t r = 0; r * p.d_model < p.queries.size(); ++r) {
    EffectiveQuery(tiled, absl::MakeSpan(effective.queries.data() + r * p.d_model, p.d_model));
  }
  bool fixed = false;
  for (bool online_only : {false, true}) {
    SCOPED_TRACE(online_only ? "running max" : "default");
    AttentionPass pass;
    pass.set_online_max_only(online_only);
    pass.set_workers(workers, 0);
    if (p.request_slots.empty()) {
      pass.Run(tiled, p.values, p.mask, p.queries, p.slots, isa);
    } else {
      pass.Run(tiled, p.values, p.mask, p.queries, p.request_slots, isa);
    }
    EXPECT_EQ(pass.isa(), isa);
    // A split pass's parts take blocks of tiles in turn: at most one a block.
    const int64_t blocks =
        (tiled.tiles() + AttentionPass::kPartBlockTiles - 1) / AttentionPass::kPartBlockTiles;
    EXPECT_EQ(
        pass.parts(),
        workers != nullptr
            ? std::min<int64_t>(AttentionPass::kPartsPerThread * workers->concurrency(), blocks)
            : 1);
    if (online_only) {
      EXPECT_FALSE(pass.fixed_offsets());
    }
    if (!online_only) fixed = pass.fixed_offsets();
    ExpectPassMatches(effective, keys, pass, tolerance);
  }
  return fixed;
}

void ExpectPassMatches(const Problem& p, const std::vector<float>& keys, const AttentionPass& pass,
                       double tolerance) {
  for (int s = 0; s < p.slots; ++s) {
    const Reference ref = ReferenceScore(p, keys, s);
    ASSERT_EQ(pass.eligible(s), ref.eligible);
    for (int64_t i = 0; i < p.rows; ++i) {
      const double w = pass.Weight(s, i);
      if ((p.mask[i] >> s) & 1) {
        ASSERT_LE(std::abs(w - ref.weights[i]),
                  tolerance * ref.weights[i] + std::numeric_limits<float>::min())
            << "slot " << s << " row " << i;
      } else {
        ASSERT_EQ(w, 0.0) << "slot " << s << " row " << i;
      }
    }
    for (int h = 0; h < p.heads; ++h) {
      EXPECT_NEAR(pass.log_normalisers(s)[h], ref.log_normalisers[h],
                  tolerance * std::max(1.0, std::abs(ref.log_normalisers[h])));
    }
    EXPECT_LE(std::abs(pass.context(s) - ref.context), tolerance * std::abs(ref.context));
  }
}

class FusedPassTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!IsaSupported(GetParam())) {
      GTEST_SKIP() << IsaName(GetParam()) << " is not supported by this CPU or build";
    }
  }
  Isa isa() const { return GetParam(); }
};

TEST_P(FusedPassTest, MatchesADoublePrecisionReference) {
  // Ordinary keys and queries take the fixed-bound path.
  EXPECT_TRUE(ExpectMatchesReference(RandomProblem(2000, 64, 4, 1, 0.7), isa()));
}

TEST_P(FusedPassTest, ScoresFourSlotsWithTheirOwnMasksInOnePass) {
  ExpectMatchesReference(RandomProblem(3001, 64, 4, 4, 0.6, 1.0f, 2), isa());
}

TEST_P(FusedPassTest, ARequestsSlotsShareItsQueryAndAddTheHeadBias) {
  // Three requests of 2, 1 and 3 slots, each slot with its own mask: one
  // query per request, scores with each ad's head bias added.
  EXPECT_TRUE(ExpectMatchesReference(
      WithRequests(RandomProblem(3001, 64, 4, 6, 0.6, 1.0f, 21), {2, 1, 3}, 0.5f), isa()));
  ExpectMatchesReference(WithRequests(RandomProblem(999, 64, 4, 16, 0.5, 1.0f, 22), {16}, 1.0f),
                         isa());
  ExpectMatchesReference(
      WithRequests(RandomProblem(700, 48, 8, 5, 0.7, 1.0f, 23), {1, 1, 1, 2}, 0.2f), isa());
  ExpectMatchesReference(WithRequests(RandomProblem(1500, 64, 4, 4, 0.7, 1.0f, 24), {3, 1}, 0.5f),
                         isa(), KeyFormat::kInt8);
}

TEST_P(FusedPassTest, HugeHeadBiasesTakeTheRunningMax) {
  EXPECT_FALSE(ExpectMatchesReference(
      WithRequests(RandomProblem(600, 64, 4, 3, 0.8, 1.0f, 25), {2, 1}, 60.0f), isa(),
      KeyFormat::kFloat32, 1e-4));
}

TEST_P(FusedPassTest, APassSplitAcrossWorkersMatchesTheReference) {
  PassWorkers workers(2);  // Three parts.
  ExpectMatchesReference(WithRequests(RandomProblem(5001, 64, 4, 4, 0.6, 1.0f, 26), {3, 1}, 0.5f),
                         isa(), KeyFormat::kFloat32, 1e-5, &workers);
  // Three blocks of tiles, the last short and ending in a partial tile.
  ExpectMatchesReference(RandomProblem(2100, 64, 4, 2, 0.9, 1.0f, 27), isa(), KeyFormat::kInt8,
                         1e-5, &workers);
  EXPECT_FALSE(ExpectMatchesReference(RandomProblem(3000, 64, 4, 2, 0.8, 100.0f, 28), isa(),
                                      KeyFormat::kFloat32, 1e-3, &workers));
  EXPECT_GT(workers.split(), 0);
}

TEST_P(FusedPassTest, BusyWorkersGiveTheSameNumbers) {
  // A pass that finds the workers busy runs the same parts itself.
  const Problem p = RandomProblem(4000, 64, 4, 2, 0.7, 1.0f, 29);
  const TiledKeys tiled(p.keys, p.rows, p.d_model, p.heads);
  PassWorkers workers(1);
  AttentionPass free_pass, busy_pass;
  free_pass.set_workers(&workers, 0);
  busy_pass.set_workers(&workers, 0);
  free_pass.Run(tiled, p.values, p.mask, p.queries, 2, isa());
  ASSERT_TRUE(
      workers.TryRun(1, [&](int) { busy_pass.Run(tiled, p.values, p.mask, p.queries, 2, isa()); }));
  EXPECT_EQ(workers.busy(), 1);
  for (int s = 0; s < 2; ++s) {
    EXPECT_EQ(free_pass.context(s), busy_pass.context(s));
    for (int64_t i = 0; i < p.rows; ++i) ASSERT_EQ(free_pass.Weight(s, i), busy_pass.Weight(s, i));
  }
}

TEST_P(FusedPassTest, MatchesTheReferenceForOtherShapes) {
  ExpectMatchesReference(RandomProblem(517, 64, 1, 2, 0.5, 1.0f, 3), isa());
  ExpectMatchesReference(RandomProblem(500, 48, 8, 1, 0.9, 1.0f, 4), isa());  // d_head 6.
  ExpectMatchesReference(RandomProblem(500, 36, 3, 3, 0.9, 1.0f, 5), isa());  // d_head 12.
  ExpectMatchesReference(RandomProblem(999, 128, 4, 16, 0.8, 1.0f, 6), isa());
  ExpectMatchesReference(RandomProblem(7, 64, 4, 1, 1.0, 1.0f, 7), isa());  // Under a tile.
}

TEST_P(FusedPassTest, Int8KeysMatchTheReferenceInEveryShape) {
  // The register-blocked shapes multiply int8 by the int16 query in pairs
  // of coordinates; the others, and odd widths (a padded last pair), go
  // through the general kernel.
  const int shapes[][2] = {{64, 4}, {128, 4}, {128, 8}, {64, 2}, {64, 1}, {48, 8}, {15, 3}, {7, 1}};
  uint32_t seed = 40;
  for (const auto& [d, heads] : shapes) {
    SCOPED_TRACE(absl::StrCat("d ", d, ", heads ", heads));
    ExpectMatchesReference(
        WithRequests(RandomProblem(301, d, heads, 3, 0.7, 1.0f, seed), {2, 1}, 0.3f, seed + 1),
        isa(), KeyFormat::kInt8);
    seed += 2;
  }
}

TEST_P(FusedPassTest, StaysFiniteAndExactForHugeScores) {
  // Scores in the hundreds overflow a naive exp(); float scores of that size
  // carry an absolute error near 1e-4, hence the looser tolerance.
  // Their bounds are too wide for fixed offsets: the running max serves.
  EXPECT_FALSE(ExpectMatchesReference(RandomProblem(300, 64, 4, 2, 0.8, 100.0f, 8), isa(),
                                      KeyFormat::kFloat32, 1e-3));
}

TEST_P(FusedPassTest, ManyTilesKeepTheSumsExact) {
  // Long runs test the float partial sums and their flush to doubles.
  ExpectMatchesReference(RandomProblem(60'000, 64, 4, 1, 0.9, 1.0f, 9), isa());
}

TEST_P(FusedPassTest, QuantisedKeysMatchTheReferenceOnTheirOwnKeys) {
  ExpectMatchesReference(RandomProblem(1500, 64, 4, 2, 0.7, 1.0f, 10), isa(), KeyFormat::kBfloat16);
  ExpectMatchesReference(RandomProblem(1500, 64, 4, 2, 0.7, 1.0f, 11), isa(), KeyFormat::kInt8);
}

TEST_P(FusedPassTest, MaskedAdsGetNoWeightAndDoNotChangeTheNormalisers) {
  Problem p = RandomProblem(400, 64, 4, 1, 0.5, 1.0f, 12);
  for (int64_t i = 32; i < 64; ++i) p.mask[i] = 0;  // Two whole tiles masked.
  const TiledKeys before_keys(p.keys, p.rows, p.d_model, p.heads);
  // Bit for bit with a running max; the fixed bounds would move with the
  // masked keys' norms (and, here, give way to the running max).
  AttentionPass before;
  before.set_online_max_only(true);
  before.Run(before_keys, p.values, p.mask, p.queries, 1, isa());
  // Masked ads with keys that would dominate everything if they counted.
  for (int64_t i = 0; i < p.rows; ++i) {
    if (p.mask[i]) continue;
    for (int j = 0; j < p.d_model; ++j) p.keys[i * p.d_model + j] = 50.0f * p.queries[j];
    p.values[i] = 1e6f;
  }
  const TiledKeys after_keys(p.keys, p.rows, p.d_model, p.heads);
  AttentionPass after;
  after.set_online_max_only(true);
  after.Run(after_keys, p.values, p.mask, p.queries, 1, isa());
  for (int h = 0; h < p.heads; ++h) {
    EXPECT_EQ(after.log_normalisers(0)[h], before.log_normalisers(0)[h]);
  }
  EXPECT_EQ(after.context(0), before.context(0));
  for (int64_t i = 0; i < p.rows; ++i) {
    EXPECT_EQ(after.Weight(0, i), before.Weight(0, i));
    if (!p.mask[i]) {
      EXPECT_EQ(after.Weight(0, i), 0.0f);
    }
  }
}

TEST_P(FusedPassTest, NoEligibleAdGivesNothing) {
  const Problem p = RandomProblem(50, 64, 4, 1, 0.0);
  const TiledKeys tiled(p.keys, p.rows, p.d_model, p.heads);
  AttentionPass pass;
  pass.Run(tiled, p.values, p.mask, p.queries, 1, isa());
  EXPECT_EQ(pass.eligible(0), 0);
  EXPECT_EQ(pass.context(0), 0.0);
  for (double l : pass.log_normalisers(0)) EXPECT_EQ(l, -std::numeric_limits<double>::infinity());
  std::vector<Candidate> top(5);
  EXPECT_EQ(pass.TopK(0, absl::MakeSpan(top)), 0);
}

TEST_P(FusedPassTest, TopKIsTheBestByWeightTimesValueBehindTheThreshold) {
  const Problem p = RandomProblem(20'000, 64, 4, 2, 0.7, 1.0f, 13);
  const TiledKeys tiled(p.keys, p.rows, p.d_model, p.heads);
  AttentionPass pass;
  pass.Run(tiled, p.values, p.mask, p.queries, 2, isa());
  for (int s = 0; s < 2; ++s) {
    // Brute force over every ad with the same weights.
    std::vector<Candidate> all;
    for (int64_t i = 0; i < p.rows; ++i) {
      if (!((p.mask[i] >> s) & 1) || i % 3 == 0) continue;  // keep() drops i % 3 == 0.
      const float w = pass.Weight(s, i);
      all.push_back({i, w, double{w} * p.values[i]});
    }
    std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
      return a.score != b.score ? a.score > b.score : a.row < b.row;
    });
    std::vector<Candidate> top(25);
    ASSERT_EQ(pass.TopK(
                  s, [](int64_t row) { return row % 3 != 0; }, absl::MakeSpan(top)),
              25);
    for (int k = 0; k < 25; ++k) {
      EXPECT_EQ(top[k].row, all[k].row) << "rank " << k;
      EXPECT_EQ(top[k].weight, all[k].weight);
      EXPECT_EQ(top[k].score, all[k].score);
    }
  }
}

TEST_P(FusedPassTest, ASplitPassDrawsTheSameTopKAsOneThread) {
  // A split pass scans its parts on the workers and filters their merge;
  // where a part's list may hide a better ad that the filter would take, it
  // scans again on one thread. Either way: the one-thread answer, exactly.
  const Problem p = RandomProblem(20'000, 64, 4, 2, 0.7, 1.0f, 31);
  const TiledKeys tiled(p.keys, p.rows, p.d_model, p.heads);
  PassWorkers workers(2);  // Three parts.
  AttentionPass split;
  split.set_workers(&workers, 0);
  split.Run(tiled, p.values, p.mask, p.queries, 2, isa());
  ASSERT_EQ(split.parts(), 3 * AttentionPass::kPartsPerThread);
  // One thread's answer: the same pass's TopK while the workers are busy.
  auto one_thread = [&](int s, absl::FunctionRef<bool(int64_t)> keep, absl::Span<Candidate> out) {
    int n = -1;
    EXPECT_TRUE(workers.TryRun(1, [&](int) { n = split.TopK(s, keep, out); }));
    return n;
  };
  // The best rows unfiltered, to filter them out.
  std::vector<Candidate> best(60);
  ASSERT_EQ(one_thread(
                0, [](int64_t) { return true; }, absl::MakeSpan(best)),
            60);
  const std::function<bool(int64_t)> filters[] = {
      [](int64_t) { return true; },
      [](int64_t row) { return row % 3 != 0; },
      [&](int64_t row) {  // Not the best 60: every part's list is filtered away.
        return std::none_of(best.begin(), best.end(),
                            [&](const Candidate& c) { return c.row == row; });
      },
      [](int64_t row) { return row < 300; },  // Only in the first part.
      [](int64_t) { return false; },
  };
  const int64_t busy_before = workers.busy();
  const int64_t splits_before = workers.split();
  for (size_t f = 0; f < std::size(filters); ++f) {
    for (int k : {1, 8, 25}) {
      for (int s = 0; s < 2; ++s) {
        SCOPED_TRACE(absl::StrCat("filter ", f, ", k ", k, ", slot ", s));
        std::vector<Candidate> want(k), got(k);
        const int n = one_thread(s, filters[f], absl::MakeSpan(want));
        ASSERT_EQ(split.TopK(s, filters[f], absl::MakeSpan(got)), n);
        for (int i = 0; i < n; ++i) {
          EXPECT_EQ(got[i].row, want[i].row) << "rank " << i;
          EXPECT_EQ(got[i].weight, want[i].weight);
          EXPECT_EQ(got[i].score, want[i].score);
        }
      }
    }
  }
  const int64_t calls = 2 * 3 * static_cast<int64_t>(std::size(filters));
  EXPECT_EQ(workers.busy() - busy_before, calls);         // one_thread's: each found them held.
  EXPECT_EQ(workers.split() - splits_before, 2 * calls);  // one_thread's hold, and the split scans.
}

TEST_P(FusedPassTest, AgreesWithThePortablePath) {
  const Problem p = RandomProblem(5000, 64, 4, 3, 0.8, 1.0f, 14);
  const TiledKeys tiled(p.keys, p.rows, p.d_model, p.heads);
  AttentionPass mine, portable;
  mine.Run(tiled, p.values, p.mask, p.queries, 3, isa());
  portable.Run(tiled, p.values, p.mask, p.queries, 3, Isa::kPortable);
  for (int s = 0; s < 3; ++s) {
    EXPECT_NEAR(mine.context(s), portable.context(s), 1e-6 * portable.context(s));
    for (int64_t i = 0; i < p.rows; i += 7) {
      ASSERT_NEAR(mine.Weight(s, i), portable.Weight(s, i), 1e-6 * portable.Weight(s, i) + 1e-30);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryPath, FusedPassTest,
                         ::testing::Values(Isa::kPortable, Isa::kAvx2, Isa::kAvx512),
                         [](const ::testing::TestParamInfo<Isa>& info) {
                           return std::string(IsaName(info.param));
                         });

TEST(PassWorkersTest, RunsEveryPartOnceAndRefusesWhileHeld) {
  PassWorkers workers(3);
  ASSERT_EQ(workers.concurrency(), 4);
  for (int round = 0; round < 50; ++round) {
    // Fewer parts than threads, as many, and more.
    const int parts = 1 + round % 9;
    std::vector<std::atomic<int>> runs(parts);
    std::atomic<int> nested_ran{0};
    ASSERT_TRUE(workers.TryRun(parts, [&](int part) {
      runs[part].fetch_add(1);
      if (part == 0 && workers.TryRun(1, [](int) {})) nested_ran.fetch_add(1);
    }));
    for (int p = 0; p < parts; ++p) ASSERT_EQ(runs[p].load(), 1) << "round " << round;
    EXPECT_EQ(nested_ran.load(), 0);
  }
  EXPECT_EQ(workers.split(), 50);
  EXPECT_EQ(workers.busy(), 50);
}

TEST(PassWorkersTest, AWorkerThatStartsLateLeavesItsPartsToTheOthers) {
  // One worker is held up inside its first part until the caller has run
  // every other part: the pass still completes, each part once, and the
  // caller ran all but that one.
  PassWorkers workers(1);
  for (int round = 0; round < 20; ++round) {
    constexpr int kParts = 8;
    const std::thread::id caller = std::this_thread::get_id();
    std::vector<std::atomic<int>> runs(kParts);
    std::atomic<int> by_caller{0}, done{0};
    ASSERT_TRUE(workers.TryRun(kParts, [&](int part) {
      runs[part].fetch_add(1);
      if (std::this_thread::get_id() == caller) {
        by_caller.fetch_add(1);
      } else {
        // The worker: waits until the caller has run every other part.
        while (done.load() < kParts - 1) std::this_thread::yield();
      }
      done.fetch_add(1);
    }));
    for (int p = 0; p < kParts; ++p) ASSERT_EQ(runs[p].load(), 1) << "round " << round;
    EXPECT_GE(by_caller.load(), kParts - 1);
  }
}

TEST(SimdTest, TheBestPathIsSupported) {
  EXPECT_TRUE(IsaSupported(BestIsa()));
  EXPECT_TRUE(IsaSupported(Isa::kPortable));
}

TEST(TiledKeysTest, RowsComeBackAsStored) {
  const Problem p = RandomProblem(37, 64, 4, 1, 1.0);
  const TiledKeys f32(p.keys, p.rows, p.d_model, p.heads, KeyFormat::kFloat32);
  const TiledKeys bf16(p.keys, p.rows, p.d_model, p.heads, KeyFormat::kBfloat16);
  const TiledKeys i8(p.keys, p.rows, p.d_model, p.heads, KeyFormat::kInt8);
  std::vector<float> row(p.d_model);
  for (int64_t i = 0; i < p.rows; ++i) {
    f32.Row(i, absl::MakeSpan(row));
    for (int j = 0; j < p.d_model; ++j) ASSERT_EQ(row[j], p.keys[i * p.d_model + j]);
    bf16.Row(i, absl::MakeSpan(row));
    for (int j = 0; j < p.d_model; ++j) {
      ASSERT_NEAR(row[j], p.keys[i * p.d_model + j], 4e-3 * std::abs(p.keys[i * p.d_model + j]));
    }
    float max_abs = 0;
    for (int j = 0; j < p.d_model; ++j)
      max_abs = std::max(max_abs, std::abs(p.keys[i * p.d_model + j]));
    i8.Row(i, absl::MakeSpan(row));
    for (int j = 0; j < p.d_model; ++j) {
      ASSERT_NEAR(row[j], p.keys[i * p.d_model + j], 0.5f * max_abs / 127 + 1e-6f);
    }
  }
  std::vector<float> stored(p.d_model);
  for (const TiledKeys* t : {&f32, &bf16, &i8}) {
    for (int64_t i = 0; i < p.rows; ++i) {
      TiledKeys::AsStored(t->format(),
                          absl::MakeConstSpan(p.keys.data() + i * p.d_model, p.d_model),
                          absl::MakeSpan(stored));
      t->Row(i, absl::MakeSpan(row));
      ASSERT_EQ(stored, row) << KeyFormatName(t->format()) << " row " << i;
    }
  }
  EXPECT_EQ(f32.KeyBytes(1000), 1000u * 64 * 4);
  EXPECT_EQ(bf16.KeyBytes(1000), 1000u * 64 * 2);
  EXPECT_EQ(i8.KeyBytes(1000), 1000u * (64 + 4));
}

TEST(TiledKeysTest, HeadBiasesTravelWithTheirTiles) {
  Problem p = WithRequests(RandomProblem(37, 64, 4, 1, 1.0), {1}, 3.0f);
  p.bias[5 * 4 + 2] = -100.0f;
  const TiledKeys tiled(p.keys, p.rows, p.d_model, p.heads, KeyFormat::kInt8, p.bias);
  EXPECT_TRUE(tiled.has_head_bias());
  for (int64_t i = 0; i < p.rows; ++i) {
    for (int h = 0; h < p.heads; ++h) ASSERT_EQ(tiled.HeadBias(i, h), p.bias[i * 4 + h]);
  }
  EXPECT_EQ(tiled.head_bias_max()[2], 100.0f);
  EXPECT_EQ(tiled.KeyBytes(1000), 1000u * (64 + 4 + 4 * 4));
  const TiledKeys plain(p.keys, p.rows, p.d_model, p.heads);
  EXPECT_FALSE(plain.has_head_bias());
  EXPECT_EQ(plain.HeadBias(3, 1), 0.0f);
  EXPECT_EQ(plain.head_bias_max()[0], 0.0f);
}

TEST(QuantiseQueryTest, EachHeadInStepsOfItsLargestCoordinateOver32767) {
  std::vector<float> q = {0.5f, -0.25f, 1e-7f, 0.0f, -3.0f, 2.0f};  // Two heads of 3.
  const std::vector<float> original = q;
  std::vector<int32_t> pairs(3);
  std::vector<float> scales(2);
  QuantiseQuery(2, absl::MakeSpan(q), absl::MakeSpan(pairs), absl::MakeSpan(scales));
  EXPECT_FLOAT_EQ(scales[0], 0.5f / 32767);
  EXPECT_FLOAT_EQ(scales[1], 3.0f / 32767);
  for (int j = 0; j < 6; ++j) {
    EXPECT_NEAR(q[j], original[j], 0.5 * scales[j / 3] * 1.0001) << j;
  }
  EXPECT_EQ(q[0], 0.5f);  // The largest is exact,
  EXPECT_EQ(q[2], 0.0f);  // and what is under half a step is 0.
  EXPECT_EQ(q[4], -3.0f);
  // Pairs: the lower coordinate in the low 16 bits.
  EXPECT_EQ(static_cast<int16_t>(pairs[0] & 0xffff), 32767);
  EXPECT_EQ(static_cast<int16_t>(static_cast<uint32_t>(pairs[0]) >> 16), -16384);
  EXPECT_EQ(static_cast<int16_t>(pairs[2] & 0xffff), -32767);
  EXPECT_EQ(static_cast<int16_t>(static_cast<uint32_t>(pairs[2]) >> 16), 21845);
  // A zero head stays zero.
  std::vector<float> zero(4, 0.0f);
  std::vector<int32_t> zero_pairs(2);
  std::vector<float> zero_scales(1);
  QuantiseQuery(1, absl::MakeSpan(zero), absl::MakeSpan(zero_pairs), absl::MakeSpan(zero_scales));
  EXPECT_EQ(zero, std::vector<float>(4, 0.0f));
  EXPECT_EQ(zero_pairs, std::vector<int32_t>(2, 0));
}

TEST(TiledKeysTest, FormatsParseByName) {
  EXPECT_EQ(*ParseKeyFormat("float32"), KeyFormat::kFloat32);
  EXPECT_EQ(*ParseKeyFormat("bf16"), KeyFormat::kBfloat16);
  EXPECT_EQ(*ParseKeyFormat("int8"), KeyFormat::kInt8);
  EXPECT_EQ(ParseKeyFormat("fp8").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace attex::attention
