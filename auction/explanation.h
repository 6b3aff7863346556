// Filling an Explanation: every number behind an auction's decision, per
// slot (query, normalisers, floor, price, the top candidates with their keys
// and per-head scores) and per request (exclusions, the no-bid reason, the
// model). Only the Explain RPC asks for one; it allocates freely.
#ifndef ATTEX_AUCTION_EXPLANATION_H_
#define ATTEX_AUCTION_EXPLANATION_H_

#include <cstdint>

#include "absl/types/span.h"
#include "attention/fused.h"
#include "attex/v1/exchange.pb.h"
#include "auction/auction.h"
#include "auction/catalog.h"
#include "auction/eligibility.h"

namespace attex::auction {

// What one slot's explanation is made of, as the auction decided it.
struct SlotDecision {
  int pass_slot = 0;              // The slot in the last attention pass.
  absl::Span<const float> query;  // Its query, d_model floats.
  int64_t floor_cpm_micros = 0;
  SlotOutcome outcome;  // ad -1: unfilled.
  // Per campaign: placed in this slot or an earlier one.
  absl::Span<const uint8_t> placed;
  const LateChecks* late = nullptr;  // What the ranking found of the candidates.
};

// Fills `out` for one slot: its id, query and scale, normalisers, eligible
// count, attention price, floor, the winner and its price, and the top
// `explain_top` candidates by weight x bid among all eligible ads, each
// with its exact key, head scores and why it lost.
void ExplainSlot(const Catalog& catalog, const attention::AttentionPass& pass,
                 const attex::v1::Slot& slot, const SlotDecision& decision, int explain_top,
                 attex::v1::SlotExplanation* out);

// Fills the request-level fields of `out` from `result`: exclusions by
// reason, the no-bid reason, ANN candidates and the model's description.
void ExplainRequest(const Catalog& catalog, const AuctionResult& result,
                    attex::v1::Explanation* out);

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_EXPLANATION_H_
