#include "attention/scorer.h"

#include <cmath>
#include <limits>

#include "attention/check.h"

namespace attex::attention {
namespace {

// Heads live in stack arrays; no model has more (d_model <= 256).
constexpr int kMaxHeads = 256;

// Eight independent accumulators let the compiler vectorise the dot product
// without -ffast-math (which would license it to reorder every sum).
inline float Dot(const float* a, const float* b, int n) {
  float lanes[8] = {};
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] += a[j + l] * b[j + l];
  }
  float tail = 0.0f;
  for (; j < n; ++j) tail += a[j] * b[j];
  return ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) +
         ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7])) + tail;
}

// The scaled score of every head of one key row. ScoreSlot and HeadScores
// share it, so an explanation reproduces the scores bit for bit.
inline void RowScores(const float* key, const float* query, int heads, int d_head, float scale,
                      float* scores) {
  for (int h = 0; h < heads; ++h) {
    scores[h] = Dot(key + h * d_head, query + h * d_head, d_head) * scale;
  }
}

void CheckShape(const KeyView& keys, absl::Span<const float> query) {
  ATTEX_CHECK(keys.rows >= 0 && keys.d_model > 0);
  ATTEX_CHECK(keys.heads > 0 && keys.heads <= kMaxHeads && keys.d_model % keys.heads == 0);
  ATTEX_CHECK(keys.data != nullptr || keys.rows == 0);
  ATTEX_CHECK(query.size() == static_cast<size_t>(keys.d_model));
}

}  // namespace

void ScoreSlot(const KeyView& keys, absl::Span<const float> values, absl::Span<const uint8_t> mask,
               absl::Span<const float> query, SlotScores* out) {
  CheckShape(keys, query);
  const size_t n = static_cast<size_t>(keys.rows);
  ATTEX_CHECK(out != nullptr);
  ATTEX_CHECK(values.size() == n && mask.size() == n && out->weights.size() == n);
  ATTEX_CHECK(out->log_normalisers.size() == static_cast<size_t>(keys.heads));

  const int heads = keys.heads;
  const int d = keys.d_model;
  const int d_head = d / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d_head));

  // Pass 1: online softmax statistics per head. The running sum is kept
  // relative to the running max and rescaled when the max grows, so that
  // exp() never overflows whatever the scores.
  float max_score[kMaxHeads];
  double sum_exp[kMaxHeads];
  float scores[kMaxHeads];
  for (int h = 0; h < heads; ++h) {
    max_score[h] = -std::numeric_limits<float>::infinity();
    sum_exp[h] = 0.0;
  }
  int64_t eligible = 0;
  for (size_t i = 0; i < n; ++i) {
    if (mask[i] == 0) continue;
    ++eligible;
    RowScores(keys.data + i * d, query.data(), heads, d_head, scale, scores);
    for (int h = 0; h < heads; ++h) {
      if (scores[h] > max_score[h]) {
        sum_exp[h] = sum_exp[h] * std::exp(static_cast<double>(max_score[h]) - scores[h]) + 1.0;
        max_score[h] = scores[h];
      } else {
        sum_exp[h] += std::exp(scores[h] - max_score[h]);
      }
    }
  }

  out->eligible = eligible;
  out->context = 0.0;
  if (eligible == 0) {
    for (size_t i = 0; i < n; ++i) out->weights[i] = 0.0f;
    for (int h = 0; h < heads; ++h) {
      out->log_normalisers[h] = -std::numeric_limits<double>::infinity();
    }
    return;
  }

  // Pass 2: the weights, now that each head's max and sum are final. Scores
  // are recomputed rather than stored: a buffer of N x heads would allocate.
  double inv_sum[kMaxHeads];
  for (int h = 0; h < heads; ++h) {
    inv_sum[h] = 1.0 / (heads * sum_exp[h]);
    out->log_normalisers[h] = max_score[h] + std::log(sum_exp[h]);
  }
  double context = 0.0;
  for (size_t i = 0; i < n; ++i) {
    if (mask[i] == 0) {
      out->weights[i] = 0.0f;
      continue;
    }
    RowScores(keys.data + i * d, query.data(), heads, d_head, scale, scores);
    double weight = 0.0;
    for (int h = 0; h < heads; ++h) weight += std::exp(scores[h] - max_score[h]) * inv_sum[h];
    out->weights[i] = static_cast<float>(weight);
    context += weight * values[i];
  }
  out->context = context;
}

void HeadScores(const KeyView& keys, int64_t row, absl::Span<const float> query,
                absl::Span<double> out) {
  CheckShape(keys, query);
  ATTEX_CHECK(row >= 0 && row < keys.rows);
  ATTEX_CHECK(out.size() == static_cast<size_t>(keys.heads));
  const int d_head = keys.d_model / keys.heads;
  float scores[kMaxHeads];
  RowScores(keys.data + row * keys.d_model, query.data(), keys.heads, d_head,
            1.0f / std::sqrt(static_cast<float>(d_head)), scores);
  for (int h = 0; h < keys.heads; ++h) out[h] = scores[h];
}

}  // namespace attex::attention
