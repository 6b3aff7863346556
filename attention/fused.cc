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

void AttentionPass::Run(const TiledKeys& keys, absl::Span<const float> values,
                        absl::Span<const uint16_t> mask, absl::Span<const float> queries, int slots,
                        Isa isa, absl::Span<const float> exact_keys) {
  const int64_t rows = keys.rows();
  const int d = keys.d_model();
  const int heads = keys.heads();
  ATTEX_CHECK(slots >= 1 && slots <= kMaxPassSlots);
  ATTEX_CHECK(heads <= kMaxPassHeads && d <= kMaxDModel);
  ATTEX_CHECK(values.size() == static_cast<size_t>(rows));
  ATTEX_CHECK(mask.size() == static_cast<size_t>(rows));
  ATTEX_CHECK(queries.size() == static_cast<size_t>(slots) * d);
  if (!IsaSupported(isa)) isa = Isa::kPortable;
  isa_ = isa;
  heads_ = heads;
  slots_ = slots;
  rows_ = rows;
  tiles_ = keys.tiles();
  values_ = values.data();
  d_model_ = d;
  exact_keys_ = nullptr;
  if (!exact_keys.empty() && keys.format() != KeyFormat::kFloat32) {
    ATTEX_CHECK(exact_keys.size() == static_cast<size_t>(rows) * d);
    exact_keys_ = exact_keys.data();
  }
  const size_t sh = static_cast<size_t>(slots) * heads;
  Grow(scores_, sh * tiles_ * kLanes);
  Grow(state_, 3 * sh * kLanes);
  Grow(lane_max_, sh * kLanes);
  Grow(lane_z_, sh * kLanes);
  Grow(lane_c_, sh * kLanes);
  Grow(eligible_, slots);
  Grow(context_, slots);
  Grow(log_norm_, sh);
  Grow(queries_, static_cast<size_t>(slots) * d);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d / heads));
  for (size_t j = 0; j < queries.size(); ++j) queries_[j] = queries[j] * scale;

  // Scores are bounded by |q_h| x the largest key norm of the head; where
  // that bound is small enough (always, for the default model's pooled and
  // normalised vectors) the sums are taken relative to it rather than to a
  // running max: see PassArgs::offsets.
  const float* offsets = nullptr;
  if (!online_max_only_) {
    Grow(offsets_, sh);
    const int dh = d / heads;
    const auto norms = keys.head_norm_max();
    bool bounded = true;
    for (int s = 0; s < slots; ++s) {
      for (int h = 0; h < heads; ++h) {
        double sq = 0.0;
        for (int j = h * dh; j < (h + 1) * dh; ++j) {
          sq += static_cast<double>(queries_[s * d + j]) * queries_[s * d + j];
        }
        const double bound = std::sqrt(sq) * norms[h] * (1 + 1e-6);
        // No eligible score lies more than 2 x bound under it.
        bounded &= bound <= kMaxFixedOffset;
        offsets_[s * heads + h] = static_cast<float>(bound);
      }
    }
    if (bounded) offsets = offsets_.data();
  }
  fixed_offsets_ = offsets != nullptr;

  internal::PassArgs args{keys.tile(0),
                          keys.tile_bytes(),
                          rows,
                          d,
                          heads,
                          keys.format(),
                          values.data(),
                          mask.data(),
                          queries_.data(),
                          slots,
                          scores_.data(),
                          state_.data(),
                          lane_max_.data(),
                          lane_z_.data(),
                          lane_c_.data(),
                          eligible_.data(),
                          offsets};
  internal::PassFor(isa)(args);

  // Merge the lanes: each lane summed relative to its own max.
  for (int s = 0; s < slots; ++s) {
    double context = 0.0;
    for (int h = 0; h < heads; ++h) {
      const size_t k = (static_cast<size_t>(s) * heads + h) * kLanes;
      double max = kNegInf;
      for (int l = 0; l < kLanes; ++l) max = std::max<double>(max, lane_max_[k + l]);
      if (max == kNegInf) {
        log_norm_[s * heads + h] = kNegInf;
        continue;
      }
      double z = 0.0, c = 0.0;
      for (int l = 0; l < kLanes; ++l) {
        if (lane_max_[k + l] == -std::numeric_limits<float>::infinity()) continue;
        const double r = std::exp(lane_max_[k + l] - max);
        z += lane_z_[k + l] * r;
        c += lane_c_[k + l] * r;
      }
      if (z == 0.0) {  // No eligible ad in this head's lanes.
        log_norm_[s * heads + h] = kNegInf;
        continue;
      }
      log_norm_[s * heads + h] = max + std::log(z);
      context += c / z;
    }
    context_[s] = eligible_[s] > 0 ? context / heads : 0.0;
  }
}

bool AttentionPass::CompactScores(int slot, int64_t row, float* out) const {
  const float* s = scores_.data() +
                   ((static_cast<size_t>(slot) * tiles_ + row / kLanes) * heads_) * kLanes +
                   row % kLanes;
  for (int h = 0; h < heads_; ++h) out[h] = s[h * kLanes];
  return out[0] != -std::numeric_limits<float>::infinity();
}

bool AttentionPass::Scores(int slot, int64_t row, float* out) const {
  if (!CompactScores(slot, row, out)) return false;
  if (exact_keys_ != nullptr) {
    const float* key = exact_keys_ + row * d_model_;
    const float* q = queries_.data() + static_cast<size_t>(slot) * d_model_;
    const int dh = d_model_ / heads_;
    for (int h = 0; h < heads_; ++h) {
      float dot = 0.0f;
      for (int j = h * dh; j < (h + 1) * dh; ++j) dot += key[j] * q[j];
      out[h] = dot;
    }
  }
  return true;
}

float AttentionPass::WeightOf(int slot, const float* scores) const {
  const double* log_norm = log_norm_.data() + slot * heads_;
  double w = 0.0;
  for (int h = 0; h < heads_; ++h) w += std::exp(scores[h] - log_norm[h]);
  return static_cast<float>(w / heads_);
}

float AttentionPass::Weight(int slot, int64_t row) const {
  ATTEX_CHECK(slot >= 0 && slot < slots_ && row >= 0 && row < rows_);
  float scores[kMaxPassHeads];
  return Scores(slot, row, scores) ? WeightOf(slot, scores) : 0.0f;
}

void AttentionPass::HeadScores(int slot, int64_t row, absl::Span<double> out) const {
  ATTEX_CHECK(slot >= 0 && slot < slots_ && row >= 0 && row < rows_);
  ATTEX_CHECK(out.size() == static_cast<size_t>(heads_));
  float scores[kMaxPassHeads];
  Scores(slot, row, scores);
  for (int h = 0; h < heads_; ++h) out[h] = scores[h];
}

int AttentionPass::TopK(int slot, absl::FunctionRef<bool(int64_t)> keep,
                        absl::Span<Candidate> out) const {
  ATTEX_CHECK(slot >= 0 && slot < slots_);
  if (exact_keys_ == nullptr) return ScanTopK(slot, keep, out);
  // Narrow keys: the best 4k + 16 by the narrow scores, re-ranked exactly.
  constexpr size_t kMaxRerank = 256;
  Candidate wide[kMaxRerank];
  const size_t n_wide = std::min(kMaxRerank, 4 * out.size() + 16);
  const int n = ScanTopK(slot, keep, absl::MakeSpan(wide, n_wide));
  for (int i = 0; i < n; ++i) {
    wide[i].weight = Weight(slot, wide[i].row);
    wide[i].score = static_cast<double>(wide[i].weight) * values_[wide[i].row];
  }
  std::sort(wide, wide + n, Better);
  const int k = std::min<int>(n, static_cast<int>(out.size()));
  std::copy(wide, wide + k, out.begin());
  return k;
}

int AttentionPass::TopK(int slot, absl::Span<Candidate> out) const {
  return TopK(
      slot, [](int64_t) { return true; }, out);
}

int AttentionPass::ScanTopK(int slot, absl::FunctionRef<bool(int64_t)> keep,
                            absl::Span<Candidate> out) const {
  const int k = static_cast<int>(out.size());
  if (k == 0 || eligible_[slot] == 0) return 0;
  float log_norm[kMaxPassHeads];
  for (int h = 0; h < heads_; ++h) log_norm[h] = static_cast<float>(log_norm_[slot * heads_ + h]);
  internal::ScanArgs args{scores_.data() + static_cast<size_t>(slot) * tiles_ * heads_ * kLanes,
                          values_,
                          rows_,
                          heads_,
                          log_norm,
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
  for (int64_t next = 0; next < tiles_;) {
    const int found = scan(args, next, &next, rows, u, kBatch);
    for (int i = 0; i < found; ++i) {
      const int64_t row = rows[i];
      if (u[i] < args.threshold || !keep(row)) continue;
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
