// The auction of one bid request over a catalogue snapshot: eligibility,
// attention scores per slot, ranking by weight x bid, allocation by slot
// position (one placement per campaign), and pricing with floors. This file
// orchestrates; the steps live in eligibility.h, ranking.h, pricing.h and
// explanation.h, the reasons it reports in reasons.h.
#ifndef ATTEX_AUCTION_AUCTION_H_
#define ATTEX_AUCTION_AUCTION_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "attention/pass_workers.h"
#include "attex/v1/exchange.pb.h"
#include "auction/catalog.h"
#include "auction/eligibility.h"
#include "auction/frequency.h"
#include "auction/reasons.h"

namespace attex::auction {

struct AuctionConfig {
  // Applies where a slot names no floor (CPM micros).
  int64_t default_floor_cpm_micros = 100'000;
  // The auction when a request leaves it unspecified.
  attex::v1::AuctionType default_type = attex::v1::AUCTION_TYPE_SECOND_PRICE;
  // Dynamic reserve: the floor is at least rho x the slot's attention price.
  double reserve_rho = 0.0;
  // Candidates listed per slot in explanations.
  int explain_top = 10;
  // Where the catalogue has an ANN index (Catalog::ann): ads retrieved per
  // slot (at most kMaxAnnCandidates; split evenly between the heads, one
  // search each); exact attention then runs over the union of the slots'
  // candidates only. 0: always the exact scan.
  int ann_candidates = 1000;
  // Frequency caps: where set, a capped campaign is not eligible for a user
  // it has reached `cap` times in its period. Not owned. Null: caps off.
  FrequencyCaps* frequency = nullptr;
  // Where set, a pass over at least pass_split_min_ads ads is split across
  // these threads when they are free (see attention::PassWorkers). Not
  // owned. Null: every pass on the calling thread.
  attention::PassWorkers* pass_workers = nullptr;
  int64_t pass_split_min_ads = 65'536;
  // Exploration traffic (docs/model.md): this share of requests, drawn by a
  // hash of the request id (the same id, the same draw), has one slot,
  // drawn likewise, filled with an ad drawn uniformly from those the slot's
  // ranking could have placed (eligible, of a campaign not placed yet, bid
  // at least the floor), priced at the floor, where that ad passes the late
  // checks; otherwise the slot is ranked as usual. 0: never. In [0, 1].
  double explore_share = 0.0;
};

struct SlotOutcome {
  int slot = 0;     // Index into request.slots().
  int32_t ad = -1;  // Index into catalog.ads; -1: unfilled.
  int64_t price_cpm_micros = 0;
  double weight = 0.0;
  // Exploration: the probability that the slot's ad was drawn, given that
  // the slot was explored (1 / the ads it was drawn from); 0 when ranked.
  double explore_propensity = 0.0;
};

struct AuctionResult {
  std::vector<SlotOutcome> slots;  // Filled slots, in order of position.
  // NoBidReasonName of why nothing was placed; empty when anything was.
  std::string_view no_bid_reason;
  ExclusionCounts excluded{};
  bool user_restricted = false;  // Privacy: the user's data was not used.
  // Distinct ads the ANN index retrieved for the request's slots, over which
  // alone attention ran; 0 when the exact scan covered every eligible ad.
  int32_t ann_candidates = 0;
};

// Runs the auction. `request` must be validated. Stops early, keeping what
// it has, when `deadline` passes. Reserves and spends nothing. With
// `explanation` non-null, fills it with every number behind the decision.
// Thread-safe; reuses per-thread scratch, so a warm thread does not allocate
// unless it explains or retrieves candidates from an ANN index (hnswlib's
// search allocates).
void RunAuction(const Catalog& catalog, const AuctionConfig& config,
                const attex::v1::BidRequest& request, int64_t now_ms, absl::Time deadline,
                AuctionResult* result, attex::v1::Explanation* explanation);

// One request of a shared pass.
struct AuctionJob {
  const attex::v1::BidRequest* request = nullptr;  // Validated.
  int64_t now_ms = 0;
  absl::Time deadline;
  AuctionResult* result = nullptr;
  attex::v1::Explanation* explanation = nullptr;  // Optional.
};

// Runs the auctions of several requests over one catalogue snapshot with
// one pass over the keys for all their slots (a pass holds 16 slots; more
// take further passes): the keys are read once for the lot, which is where
// the time goes in large catalogues. Each result is what RunAuction would
// have given (the attention weights of a request depend only on its own
// queries and eligibility). A request whose deadline has passed before the
// pass is not scored ("timeout"). Same threading as RunAuction.
void RunAuctions(const Catalog& catalog, const AuctionConfig& config,
                 absl::Span<const AuctionJob> jobs);

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_AUCTION_H_
