// Which ads of a catalogue may take part in a request's auction: consent,
// the campaigns' rules (status, schedule, targeting, budget, frequency caps,
// pacing), the creatives' categories and formats as a per-ad slot mask, and,
// for large catalogues, the ANN index's candidates. The steps of RunAuction
// before attention; callers other than auction.cc need only the consent
// functions.
#ifndef ATTEX_AUCTION_ELIGIBILITY_H_
#define ATTEX_AUCTION_ELIGIBILITY_H_

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "attention/ann.h"
#include "attention/pass_workers.h"
#include "attex/v1/exchange.pb.h"
#include "auction/catalog.h"
#include "auction/frequency.h"
#include "auction/reasons.h"

namespace attex::auction {

// The most candidates the ANN index retrieves per slot; bounds the
// per-thread scratch of the ANN path.
inline constexpr int kMaxAnnCandidates = 100'000;

// True when consent forbids using or keeping the user's data.
bool UserRestricted(const attex::v1::BidRequest& request);
// The user's key for frequency caps; 0 (nothing counted or kept) when the
// request has no user id or UserRestricted(request).
uint64_t FrequencyUserKey(const attex::v1::BidRequest& request);

// Where the steps below may split their loop across a pool of threads (as
// the attention pass does): loops over at least min_items items, when the
// workers are free. Null workers: one thread.
struct Parallel {
  attention::PassWorkers* workers = nullptr;
  int64_t min_items = 65'536;
};

// Buffers of the steps below, grown to the largest catalogue seen and then
// reused, so that a warm thread allocates nothing (but in the ANN search).
// One per thread; the contents between calls mean nothing.
struct EligibilityScratch {
  // Per 64 campaigns (a word of CampaignIndex::words): what the request's
  // strings select in the posting lists, a bit per campaign.
  struct HitWord {
    uint64_t country = 0;
    uint64_t device = 0;
    uint64_t include = 0;
    uint64_t exclude = 0;
    uint64_t blocked_advertiser = 0;
    uint64_t blocked_domain = 0;
  };
  std::vector<HitWord> hits;
  // Per catalogue shape: the pass slots asking for its format, those that
  // admit it (format, size, MIME type, duration), and which of size, MIME
  // type and duration excludes it from the others.
  std::vector<uint16_t> shape_asked;
  std::vector<uint16_t> shape_slots;
  std::vector<uint8_t> shape_misfit;
  std::vector<uint16_t> format_asked;     // Per format: the pass slots asking for it.
  std::vector<uint8_t> blocked_category;  // Per category set.
  std::vector<int32_t> blocked_ids;
  // The ANN path: one search's rows, its query, and every slot's rows with
  // their mask bits (at most kMaxPassSlots x kMaxAnnCandidates entries).
  std::vector<int64_t> ann_rows;
  std::vector<float> ann_query;
  std::vector<std::pair<int64_t, uint16_t>> ann_keep;
  // Per part of a split loop: its exclusion counts.
  std::vector<ExclusionCounts> part_excluded;
};

// Request-level eligibility of every campaign by its rules (status,
// schedule, targeting, hours, blocked advertisers and advertiser domains):
// campaign_ok[c] (one per
// catalog.campaigns) is set to 1 or 0, and each excluded campaign's
// creatives are counted in `excluded` under the first reason that excludes
// it, in Exclusion's order. `tokens` are the request's feature tokens
// (context, and the user's where consent allows). Budget, frequency caps
// and pacing are not checked here but by LateChecks, for the few campaigns
// that could win a slot. Works on the index's bitsets, 64 campaigns at a
// time (only campaigns with a schedule or hours are looked at one by one).
// Returns how many ads the eligible campaigns have (their creatives).
int64_t CampaignEligibility(const Catalog& catalog, const attex::v1::BidRequest& request,
                            absl::Span<const std::string_view> tokens, int64_t now_ms,
                            EligibilityScratch& scratch, absl::Span<uint8_t> campaign_ok,
                            ExclusionCounts& excluded);

// The checks that read a campaign's spend and caps (budget, frequency cap,
// pacing), made only for campaigns the ranking would place, once per
// request each: a campaign that fails one still takes part in the
// attention (its ads share the slot's normaliser) but cannot be placed,
// and is counted in `excluded` (so those counts cover only the campaigns
// examined). One per request.
class LateChecks final {
 public:
  // `frequency` may be null (caps off); `user_key` 0: none counted.
  // `memo` holds one byte per campaign, all 0.
  LateChecks(const Catalog& catalog, FrequencyCaps* frequency, uint64_t user_key, int64_t now_ms,
             absl::Span<uint8_t> memo, ExclusionCounts& excluded)
      : catalog_(catalog),
        frequency_(frequency),
        user_key_(user_key),
        now_ms_(now_ms),
        memo_(memo.data()),
        excluded_(excluded) {}
  // Exclusion::kCount when `campaign` may be placed, else why not. May
  // adapt the campaign's pacing (the first check of an interval).
  Exclusion Check(int32_t campaign);
  // What an earlier Check of `campaign` found; kCount when it was not
  // checked or may be placed.
  Exclusion Known(int32_t campaign) const {
    return memo_[campaign] != 0 ? static_cast<Exclusion>(memo_[campaign] - 1) : Exclusion::kCount;
  }

 private:
  const Catalog& catalog_;
  FrequencyCaps* const frequency_;
  const uint64_t user_key_;
  const int64_t now_ms_;
  uint8_t* const memo_;  // 0: not checked; else 1 + the Exclusion (kCount: ok).
  ExclusionCounts& excluded_;
};

// Creative-level eligibility into the per-ad slot mask (one entry per
// catalog.ads): bit slot_offset + slot_class[k] is set where ad i's
// campaign is ok, none of its categories is blocked, slot k asks for its
// format and admits its size, MIME type and duration (slots that ask for
// the same share a class, hence a bit: see SlotClasses). A slot without
// sizes (mimes, durations) admits any; a creative without a size (mime,
// duration) fits any slot. The first request of a shared pass
// (slot_offset 0) overwrites the mask; later ones add their bits. Counts
// kBlockedCategory, kFormat, kSize, kMime and kDuration exclusions. Costs
// a pass over the ads plus one comparison of each slot class with each of
// the catalogue's distinct shapes (AdShape). `admitted_ads`: what
// CampaignEligibility returned for campaign_ok. Rows of a format no slot
// asks for are not read (the catalogue groups rows by format) unless the
// request blocks categories.
void BuildAdMask(const Catalog& catalog, const attex::v1::BidRequest& request,
                 absl::Span<const int> slot_class, absl::Span<const uint8_t> campaign_ok,
                 int64_t admitted_ads, int slot_offset, EligibilityScratch& scratch,
                 absl::Span<uint16_t> mask, ExclusionCounts& excluded,
                 const Parallel& parallel = {});

// The request's slots by what they admit: slot k's class (the index of
// its format, sizes, mimes and durations among the request's distinct
// ones, in order of first appearance) into `slot_class` (resized to the
// slots); returns how many classes. Slots of a class admit the same ads
// with the same weights, so the attention pass scores one class for them
// all.
int SlotClasses(const attex::v1::BidRequest& request, std::vector<int>& slot_class);

// The ANN path: retrieves up to `ann_candidates` ads per slot class from
// `ann` (one search per head of each of the request's `queries`, classes x
// d floats) and clears the request's mask bits (from slot_offset) of every
// other ad, so that exact attention (which skips tiles without a bit) runs
// over the union of the candidates alone. Returns how many distinct ads
// were retrieved; 0, changing nothing, where the index does not fit the
// catalogue (one row per mask entry, d + 1 dimensions) or no more ads are
// eligible than would be retrieved (scanning those is no more work, and
// retrieval could miss them). Allocates (hnswlib's search).
int32_t KeepAnnCandidates(const attention::AnnIndex& ann, int ann_candidates,
                          absl::Span<const float> queries, int slot_offset, int d, int heads,
                          EligibilityScratch& scratch, absl::Span<uint16_t> mask);

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_ELIGIBILITY_H_
