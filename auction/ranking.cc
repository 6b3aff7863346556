#include "auction/ranking.h"

#include <algorithm>

#include "attention/check.h"

namespace attex::auction {
namespace {

int64_t BidOf(const Catalog& catalog, int64_t row) {
  return catalog.campaigns[catalog.ads[row].campaign]->bid_cpm_micros;
}

Pick ToPick(const Catalog& catalog, const attention::Candidate& c) {
  return Pick{static_cast<int32_t>(c.row), catalog.ads[c.row].campaign, c.score};
}

}  // namespace

void RankExactly(const Catalog& catalog, absl::Span<attention::Candidate> candidates) {
  // The exact ranking score, as it always was: float weight x bid.
  for (attention::Candidate& c : candidates) {
    c.score = static_cast<double>(c.weight) * static_cast<double>(BidOf(catalog, c.row));
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const attention::Candidate& a, const attention::Candidate& b) {
              return a.score != b.score ? a.score > b.score : a.row < b.row;
            });
}

namespace {

// Up to out.size() candidates that `keep` accepts, best first by the
// kernel's weight x value: from the class's shared list where it has them,
// else from a scan of this slot alone.
template <typename Keep>
int Draw(const attention::AttentionPass& pass, int pass_slot, ClassCandidates* shared, Keep keep,
         absl::Span<attention::Candidate> out) {
  if (shared != nullptr) {
    const int k = static_cast<int>(out.size());
    int n = 0;
    for (int i = 0; i < shared->count && n < k; ++i) {
      if (keep(shared->list[i].row)) out[n++] = shared->list[i];
    }
    // Every eligible ad that the filter accepts below the list's last
    // ranks after it: the list answers unless it was full and too few of
    // its ads passed.
    if (n == k || shared->count < shared->capacity) return n;
  }
  return pass.TopK(pass_slot, keep, out);
}

}  // namespace

// The kernel's top list holds both best and runner-up unless one campaign
// fills it, when a second draw leaves that campaign out.
SlotRanking RankSlot(const Catalog& catalog, const attention::AttentionPass& pass, int pass_slot,
                     absl::Span<const uint8_t> placed, int64_t floor, LateChecks& late,
                     std::array<attention::Candidate, kRankCandidates>& scratch,
                     ClassCandidates* shared) {
  // Unchecked, unlike the hardened Span's []: the filters run per candidate.
  const uint8_t* is_placed = placed.data();
  SlotRanking ranking;
  Pick& best = ranking.best;
  Pick& second = ranking.runner_up;
  // The cheap tests first; the late checks read the campaign's counters.
  auto may_place_above = [&](int32_t c, int64_t row, int64_t min_bid) {
    if (is_placed[c] || BidOf(catalog, row) < min_bid) return false;
    if (late.Check(c) == Exclusion::kCount) return true;
    ranking.late_excluded = true;
    return false;
  };
  auto may_place = [&](int32_t c, int64_t row) { return may_place_above(c, row, floor); };
  if (shared != nullptr && shared->count < 0) {
    ATTEX_CHECK(shared->capacity > 0 && shared->capacity <= kMaxClassCandidates &&
                shared->min_floor <= floor);
    shared->count = pass.TopK(
        pass_slot,
        [&](int64_t row) {
          return may_place_above(catalog.ads[row].campaign, row, shared->min_floor);
        },
        absl::MakeSpan(shared->list.data(), shared->capacity));
  }
  attention::Candidate* cands = scratch.data();
  int n = Draw(
      pass, pass_slot, shared,
      [&](int64_t row) { return may_place(catalog.ads[row].campaign, row); },
      absl::MakeSpan(cands, kRankCandidates));
  RankExactly(catalog, absl::MakeSpan(cands, n));
  if (n > 0) best = ToPick(catalog, cands[0]);
  for (int k = 1; k < n && second.ad < 0; ++k) {
    if (catalog.ads[cands[k].row].campaign != best.campaign) second = ToPick(catalog, cands[k]);
  }
  if (best.ad >= 0 && second.ad < 0 && n == kRankCandidates) {
    n = Draw(
        pass, pass_slot, shared,
        [&](int64_t row) {
          const int32_t c = catalog.ads[row].campaign;
          return c != best.campaign && may_place(c, row);
        },
        absl::MakeSpan(cands, kRankCandidates));
    RankExactly(catalog, absl::MakeSpan(cands, n));
    if (n > 0) second = ToPick(catalog, cands[0]);
  }
  return ranking;
}

}  // namespace attex::auction
