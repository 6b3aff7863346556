// The fused attention pass: every slot query of a request against every
// eligible ad's key in one streaming pass over tiled keys, with an online
// (running-max) softmax per head, the attention-weighted sum of the values,
// and a compact per-head score buffer (heads floats per ad and slot, 1/16 of
// the float32 keys at d_model 64) from which the top candidates are drawn
// behind a threshold filter. Same numbers as ScoreSlot (scorer.h):
//   weight_i = mean_h exp(score_h,i - log_normaliser_h),
//   score_h,i = (q_h . k_h,i) / sqrt(d_head).
#ifndef ATTEX_ATTENTION_FUSED_H_
#define ATTEX_ATTENTION_FUSED_H_

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "attention/simd.h"
#include "attention/tiled_keys.h"

namespace attex::attention {

inline constexpr int kMaxPassSlots = 16;  // Bits of a slot mask.
inline constexpr int kMaxPassHeads = 64;

// One candidate: an ad (row) and its attention weight for a slot.
struct Candidate {
  int64_t row = -1;
  float weight = 0.0f;
  double score = 0.0;  // weight x values[row]: the ranking key.
};

// A per-thread workspace: grows to the largest catalogue seen, then reuses
// its buffers, so a warm pass allocates nothing. Not thread-safe; keep one
// per thread.
class AttentionPass final {
 public:
  // Scores `slots` queries (slots x d_model floats, row-major) against the
  // keys. `mask` has one uint16 per ad: bit s set = the ad is eligible for
  // slot s. `values` has one float per ad (the context sums weight x value).
  // Ads with no bit set are skipped tile by tile and never scored.
  //
  // `exact_keys` (optional, rows x d_model float32, row-major) serve keys
  // stored narrower (bf16, int8): the pass and the normalisers use the
  // narrow keys, while Weight, HeadScores and the final order of TopK use
  // scores recomputed from the exact keys for the few ads they look at
  // (TopK re-ranks the best 4k + 16 by the narrow scores).
  void Run(const TiledKeys& keys, absl::Span<const float> values, absl::Span<const uint16_t> mask,
           absl::Span<const float> queries, int slots, Isa isa = BestIsa(),
           absl::Span<const float> exact_keys = {});

  // Results of the last Run, per slot.
  int64_t eligible(int slot) const { return eligible_[slot]; }
  double context(int slot) const { return context_[slot]; }
  // Per head: log(sum over eligible ads of exp(score_h)); -inf when none.
  absl::Span<const double> log_normalisers(int slot) const {
    return absl::MakeConstSpan(log_norm_.data() + slot * heads_, heads_);
  }
  // The weight of one ad (0 when it is not eligible for the slot).
  float Weight(int slot, int64_t row) const;
  // The per-head scaled scores of one ad as the kernel computed them.
  void HeadScores(int slot, int64_t row, absl::Span<double> out) const;

  // The (at most) out.size() eligible ads with the largest weight x value
  // among those `keep` accepts, best first, ties to the lower row. `keep`
  // is asked only about ads that could enter the list. Returns how many.
  // Reads the compact buffer only; does not allocate.
  int TopK(int slot, absl::FunctionRef<bool(int64_t)> keep, absl::Span<Candidate> out) const;
  int TopK(int slot, absl::Span<Candidate> out) const;

  Isa isa() const { return isa_; }
  // Whether the last Run summed relative to fixed score bounds (the fast
  // path) rather than a running max per lane.
  bool fixed_offsets() const { return fixed_offsets_; }
  // Tests and benchmarks: always keep a running max per lane.
  void set_online_max_only(bool on) { online_max_only_ = on; }

  // The largest score bound the fixed-offset path takes: eligible scores
  // then lie within 2 x 40 of it, where exp stays a normal float.
  static constexpr double kMaxFixedOffset = 40.0;

 private:
  // The compact buffer's scores of one ad (heads floats); false when the ad
  // is not eligible for the slot.
  bool CompactScores(int slot, int64_t row, float* out) const;
  // Scores from exact_keys_ when set, else the compact ones.
  bool Scores(int slot, int64_t row, float* out) const;
  float WeightOf(int slot, const float* scores) const;
  int ScanTopK(int slot, absl::FunctionRef<bool(int64_t)> keep, absl::Span<Candidate> out) const;

  Isa isa_ = Isa::kPortable;
  bool online_max_only_ = false;
  bool fixed_offsets_ = false;
  int heads_ = 0;
  int slots_ = 0;
  int64_t rows_ = 0;
  int64_t tiles_ = 0;
  const float* values_ = nullptr;
  const float* exact_keys_ = nullptr;  // Set only for narrow formats.
  int d_model_ = 0;
  std::vector<float> scores_;      // slots x tiles x heads x 16.
  std::vector<float> lane_max_;    // slots x heads x 16.
  std::vector<double> lane_z_;     // slots x heads x 16.
  std::vector<double> lane_c_;     // slots x heads x 16.
  std::vector<int64_t> eligible_;  // slots.
  std::vector<double> context_;    // slots.
  std::vector<double> log_norm_;   // slots x heads.
  std::vector<float> queries_;     // slots x d_model, scaled by 1/sqrt(d_head).
  std::vector<float> state_;       // The kernel's running state.
  std::vector<float> offsets_;     // slots x heads score bounds.
};

// Per-head scaled scores of one ad in double precision from the key the
// kernel sees (dequantised), for explanations.
void ExactHeadScores(const TiledKeys& keys, int64_t row, absl::Span<const float> query,
                     absl::Span<double> out);

namespace internal {

// What a kernel needs; filled by AttentionPass::Run. Plain data, so that
// the kernels call no inline function compiled for another target.
struct PassArgs {
  const uint8_t* tiles;
  size_t tile_bytes;
  int64_t rows;
  int d_model;
  int heads;
  KeyFormat format;
  const float* values;
  const uint16_t* mask;
  const float* queries;  // slots x d_model, pre-scaled by 1/sqrt(d_head).
  int slots;
  float* scores;      // slots x tiles x heads x 16.
  float* state;       // 3 x slots x heads x 16 floats of scratch.
  float* lane_max;    // slots x heads x 16.
  double* lane_z;     // Same shape: sum of exp(score - lane max).
  double* lane_c;     // Same shape: sum of exp(score - lane max) x value.
  int64_t* eligible;  // slots.
  // Per slot and head: a bound on the scores that the sums are taken
  // relative to (see AttentionPass::Run); null: a running max per lane.
  const float* offsets;
};

// One slot's compact scores, for the threshold scan.
struct ScanArgs {
  const float* scores;  // tiles x heads x 16.
  const float* values;  // rows floats.
  int64_t rows;
  int heads;
  const float* log_norm;  // heads floats.
  float threshold;        // Lanes with weight x value below are skipped.
};

using PassFn = void (*)(const PassArgs&);
using ScanFn = int (*)(const ScanArgs&, int64_t begin, int64_t* next, int64_t* rows_out,
                       float* u_out, int capacity);

PassFn PassFor(Isa isa);
ScanFn ScanFor(Isa isa);

}  // namespace internal
}  // namespace attex::attention

#endif  // ATTEX_ATTENTION_FUSED_H_
