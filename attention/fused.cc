#include "attention/fused.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attention/check.h"
#include "attention/model.h"

namespace attex::attention {
namespace {

constexpr int kLanes = TiledKeys::kTileRows;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

template <typename T>
void Grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// Heap order: a before b when a ranks higher (ties to the lower row).
bool Better(const Candidate& a, const Candidate& b) {
  return a.score != b.score ? a.score > b.score : a.row < b.row;
}

}  // namespace

void QuantiseQuery(int heads, absl::Span<float> query, absl::Span<int32_t> pairs,
                   absl::Span<float> scales) {
  const int d = static_cast<int>(query.size());
  ATTEX_CHECK(heads >= 1 && d % heads == 0 && pairs.size() == static_cast<size_t>((d + 1) / 2) &&
              scales.size() == static_cast<size_t>(heads));
  const int dh = d / heads;
  int16_t q16[kMaxDModel + 1] = {};
  for (int h = 0; h < heads; ++h) {
    float max_abs = 0.0f;
    for (int j = h * dh; j < (h + 1) * dh; ++j) {
      if (std::isfinite(query[j])) max_abs = std::max(max_abs, std::abs(query[j]));
    }
    // The largest coordinate maps to 32767; the rest round to the nearest
    // step (relative error at most 1.5e-5 of the largest).
    const float step = max_abs > 0.0f ? max_abs / 32767.0f : 1.0f;
    scales[h] = step;
    for (int j = h * dh; j < (h + 1) * dh; ++j) {
      const float x = std::isfinite(query[j]) ? query[j] / step : 0.0f;
      q16[j] = static_cast<int16_t>(std::clamp(std::lround(x), -32767L, 32767L));
      query[j] = step * q16[j];
    }
  }
  for (size_t p = 0; p < pairs.size(); ++p) {
    pairs[p] =
        static_cast<int32_t>(static_cast<uint16_t>(q16[2 * p]) |
                             (static_cast<uint32_t>(static_cast<uint16_t>(q16[2 * p + 1])) << 16));
  }
}

void EffectiveQuery(const TiledKeys& keys, absl::Span<float> query) {
  if (keys.format() != KeyFormat::kInt8) return;
  const int d = keys.d_model();
  const int heads = keys.heads();
  ATTEX_CHECK(query.size() == static_cast<size_t>(d) && d <= kMaxDModel);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d / heads));
  float scaled[kMaxDModel];
  int32_t pairs[(kMaxDModel + 1) / 2];
  float scales[kMaxPassHeads];
  for (int j = 0; j < d; ++j) scaled[j] = query[j] * scale;
  QuantiseQuery(heads, absl::MakeSpan(scaled, d), absl::MakeSpan(pairs, (d + 1) / 2),
                absl::MakeSpan(scales, heads));
  for (int j = 0; j < d; ++j) query[j] = scaled[j] / scale;
}

void AttentionPass::Run(const TiledKeys& keys, absl::Span<const float> values,
                        absl::Span<const uint16_t> mask, absl::Span<const float> queries, int slots,
                        Isa isa) {
  ATTEX_CHECK(slots >= 1 && slots <= kMaxPassSlots);
  int ones[kMaxPassSlots];
  std::fill_n(ones, slots, 1);
  Run(keys, values, mask, queries, absl::MakeConstSpan(ones, slots), isa);
}

void AttentionPass::Run(const TiledKeys& keys, absl::Span<const float> values,
                        absl::Span<const uint16_t> mask, absl::Span<const float> queries,
                        absl::Span<const int> request_slots, Isa isa) {
  whole_values_ = values.data();
  const ValueChunks chunks{absl::MakeConstSpan(&whole_values_, 1), 62,
                           static_cast<int64_t>(values.size())};
  Run(keys, chunks, mask, queries, request_slots, isa);
}

void AttentionPass::Run(const TiledKeys& keys, ValueChunks values, absl::Span<const uint16_t> mask,
                        absl::Span<const float> queries, absl::Span<const int> request_slots,
                        Isa isa) {
  const int64_t rows = keys.rows();
  const int d = keys.d_model();
  const int heads = keys.heads();
  const int requests = static_cast<int>(request_slots.size());
  int slots = 0;
  for (int r = 0; r < requests; ++r) {
    ATTEX_CHECK(request_slots[r] >= 1 && slots + request_slots[r] <= kMaxPassSlots);
    for (int k = 0; k < request_slots[r]; ++k) slot_request_[slots + k] = r;
    slots += request_slots[r];
  }
  ATTEX_CHECK(requests >= 1);
  ATTEX_CHECK(heads <= kMaxPassHeads && d <= kMaxDModel);
  ATTEX_CHECK(values.rows == rows && values.shift >= 4 && values.shift <= 62 &&
              static_cast<int64_t>(values.chunks.size()) >= ((rows - 1) >> values.shift) + 1);
  ATTEX_CHECK(mask.size() == static_cast<size_t>(rows));
  ATTEX_CHECK(queries.size() == static_cast<size_t>(requests) * d);
  if (!IsaSupported(isa)) isa = Isa::kPortable;
  isa_ = isa;
  heads_ = heads;
  slots_ = slots;
  requests_ = requests;
  rows_ = rows;
  tiles_ = keys.tiles();
  values_ = values;
  mask_ = mask.data();
  d_model_ = d;
  // Large catalogues: kPartsPerThread parts per worker and the caller, at
  // most one a block (decided before the buffers grow, which depends on it).
  const bool split = workers_ != nullptr && rows >= split_min_rows_ && tiles_ >= 2;
  parts_ = split ? std::min<int64_t>(kPartsPerThread * workers_->concurrency(),
                                     (tiles_ + kPartBlockTiles - 1) / kPartBlockTiles)
                 : 1;
  const size_t sh = static_cast<size_t>(slots) * heads;
  Grow(scores_, static_cast<size_t>(requests) * heads * tiles_ * kLanes);
  Grow(state_, parts_ * 3 * sh * kLanes);
  Grow(lane_max_, parts_ * sh * kLanes);
  Grow(lane_z_, parts_ * sh * kLanes);
  Grow(lane_c_, parts_ * sh * kLanes);
  Grow(eligible_, parts_ * slots);
  Grow(context_, slots);
  Grow(log_norm_, sh);
  Grow(factor_, sh);
  Grow(queries_, static_cast<size_t>(requests) * d);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d / heads));
  for (size_t j = 0; j < queries.size(); ++j) queries_[j] = queries[j] * scale;
  const bool int8 = keys.format() == KeyFormat::kInt8;
  if (int8) {
    // Int8 keys are multiplied by the query in int16 (QuantiseQuery): every
    // path scores with that query, dequantised where it computes in float.
    const int pairs = (d + 1) / 2;
    Grow(query_pairs_, static_cast<size_t>(requests) * pairs);
    Grow(query_scales_, static_cast<size_t>(requests) * heads);
    for (int r = 0; r < requests; ++r) {
      QuantiseQuery(heads, absl::MakeSpan(queries_.data() + r * d, d),
                    absl::MakeSpan(query_pairs_.data() + r * pairs, pairs),
                    absl::MakeSpan(query_scales_.data() + r * heads, heads));
    }
  }

  // Scores are bounded by |q_h| x the largest key norm of the head plus the
  // largest |head bias|; where that bound is small enough (always, for the
  // default model's pooled and normalised vectors) the sums are taken
  // relative to it rather than to a running max: see PassArgs::offsets.
  const float* offsets = nullptr;
  if (!online_max_only_) {
    Grow(offsets_, static_cast<size_t>(requests) * heads);
    const int dh = d / heads;
    const auto norms = keys.head_norm_max();
    const auto biases = keys.head_bias_max();
    bool bounded = true;
    for (int r = 0; r < requests; ++r) {
      for (int h = 0; h < heads; ++h) {
        double sq = 0.0;
        for (int j = h * dh; j < (h + 1) * dh; ++j) {
          sq += static_cast<double>(queries_[r * d + j]) * queries_[r * d + j];
        }
        const double bound = (std::sqrt(sq) * norms[h] + biases[h]) * (1 + 1e-6);
        // No eligible score lies more than 2 x bound under it.
        bounded &= bound <= kMaxFixedOffset;
        offsets_[r * heads + h] = static_cast<float>(bound);
      }
    }
    if (bounded) offsets = offsets_.data();
  }
  fixed_offsets_ = offsets != nullptr;

  const internal::PassArgs args{keys.tile(0),
                                keys.tile_bytes(),
                                keys.bias_offset(),
                                rows,
                                0,
                                tiles_,
                                tiles_,
                                1,
                                d,
                                heads,
                                keys.format(),
                                values.chunks.data(),
                                values.shift,
                                mask.data(),
                                queries_.data(),
                                request_slots.data(),
                                requests,
                                slots,
                                scores_.data(),
                                state_.data(),
                                lane_max_.data(),
                                lane_z_.data(),
                                lane_c_.data(),
                                eligible_.data(),
                                offsets,
                                int8 ? query_pairs_.data() : nullptr,
                                int8 ? query_scales_.data() : nullptr};
  const internal::PassFn pass = internal::PassFor(isa);
  // Part p: its share of the tiles, and its own state, lanes and counts.
  auto run_part = [&](int p) {
    internal::PassArgs part = args;
    if (parts_ > 1) {
      part.tile_begin = p * kPartBlockTiles;
      part.block_tiles = kPartBlockTiles;
      part.block_stride = parts_;
    }
    part.state = state_.data() + p * 3 * sh * kLanes;
    part.lane_max = lane_max_.data() + p * sh * kLanes;
    part.lane_z = lane_z_.data() + p * sh * kLanes;
    part.lane_c = lane_c_.data() + p * sh * kLanes;
    part.eligible = eligible_.data() + p * slots;
    pass(part);
  };
  if (parts_ == 1 || !workers_->TryRun(parts_, run_part)) {
    // Busy workers: the parts on this thread, one after another.
    for (int p = 0; p < parts_; ++p) run_part(p);
  }

  // Merge the lanes (of every part): each summed relative to its own max.
  const size_t part_stride = sh * kLanes;
  for (int s = 0; s < slots; ++s) {
    for (int p = 1; p < parts_; ++p) eligible_[s] += eligible_[p * slots + s];
    double context = 0.0;
    for (int h = 0; h < heads; ++h) {
      const size_t k = (static_cast<size_t>(s) * heads + h) * kLanes;
      double max = kNegInf;
      for (int p = 0; p < parts_; ++p) {
        for (int l = 0; l < kLanes; ++l) {
          max = std::max<double>(max, lane_max_[p * part_stride + k + l]);
        }
      }
      if (max == kNegInf) {
        log_norm_[s * heads + h] = kNegInf;
        continue;
      }
      double z = 0.0, c = 0.0;
      for (int p = 0; p < parts_; ++p) {
        for (int l = 0; l < kLanes; ++l) {
          const size_t i = p * part_stride + k + l;
          if (lane_max_[i] == -std::numeric_limits<float>::infinity()) continue;
          const double r = std::exp(lane_max_[i] - max);
          z += lane_z_[i] * r;
          c += lane_c_[i] * r;
        }
      }
      if (z == 0.0) {  // No eligible ad in this head's lanes.
        log_norm_[s * heads + h] = kNegInf;
        continue;
      }
      log_norm_[s * heads + h] = max + std::log(z);
      // With fixed offsets every lane's max is the offset: exp(offset -
      // log_norm) = 1 / z.
      factor_[s * heads + h] = 1.0 / z;
      context += c / z;
    }
    context_[s] = eligible_[s] > 0 ? context / heads : 0.0;
  }
}

const float* AttentionPass::RequestScores(int slot) const {
  return scores_.data() + static_cast<size_t>(slot_request_[slot]) * tiles_ * heads_ * kLanes;
}

bool AttentionPass::CompactScores(int slot, int64_t row, float* out) const {
  if (((mask_[row] >> slot) & 1) == 0) return false;
  const float* s = RequestScores(slot) + (row / kLanes) * heads_ * kLanes + row % kLanes;
  for (int h = 0; h < heads_; ++h) out[h] = s[h * kLanes];
  return true;
}

float AttentionPass::WeightOf(int slot, const float* scores) const {
  double w = 0.0;
  if (fixed_offsets_) {
    const double* factor = factor_.data() + slot * heads_;
    for (int h = 0; h < heads_; ++h) w += scores[h] * factor[h];
  } else {
    const double* log_norm = log_norm_.data() + slot * heads_;
    for (int h = 0; h < heads_; ++h) w += std::exp(scores[h] - log_norm[h]);
  }
  return static_cast<float>(w / heads_);
}

float AttentionPass::Weight(int slot, int64_t row) const {
  ATTEX_CHECK(slot >= 0 && slot < slots_ && row >= 0 && row < rows_);
  float scores[kMaxPassHeads];
  return CompactScores(slot, row, scores) ? WeightOf(slot, scores) : 0.0f;
}

int AttentionPass::TopK(int slot, absl::Span<Candidate> out) const {
  return TopK(
      slot, [](int64_t) { return true; }, out);
}

int AttentionPass::TopK(int slot, absl::FunctionRef<bool(int64_t)> keep,
                        absl::Span<Candidate> out) const {
  ATTEX_CHECK(slot >= 0 && slot < slots_);
  const int k = static_cast<int>(out.size());
  if (k == 0 || eligible_[slot] == 0) return 0;
  // A pass split across the workers has its scan split too: each part draws
  // its own best k unfiltered, and `keep` then walks their merge in order.
  // That is the answer whenever the k-th kept ranks above every full part's
  // last (nothing a part left out could have entered); otherwise, or when
  // the workers are busy, one scan of every tile on this thread.
  if (parts_ > 1) {
    // Each part draws more than k, so that a few candidates that `keep`
    // turns down do not send the scan back to one thread; fewer parts than
    // the pass's, since each fills its own list before it can skip an ad.
    const int m = std::max(4 * k, 32);
    const int parts = std::min(parts_, kScanPartsPerThread * workers_->concurrency());
    Grow(part_top_, static_cast<size_t>(parts) * m);
    Grow(part_count_, static_cast<size_t>(parts));
    auto run_part = [&](int p) {
      part_count_[p] = ScanTiles(slot, p, parts, nullptr,
                                 absl::MakeSpan(part_top_.data() + static_cast<size_t>(p) * m, m));
    };
    if (workers_->TryRun(parts, run_part)) {
      const int n = MergeParts(parts, m, keep, out);
      if (n >= 0) return n;
    }
  }
  return ScanTiles(slot, 0, 1, &keep, out);
}

int AttentionPass::MergeParts(int parts, int m, absl::FunctionRef<bool(int64_t)> keep,
                              absl::Span<Candidate> out) const {
  const int k = static_cast<int>(out.size());
  // The parts' lists into one, best first (each part's is, already).
  Grow(merged_, static_cast<size_t>(parts) * m);
  int total = 0;
  for (int p = 0; p < parts; ++p) {
    std::copy_n(part_top_.data() + static_cast<size_t>(p) * m, part_count_[p],
                merged_.data() + total);
    total += part_count_[p];
  }
  std::sort(merged_.begin(), merged_.begin() + total, Better);
  int n = 0;
  for (int i = 0; i < total && n < k; ++i) {
    if (keep(merged_[i].row)) out[n++] = merged_[i];
  }
  for (int p = 0; p < parts; ++p) {
    if (part_count_[p] < m) continue;  // The part's every eligible ad is in.
    // A full part may hold more below its last: the answer stands only if
    // the list filled at or above it.
    const Candidate& last = part_top_[static_cast<size_t>(p) * m + m - 1];
    if (n < k || Better(last, out[k - 1])) return -1;
  }
  return n;
}

int AttentionPass::ScanTiles(int slot, int part, int parts,
                             const absl::FunctionRef<bool(int64_t)>* keep,
                             absl::Span<Candidate> out) const {
  const int k = static_cast<int>(out.size());
  float log_norm[kMaxPassHeads], factors[kMaxPassHeads];
  for (int h = 0; h < heads_; ++h) {
    log_norm[h] = static_cast<float>(log_norm_[slot * heads_ + h]);
    if (fixed_offsets_) factors[h] = static_cast<float>(factor_[slot * heads_ + h] / heads_);
  }
  // The scan stops at `rows`: the end of the block's last tile.
  internal::ScanArgs args{RequestScores(slot),
                          mask_,
                          static_cast<uint16_t>(1u << slot),
                          values_.chunks.data(),
                          values_.shift,
                          rows_,
                          heads_,
                          log_norm,
                          fixed_offsets_ ? factors : nullptr,
                          -std::numeric_limits<float>::infinity()};
  const internal::ScanFn scan = internal::ScanFor(isa_);
  // The scan computes weight x value in float (vectorised); once the list is
  // full only ads within rounding of its last entry are looked at again, in
  // double. The relative margin covers float's rounding many times over.
  auto update_threshold = [&](double kth) {
    args.threshold = static_cast<float>(kth > 0 ? kth * (1 - 1e-4) : kth * (1 + 1e-4));
  };
  constexpr int kBatch = 256;
  int64_t rows[kBatch];
  float u[kBatch];
  int n = 0;
  const int64_t block = parts > 1 ? kPartBlockTiles : tiles_;
  for (int64_t begin = part * block; begin < tiles_; begin += block * parts) {
    const int64_t end = std::min(tiles_, begin + block);
    args.rows = std::min(rows_, end * kLanes);
    for (int64_t next = begin; next < end;) {
      const int found = scan(args, next, &next, rows, u, kBatch);
      for (int i = 0; i < found; ++i) {
        const int64_t row = rows[i];
        if (u[i] < args.threshold || (keep != nullptr && !(*keep)(row))) continue;
        float scores[kMaxPassHeads];
        CompactScores(slot, row, scores);
        const float weight = WeightOf(slot, scores);
        const Candidate cand{row, weight, static_cast<double>(weight) * values_[row]};
        if (n < k) {
          out[n++] = cand;
          std::push_heap(out.begin(), out.begin() + n, Better);
          if (n == k) update_threshold(out[0].score);
        } else if (Better(cand, out[0])) {
          std::pop_heap(out.begin(), out.begin() + n, Better);
          out[n - 1] = cand;
          std::push_heap(out.begin(), out.begin() + n, Better);
          update_threshold(out[0].score);
        }
      }
    }
  }
  std::sort_heap(out.begin(), out.begin() + n, Better);
  return n;
}

void ExactHeadScores(const TiledKeys& keys, int64_t row, absl::Span<const float> query,
                     absl::Span<double> out) {
  const int d = keys.d_model();
  const int heads = keys.heads();
  ATTEX_CHECK(d <= kMaxDModel && query.size() == static_cast<size_t>(d));
  ATTEX_CHECK(out.size() == static_cast<size_t>(heads));
  float key[kMaxDModel];
  keys.Row(row, absl::MakeSpan(key, d));
  const int dh = d / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  for (int h = 0; h < heads; ++h) {
    double dot = 0.0;
    for (int j = h * dh; j < (h + 1) * dh; ++j) dot += static_cast<double>(key[j]) * query[j];
    out[h] = dot * scale;
  }
}

}  // namespace attex::attention
