// The auction's vocabulary of reasons: why a request got no placement, why a
// campaign-creative pair was not eligible, and why an explained candidate
// lost. Each is one enum; its Name function gives the string the wire carries
// (BidResponse.no_bid_reason, Explanation.excluded's keys,
// Candidate.lost_reason, the attex_auction_no_bid_total{reason} label).
// Names never change once released: clients and dashboards match on them.
#ifndef ATTEX_AUCTION_REASONS_H_
#define ATTEX_AUCTION_REASONS_H_

#include <array>
#include <cstdint>
#include <string_view>

namespace attex::auction {

// Why a bid request was answered without a placement.
enum class NoBidReason : int {
  kNoEligibleCampaigns,  // "no_eligible_campaigns": nothing eligible for any slot.
  kBelowFloor,           // "below_floor": eligible ads, none bidding the floor.
  kTimeout,              // "timeout": the deadline passed before a slot was filled.
  kNoSlots,              // "no_slots": the request named no slot.
  kBudget,               // "budget": winners found, none could reserve the price.
  kCount,
};
// The wire name of `reason` (< kCount); likewise for the others below.
std::string_view NoBidReasonName(NoBidReason reason);

// Why a campaign-creative pair was not eligible; counted in explanations.
// A pair is counted once: under the first campaign-level reason in this
// order, else under the creative's own: kBlockedCategory, else kFormat (no
// slot asks for its format), else kSize (no slot of its format accepts its
// size), kMime (none of those accepts its MIME type) or kDuration (nor its
// duration).
enum class Exclusion : int {
  kStatus,
  kSchedule,
  kCountry,
  kDeviceType,
  kIncludeFeatures,
  kExcludeFeatures,
  kHours,
  kBlockedCategory,
  kBlockedAdvertiser,
  kBlockedDomain,  // "blocked_domain": the request blocks one of its adomain.
  kFormat,
  kSize,
  kMime,
  kDuration,
  kBudget,
  kFrequencyCap,
  kPacing,
  kCount,
};
std::string_view ExclusionName(Exclusion exclusion);

// Pairs excluded per reason, indexed by Exclusion.
using ExclusionCounts = std::array<int32_t, static_cast<int>(Exclusion::kCount)>;

// Why an explained candidate did not win its slot.
enum class LostReason : int {
  kOutranked,            // "outranked"
  kPlacedInEarlierSlot,  // "placed_in_earlier_slot": its campaign won a better slot.
  kBelowFloor,           // "below_floor"
  kBudget,               // "budget": it could not pay (see LateChecks).
  kFrequencyCap,         // "frequency_cap": it has reached this user often enough.
  kPacing,               // "pacing": even pacing sat it out of this auction.
  kCount,
};
std::string_view LostReasonName(LostReason reason);

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_REASONS_H_
