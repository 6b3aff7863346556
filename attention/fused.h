// The fused attention pass: the queries of a request (or of several, in a
// shared pass) against every eligible ad's key in one streaming pass over
// tiled keys, with an online softmax per slot and head, the attention-weighted
// sum of the values, and a compact per-head score buffer (heads floats per ad
// and request) from which the top candidates are drawn behind a threshold
// filter. Same numbers as ScoreSlot (scorer.h) with each ad's head bias added:
//   weight_i = mean_h exp(score_h,i - log_normaliser_h),
//   score_h,i = (q_h . k_h,i) / sqrt(d_head) + bias_h,i.
//
// One query per request, not per slot: a request's slots differ only in
// which ads they admit (the mask) and in what depends on the ad alone (the
// head bias, e.g. the creative format's query term, which the catalogue
// computes when it changes), so every slot of a request shares an ad's
// scores. An ad costs one dot product and one exp per request and head,
// whatever the number of slots; each slot then adds them into its own
// normaliser and context where its mask bit is set.
#ifndef ATTEX_ATTENTION_FUSED_H_
#define ATTEX_ATTENTION_FUSED_H_

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "attention/pass_workers.h"
#include "attention/simd.h"
#include "attention/tiled_keys.h"

namespace attex::attention {

inline constexpr int kMaxPassSlots = 16;  // Bits of a slot mask.
inline constexpr int kMaxPassHeads = 64;

// Per-ad values (bids) in chunks of 2^shift rows, each contiguous: chunk k
// holds rows k << shift on. The shift is at least 4, so that a tile's 16
// rows never straddle two chunks. A catalogue keeps its bids chunked so that
// a bid change copies one chunk, not every ad's.
struct ValueChunks {
  absl::Span<const float* const> chunks;
  int shift = 62;  // One chunk, the whole array.
  int64_t rows = 0;
  float operator[](int64_t row) const {
    return chunks[row >> shift][row & ((int64_t{1} << shift) - 1)];
  }
};

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
  // Scores the requests' queries (one per request: requests x d_model
  // floats, row-major) against the keys. Request r has request_slots[r]
  // slots (at least one), numbered on from the previous request's: the
  // first request's are slots 0 .. request_slots[0] - 1, and so on, at most
  // kMaxPassSlots in all. `mask` has one uint16 per ad: bit s set = the ad
  // is eligible for slot s. `values` has one float per ad (the context sums
  // weight x value). Ads with no bit set are skipped and never scored.
  // Every number comes from the keys as stored (bf16, int8: dequantised),
  // so that the weights, normalisers and scores are one consistent set.
  // `mask` and `values` must outlive the use of the results.
  void Run(const TiledKeys& keys, ValueChunks values, absl::Span<const uint16_t> mask,
           absl::Span<const float> queries, absl::Span<const int> request_slots,
           Isa isa = BestIsa());
  // The same with the values in one array.
  void Run(const TiledKeys& keys, absl::Span<const float> values, absl::Span<const uint16_t> mask,
           absl::Span<const float> queries, absl::Span<const int> request_slots,
           Isa isa = BestIsa());
  // Each of `slots` queries (slots x d_model floats) a request of one slot.
  void Run(const TiledKeys& keys, absl::Span<const float> values, absl::Span<const uint16_t> mask,
           absl::Span<const float> queries, int slots, Isa isa = BestIsa());

  // Results of the last Run, per slot.
  int64_t eligible(int slot) const { return eligible_[slot]; }
  double context(int slot) const { return context_[slot]; }
  // Per head: log(sum over eligible ads of exp(score_h)); -inf when none.
  absl::Span<const double> log_normalisers(int slot) const {
    return absl::MakeConstSpan(log_norm_.data() + slot * heads_, heads_);
  }
  // The weight of one ad (0 when it is not eligible for the slot).
  float Weight(int slot, int64_t row) const;

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
  // Splits passes over at least `min_rows` ads across `workers` (not
  // owned; null: every pass on the calling thread) when they are free.
  void set_workers(PassWorkers* workers, int64_t min_rows) {
    workers_ = workers;
    split_min_rows_ = min_rows;
  }
  // How many parts the last Run was split into (1: not split):
  // kPartsPerThread per thread of the workers, at most one a block of
  // kPartBlockTiles tiles. The parts take the blocks in turn, so that a
  // request's eligible ads (often one format's run of rows) are shared out
  // evenly; the threads take the parts in turn (PassWorkers), so that one
  // that starts late leaves its parts to the others.
  int parts() const { return parts_; }
  static constexpr int64_t kPartBlockTiles = 64;
  static constexpr int kPartsPerThread = PassWorkers::kPartsPerThread;
  // A split scan's parts: fewer, as each fills its own list first.
  static constexpr int kScanPartsPerThread = 2;

  // The largest score bound the fixed-offset path takes: eligible scores
  // then lie within 2 x 40 of it, where exp stays a normal float.
  static constexpr double kMaxFixedOffset = 40.0;

 private:
  // The compact buffer's entries of one ad (heads floats: exp(score -
  // offset) with fixed offsets, else the scores); false when the ad is not
  // eligible for the slot.
  bool CompactScores(int slot, int64_t row, float* out) const;
  float WeightOf(int slot, const float* scores) const;
  const float* RequestScores(int slot) const;
  // The best out.size() of the slot's eligible ads that `keep` accepts
  // (null: all), best first, in part `part` of `parts` (blocks of
  // kPartBlockTiles interleaved, as Run splits the pass); how many.
  int ScanTiles(int slot, int part, int parts, const absl::FunctionRef<bool(int64_t)>* keep,
                absl::Span<Candidate> out) const;
  // The best out.size() of the lists of `parts` parts (part_top_, m a
  // part) that `keep` accepts, into out; -1 when they may not be the best
  // of every tile (see TopK).
  int MergeParts(int parts, int m, absl::FunctionRef<bool(int64_t)> keep,
                 absl::Span<Candidate> out) const;

  Isa isa_ = Isa::kPortable;
  bool online_max_only_ = false;
  PassWorkers* workers_ = nullptr;
  int64_t split_min_rows_ = 0;
  bool fixed_offsets_ = false;
  int heads_ = 0;
  int slots_ = 0;
  int requests_ = 0;
  int parts_ = 1;
  int64_t rows_ = 0;
  int64_t tiles_ = 0;
  ValueChunks values_;
  const float* whole_values_ = nullptr;  // The one chunk of a Run given one array.
  const uint16_t* mask_ = nullptr;
  int d_model_ = 0;
  int slot_request_[kMaxPassSlots] = {};
  std::vector<float> scores_;         // requests x tiles x heads x 16.
  std::vector<float> lane_max_;       // parts x slots x heads x 16.
  std::vector<double> lane_z_;        // parts x slots x heads x 16.
  std::vector<double> lane_c_;        // parts x slots x heads x 16.
  std::vector<int64_t> eligible_;     // parts x slots; part 0 holds the totals.
  std::vector<double> context_;       // slots.
  std::vector<double> log_norm_;      // slots x heads.
  std::vector<double> factor_;        // slots x heads: exp(offset - log_norm), fixed offsets.
  std::vector<float> queries_;        // requests x d_model, scaled by 1/sqrt(d_head).
  std::vector<int32_t> query_pairs_;  // Int8 keys: requests x (d_model + 1) / 2.
  std::vector<float> query_scales_;   // Int8 keys: requests x heads.
  std::vector<float> state_;          // parts x the kernel's running state.
  std::vector<float> offsets_;        // requests x heads score bounds.
  // TopK of a split pass: each part's best (parts x k), their counts, and
  // their merge. Scratch of a const method (the pass is one thread's).
  mutable std::vector<Candidate> part_top_;
  mutable std::vector<int> part_count_;
  mutable std::vector<Candidate> merged_;
};

// The query in int16, for int8 keys: per head, the coordinates of `query`
// (d_model floats, already scaled by 1/sqrt(d_head)) as multiples of a step
// (the head's largest |coordinate| / 32767) into `pairs` (two coordinates
// an int32, the lower first, for vpmaddwd; an odd d_model pads with 0) and
// the steps into `scales` (heads floats); `query` becomes what they stand
// for (step x int16), which every path then scores with.
void QuantiseQuery(int heads, absl::Span<float> query, absl::Span<int32_t> pairs,
                   absl::Span<float> scales);
// The user query as the pass scores it against `keys` (unscaled, d_model
// floats, in place): for int8 keys the int16 query's (QuantiseQuery),
// otherwise unchanged. Explanations report a slot's query with it, so that
// its numbers recompute to what the pass decided with.
void EffectiveQuery(const TiledKeys& keys, absl::Span<float> query);

// Per-head scaled scores of one ad in double precision from the key the
// kernel sees (dequantised) and a slot's whole query, for explanations (no
// head bias: a slot's query already holds what the bias stands for).
void ExactHeadScores(const TiledKeys& keys, int64_t row, absl::Span<const float> query,
                     absl::Span<double> out);

namespace internal {

// What a kernel needs; filled by AttentionPass::Run. Plain data, so that
// the kernels call no inline function compiled for another target.
struct PassArgs {
  const uint8_t* tiles;
  size_t tile_bytes;
  size_t bias_offset;  // Of the head bias in a tile; 0: none.
  int64_t rows;
  // The part of the keys this call covers: tiles [tile_begin, tile_end),
  // in blocks of block_tiles (a power of two), one every block_stride
  // blocks (1: every tile of the range).
  int64_t tile_begin;
  int64_t tile_end;
  int64_t block_tiles;
  int64_t block_stride;
  int d_model;
  int heads;
  KeyFormat format;
  const float* const* value_chunks;  // ValueChunks::chunks.
  int value_shift;
  const uint16_t* mask;
  const float* queries;      // requests x d_model, pre-scaled by 1/sqrt(d_head).
  const int* request_slots;  // Per request: its slots (consecutive).
  int requests;
  int slots;
  // requests x tiles x heads x 16 (all tiles): with offsets, exp(score -
  // offset); else the scores.
  float* scores;
  float* state;       // 3 x slots x heads x 16 floats of scratch.
  float* lane_max;    // slots x heads x 16.
  double* lane_z;     // Same shape: sum of exp(score - lane max).
  double* lane_c;     // Same shape: sum of exp(score - lane max) x value.
  int64_t* eligible;  // slots.
  // Per request and head: a bound on the scores that the sums are taken
  // relative to (see AttentionPass::Run); null: a running max per lane.
  const float* offsets;
  // Int8 keys: per request, the query in int16 pairs ((d_model + 1) / 2
  // int32s) and per head its step (QuantiseQuery); `queries` holds the
  // same query dequantised. Null otherwise.
  const int32_t* query_pairs;
  const float* query_scales;
};

// One slot's compact scores, for the threshold scan.
struct ScanArgs {
  const float* scores;   // The slot's request's: tiles x heads x 16.
  const uint16_t* mask;  // rows: the slot's ads have `bit` set.
  uint16_t bit;
  const float* const* value_chunks;  // rows floats (ValueChunks).
  int value_shift;
  int64_t rows;
  int heads;
  const float* log_norm;  // heads floats.
  // Where the buffer holds exp(score - bound): heads floats, exp(bound -
  // log_norm) / heads; null where it holds the scores.
  const float* factors;
  float threshold;  // Lanes with weight x value below are skipped.
};

using PassFn = void (*)(const PassArgs&);
using ScanFn = int (*)(const ScanArgs&, int64_t begin, int64_t* next, int64_t* rows_out,
                       float* u_out, int capacity);

PassFn PassFor(Isa isa);
ScanFn ScanFor(Isa isa);

}  // namespace internal
}  // namespace attex::attention

#endif  // ATTEX_ATTENTION_FUSED_H_
