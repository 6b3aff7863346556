#include "attention/scorer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace attex::attention {
namespace {

// N ads with random keys, values and mask, and one random query.
struct Problem {
  int64_t rows;
  int d_model;
  int heads;
  std::vector<float> keys;
  std::vector<float> values;
  std::vector<uint8_t> mask;
  std::vector<float> query;

  KeyView View() const { return {keys.data(), rows, d_model, heads}; }
};

Problem RandomProblem(int64_t rows, int d_model, int heads, double eligible_fraction,
                      float key_scale = 1.0f, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> bid(0.1f, 5.0f);
  std::bernoulli_distribution eligible(eligible_fraction);
  Problem p{rows, d_model, heads, {}, {}, {}, {}};
  p.keys.resize(rows * d_model);
  for (float& k : p.keys) k = key_scale * normal(rng);
  for (int64_t i = 0; i < rows; ++i) {
    p.values.push_back(bid(rng));
    p.mask.push_back(eligible(rng) ? 1 : 0);
  }
  for (int j = 0; j < d_model; ++j) p.query.push_back(normal(rng));
  return p;
}

struct Result {
  std::vector<float> weights;
  std::vector<double> log_normalisers;
  double context;
  int64_t eligible;
};

Result Score(const Problem& p) {
  Result r{std::vector<float>(p.rows, -1.0f), std::vector<double>(p.heads), 0.0, -1};
  SlotScores out{absl::MakeSpan(r.weights), absl::MakeSpan(r.log_normalisers)};
  ScoreSlot(p.View(), p.values, p.mask, p.query, &out);
  r.context = out.context;
  r.eligible = out.eligible;
  return r;
}

struct Reference {
  std::vector<double> weights;
  std::vector<double> log_normalisers;
  double context = 0.0;
};

// The textbook computation in double precision: explicit scores, an explicit
// softmax per head, the mean over heads.
Reference ReferenceScore(const Problem& p) {
  const int d_head = p.d_model / p.heads;
  Reference ref;
  ref.weights.assign(p.rows, 0.0);
  for (int h = 0; h < p.heads; ++h) {
    std::vector<double> scores(p.rows, -std::numeric_limits<double>::infinity());
    double max = -std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < p.rows; ++i) {
      if (!p.mask[i]) continue;
      double s = 0.0;
      for (int j = 0; j < d_head; ++j) {
        s += double{p.keys[i * p.d_model + h * d_head + j]} * p.query[h * d_head + j];
      }
      scores[i] = s / std::sqrt(static_cast<double>(d_head));
      max = std::max(max, scores[i]);
    }
    double sum = 0.0;
    for (int64_t i = 0; i < p.rows; ++i) {
      if (p.mask[i]) sum += std::exp(scores[i] - max);
    }
    ref.log_normalisers.push_back(max + std::log(sum));
    for (int64_t i = 0; i < p.rows; ++i) {
      if (p.mask[i]) ref.weights[i] += std::exp(scores[i] - max) / sum / p.heads;
    }
  }
  for (int64_t i = 0; i < p.rows; ++i) ref.context += ref.weights[i] * p.values[i];
  return ref;
}

// Weights are floats: below float's smallest normal they may flush to zero,
// hence the absolute floor.
void ExpectMatchesReference(const Problem& p, double tolerance = 1e-5) {
  const Result r = Score(p);
  const Reference ref = ReferenceScore(p);
  for (int64_t i = 0; i < p.rows; ++i) {
    if (p.mask[i]) {
      ASSERT_LE(std::abs(r.weights[i] - ref.weights[i]),
                tolerance * ref.weights[i] + std::numeric_limits<float>::min())
          << "row " << i;
    } else {
      ASSERT_EQ(r.weights[i], 0.0f) << "row " << i;
    }
  }
  for (int h = 0; h < p.heads; ++h) {
    EXPECT_NEAR(r.log_normalisers[h], ref.log_normalisers[h],
                tolerance * std::max(1.0, std::abs(ref.log_normalisers[h])));
  }
  EXPECT_LE(std::abs(r.context - ref.context), tolerance * std::abs(ref.context));
}

TEST(ScoreSlotTest, MatchesADoublePrecisionReference) {
  ExpectMatchesReference(RandomProblem(2000, 64, 4, 0.7));
}

TEST(ScoreSlotTest, MatchesTheReferenceForOtherShapes) {
  ExpectMatchesReference(RandomProblem(500, 64, 1, 0.5, 1.0f, 2));
  ExpectMatchesReference(RandomProblem(500, 48, 8, 0.9, 1.0f, 3));  // d_head = 6.
  ExpectMatchesReference(RandomProblem(500, 36, 3, 0.9, 1.0f, 4));  // d_head = 12.
}

TEST(ScoreSlotTest, StaysFiniteAndExactForHugeScores) {
  // Scores in the hundreds overflow a naive exp(); the max subtraction must
  // keep the weights finite and right. Float scores of that size carry an
  // absolute error near 1e-4, so the tolerance is looser here.
  const Problem p = RandomProblem(300, 64, 4, 0.8, 100.0f, 5);
  const Result r = Score(p);
  double sum = 0.0;
  for (float w : r.weights) {
    ASSERT_TRUE(std::isfinite(w));
    sum += w;
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
  for (double l : r.log_normalisers) EXPECT_TRUE(std::isfinite(l));
  ExpectMatchesReference(p, 1e-3);
}

TEST(ScoreSlotTest, EligibleWeightsSumToOne) {
  const Problem p = RandomProblem(10000, 64, 4, 0.6, 1.0f, 6);
  const Result r = Score(p);
  double sum = 0.0;
  for (float w : r.weights) sum += w;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_EQ(r.eligible, std::count(p.mask.begin(), p.mask.end(), 1));
}

TEST(ScoreSlotTest, MaskedRowsGetNoWeightAndDoNotChangeTheNormalisers) {
  Problem p = RandomProblem(400, 64, 4, 0.5, 1.0f, 7);
  const Result before = Score(p);
  // A masked ad with a key that would dominate everything if it counted.
  for (int64_t i = 0; i < p.rows; ++i) {
    if (p.mask[i]) continue;
    for (int j = 0; j < p.d_model; ++j) p.keys[i * p.d_model + j] = 50.0f * p.query[j];
    p.values[i] = 1e6f;
  }
  const Result after = Score(p);
  EXPECT_EQ(after.weights, before.weights);
  EXPECT_EQ(after.log_normalisers, before.log_normalisers);
  EXPECT_EQ(after.context, before.context);
  for (int64_t i = 0; i < p.rows; ++i) {
    if (!p.mask[i]) {
      EXPECT_EQ(after.weights[i], 0.0f);
    }
  }
}

TEST(ScoreSlotTest, NoEligibleAdGivesZeroWeightsAndContext) {
  Problem p = RandomProblem(50, 64, 4, 0.0);
  const Result r = Score(p);
  EXPECT_EQ(r.eligible, 0);
  EXPECT_EQ(r.context, 0.0);
  for (float w : r.weights) EXPECT_EQ(w, 0.0f);
  for (double l : r.log_normalisers) EXPECT_EQ(l, -std::numeric_limits<double>::infinity());
}

TEST(ScoreSlotTest, NoAdsAtAllIsFine) {
  Problem p = RandomProblem(0, 64, 4, 1.0);
  const Result r = Score(p);
  EXPECT_EQ(r.eligible, 0);
  EXPECT_EQ(r.context, 0.0);
}

TEST(ScoreSlotTest, ASingleEligibleAdTakesAllTheWeight) {
  Problem p = RandomProblem(20, 64, 4, 0.0, 1.0f, 8);
  p.mask[13] = 1;
  const Result r = Score(p);
  EXPECT_FLOAT_EQ(r.weights[13], 1.0f);
  EXPECT_DOUBLE_EQ(r.context, p.values[13]);
}

TEST(HeadScoresTest, ExplainsTheWeightsExactly) {
  // Anyone holding the query, the keys and the normalisers can recompute a
  // weight as the mean over heads of exp(score - log_normaliser).
  const Problem p = RandomProblem(300, 64, 4, 0.7, 1.0f, 9);
  const Result r = Score(p);
  std::vector<double> scores(p.heads);
  for (int64_t i = 0; i < p.rows; ++i) {
    if (!p.mask[i]) continue;
    HeadScores(p.View(), i, p.query, absl::MakeSpan(scores));
    double w = 0.0;
    for (int h = 0; h < p.heads; ++h) w += std::exp(scores[h] - r.log_normalisers[h]) / p.heads;
    ASSERT_NEAR(w, r.weights[i], 1e-6 * r.weights[i]) << "row " << i;
  }
}

TEST(HeadScoresTest, ScalesByTheSquareRootOfTheHeadWidth) {
  Problem p = RandomProblem(1, 8, 2, 1.0);
  for (int j = 0; j < 8; ++j) {
    p.keys[j] = 1.0f;
    p.query[j] = j < 4 ? 1.0f : 2.0f;
  }
  std::vector<double> scores(2);
  HeadScores(p.View(), 0, p.query, absl::MakeSpan(scores));
  EXPECT_DOUBLE_EQ(scores[0], 4.0 / 2.0);
  EXPECT_DOUBLE_EQ(scores[1], 8.0 / 2.0);
}

}  // namespace
}  // namespace attex::attention
