// Ranking of one slot after the attention pass: by the exact ranking score,
// attention weight x bid, the best unplaced campaign at or above the floor
// and the runner-up of another campaign, whose score sets a second price.
#ifndef ATTEX_AUCTION_RANKING_H_
#define ATTEX_AUCTION_RANKING_H_

#include <array>
#include <cstdint>

#include "absl/types/span.h"
#include "api/limits.h"
#include "attention/fused.h"
#include "auction/catalog.h"
#include "auction/eligibility.h"

namespace attex::auction {

// Candidates drawn per slot from the attention pass: the kernel ranks by
// weight x float(bid), RankSlot re-ranks them by weight x bid exactly.
inline constexpr int kRankCandidates = 8;

// One ranked ad; ad -1: none.
struct Pick {
  int32_t ad = -1;        // Index into Catalog::ads.
  int32_t campaign = -1;  // Index into Catalog::campaigns.
  double score = -1.0;    // Weight x bid.
};

struct SlotRanking {
  Pick best;
  Pick runner_up;  // Of another campaign than best's.
  // Whether a candidate at or above the floor was left out by LateChecks.
  bool late_excluded = false;
};

// Sets each candidate's score to the exact ranking score, float weight x
// bid, and sorts them by it, best first, ties to the lower row.
void RankExactly(const Catalog& catalog, absl::Span<attention::Candidate> candidates);

// The most candidates one scan draws for the slots of one class.
inline constexpr int kMaxClassCandidates = kRankCandidates * (api::kMaxSlots + 1);

// Candidates drawn once for every slot of one pass slot (the request's
// slots of one format: see SlotClasses), so that n slots cost one scan of
// the pass's buffer rather than n. The list is the top `capacity` by the
// kernel's weight x value among ads that bid at least `min_floor` (the
// lowest of the class's floors) and pass the late checks, with the
// campaigns placed when it was drawn left out. A slot's own candidates are
// the list's first that its stricter filter (its floor, the campaigns
// placed since) accepts: the same as a scan of its own would find,
// whenever the list holds enough of them or holds every eligible ad;
// otherwise RankSlot scans for that slot alone.
struct ClassCandidates {
  int capacity = 0;  // kRankCandidates x (the class's slots + 1), at most kMaxClassCandidates.
  int64_t min_floor = 0;
  int count = -1;  // -1: not drawn yet.
  std::array<attention::Candidate, kMaxClassCandidates> list;
};

// The best and runner-up for `pass_slot` of the last `pass` over `catalog`
// among ads whose campaign is not `placed` (one byte per campaign), bids at
// least `floor` and passes `late` (checked last, for candidates only).
// `scratch` holds the kernel's candidates. `shared` (optional): the class's
// candidates, drawn on first use, for classes of more than one slot. Does
// not allocate.
SlotRanking RankSlot(const Catalog& catalog, const attention::AttentionPass& pass, int pass_slot,
                     absl::Span<const uint8_t> placed, int64_t floor, LateChecks& late,
                     std::array<attention::Candidate, kRankCandidates>& scratch,
                     ClassCandidates* shared = nullptr);

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_RANKING_H_
