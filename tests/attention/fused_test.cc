// The fused pass on every SIMD path this CPU runs (the others are skipped),
// against a textbook double-precision softmax(Q K^T / sqrt(d_head)) V.
#include "attention/fused.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

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
  std::vector<float> queries;
};

Problem RandomProblem(int64_t rows, int d_model, int heads, int slots, double eligible_fraction,
                      float key_scale = 1.0f, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> bid(0.1f, 5.0f);
  std::bernoulli_distribution eligible(eligible_fraction);
  Problem p{rows, d_model, heads, slots, {}, {}, {}, {}};
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

struct Reference {
  std::vector<double> weights;
  std::vector<double> log_normalisers;
  double context = 0.0;
  int64_t eligible = 0;
};

// Explicit scores, an explicit softmax per head, the mean over heads.
Reference ReferenceScore(const Problem& p, const std::vector<float>& keys, int slot) {
  const int dh = p.d_model / p.heads;
  const float* q = p.queries.data() + slot * p.d_model;
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
                            double tolerance = 1e-5) {
  const TiledKeys tiled(p.keys, p.rows, p.d_model, p.heads, format);
  const std::vector<float> keys = Dequantised(tiled);
  bool fixed = false;
  for (bool online_only : {false, true}) {
    SCOPED_TRACE(online_only ? "running max" : "default");
    AttentionPass pass;
    pass.set_online_max_only(online_only);
    pass.Run(tiled, p.values, p.mask, p.queries, p.slots, isa);
    EXPECT_EQ(pass.isa(), isa);
    if (online_only) EXPECT_FALSE(pass.fixed_offsets());
    if (!online_only) fixed = pass.fixed_offsets();
    ExpectPassMatches(p, keys, pass, tolerance);
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

TEST_P(FusedPassTest, MatchesTheReferenceForOtherShapes) {
  ExpectMatchesReference(RandomProblem(517, 64, 1, 2, 0.5, 1.0f, 3), isa());
  ExpectMatchesReference(RandomProblem(500, 48, 8, 1, 0.9, 1.0f, 4), isa());  // d_head 6.
  ExpectMatchesReference(RandomProblem(500, 36, 3, 3, 0.9, 1.0f, 5), isa());  // d_head 12.
  ExpectMatchesReference(RandomProblem(999, 128, 4, 16, 0.8, 1.0f, 6), isa());
  ExpectMatchesReference(RandomProblem(7, 64, 4, 1, 1.0, 1.0f, 7), isa());  // Under a tile.
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
    if (!p.mask[i]) EXPECT_EQ(after.Weight(0, i), 0.0f);
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
  EXPECT_EQ(f32.KeyBytes(1000), 1000u * 64 * 4);
  EXPECT_EQ(bf16.KeyBytes(1000), 1000u * 64 * 2);
  EXPECT_EQ(i8.KeyBytes(1000), 1000u * (64 + 4));
}

TEST(TiledKeysTest, FormatsParseByName) {
  EXPECT_EQ(*ParseKeyFormat("float32"), KeyFormat::kFloat32);
  EXPECT_EQ(*ParseKeyFormat("bf16"), KeyFormat::kBfloat16);
  EXPECT_EQ(*ParseKeyFormat("int8"), KeyFormat::kInt8);
  EXPECT_EQ(ParseKeyFormat("fp8").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace attex::attention
