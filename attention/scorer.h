// Scaled dot-product attention of a request's slot queries over the ads'
// keys: softmax(Q K^T / sqrt(d_head)) per head, averaged over heads, and the
// attention-weighted sum of the ads' values.
#ifndef ATTEX_ATTENTION_SCORER_H_
#define ATTEX_ATTENTION_SCORER_H_

#include <cstdint>

#include "absl/types/span.h"

namespace attex::attention {

// Keys of N ads, row-major, N x d_model contiguous floats (heads are
// consecutive blocks of d_head within a row).
struct KeyView {
  const float* data = nullptr;
  int64_t rows = 0;
  int d_model = 0;
  int heads = 0;
};

// The result for one query (one slot).
struct SlotScores {
  // weights[i] = mean over heads of softmax_h(score_h)[i] for eligible ads;
  // 0 for ineligible ads. Sized N by the caller.
  absl::Span<float> weights;
  // Per head: log(sum over eligible ads of exp(score_h,i)), where
  // score_h,i = (q_h . k_h,i) / sqrt(d_head). Sized heads by the caller.
  absl::Span<double> log_normalisers;
  // sum_i weights[i] * values[i] (the slot's attention price).
  double context = 0.0;
  // Number of eligible ads.
  int64_t eligible = 0;
};

// Scores one query against the keys of the ads whose mask byte is non-zero.
// `query` has d_model floats; `values` has N floats; `mask` has N bytes.
// Does not allocate. With no eligible ad every weight is 0.
void ScoreSlot(const KeyView& keys, absl::Span<const float> values, absl::Span<const uint8_t> mask,
               absl::Span<const float> query, SlotScores* out);

// Per-head scaled scores of one ad, for explanations (heads doubles).
void HeadScores(const KeyView& keys, int64_t row, absl::Span<const float> query,
                absl::Span<double> out);

}  // namespace attex::attention

#endif  // ATTEX_ATTENTION_SCORER_H_
