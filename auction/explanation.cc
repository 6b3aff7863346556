#include "auction/explanation.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "attention/fused.h"
#include "auction/ranking.h"
#include "auction/reasons.h"

namespace attex::auction {
namespace {

// Why candidate `row` of campaign `campaign` lost the slot `d` decided.
LostReason WhyLost(const Catalog& catalog, const SlotDecision& d, int64_t row) {
  const int32_t campaign = catalog.ads[row].campaign;
  if (catalog.campaigns[campaign]->bid_cpm_micros < d.floor_cpm_micros) {
    return LostReason::kBelowFloor;
  }
  if (d.placed[campaign] && (d.outcome.ad < 0 || catalog.ads[d.outcome.ad].campaign != campaign)) {
    return LostReason::kPlacedInEarlierSlot;
  }
  switch (d.late != nullptr ? d.late->Known(campaign) : Exclusion::kCount) {
    case Exclusion::kBudget:
      return LostReason::kBudget;
    case Exclusion::kFrequencyCap:
      return LostReason::kFrequencyCap;
    case Exclusion::kPacing:
      return LostReason::kPacing;
    default:
      break;
  }
  return LostReason::kOutranked;
}

// The top candidates by weight x bid among all eligible ads of the slot.
void ExplainCandidates(const Catalog& catalog, const attention::AttentionPass& pass,
                       const SlotDecision& d, int explain_top, attex::v1::SlotExplanation* ex) {
  const attention::Model& model = *catalog.model;
  const int dm = model.d_model();
  std::vector<attention::Candidate> top(std::max(explain_top, 0));
  top.resize(pass.TopK(d.pass_slot, absl::MakeSpan(top)));
  RankExactly(catalog, absl::MakeSpan(top));
  std::vector<double> head_scores(model.heads());
  std::vector<float> key(dm);
  for (const attention::Candidate& c : top) {
    const int64_t i = c.row;
    const AdRef ref = catalog.ads[i];
    const auto& campaign = *catalog.campaigns[ref.campaign];
    auto* cand = ex->add_candidates();
    cand->set_campaign_id(campaign.id);
    cand->set_creative_id(campaign.creatives[ref.creative].id);
    cand->set_advertiser_id(campaign.advertiser_id);
    cand->set_bid_cpm_micros(campaign.bid_cpm_micros);
    // The key the decision used, as stored (bf16, int8: dequantised), so
    // that the weights recompute from the reported numbers alone.
    catalog.tiled_keys.Row(i, absl::MakeSpan(key));
    cand->mutable_key()->Add(key.begin(), key.end());
    attention::ExactHeadScores(catalog.tiled_keys, i, d.query, absl::MakeSpan(head_scores));
    for (double hs : head_scores) cand->add_head_scores(hs);
    cand->set_attention_weight(c.weight);
    cand->set_ranking_score(c.score);
    if (i == d.outcome.ad) {
      cand->set_winner(true);
    } else {
      cand->set_lost_reason(std::string(LostReasonName(WhyLost(catalog, d, i))));
    }
  }
}

}  // namespace

void ExplainSlot(const Catalog& catalog, const attention::AttentionPass& pass,
                 const attex::v1::Slot& slot, const SlotDecision& d, int explain_top,
                 attex::v1::SlotExplanation* ex) {
  ex->set_slot_id(slot.id());
  for (float q : d.query) ex->add_query(q);
  ex->set_scale(1.0 / std::sqrt(static_cast<double>(catalog.model->d_head())));
  for (double l : pass.log_normalisers(d.pass_slot)) ex->add_log_normalisers(l);
  ex->set_eligible(static_cast<int32_t>(pass.eligible(d.pass_slot)));
  ex->set_attention_price_cpm_micros(pass.context(d.pass_slot));
  ex->set_floor_cpm_micros(d.floor_cpm_micros);
  if (d.outcome.ad >= 0) {
    ex->set_winner_campaign_id(catalog.campaigns[catalog.ads[d.outcome.ad].campaign]->id);
    ex->set_price_cpm_micros(d.outcome.price_cpm_micros);
  }
  ExplainCandidates(catalog, pass, d, explain_top, ex);
}

void ExplainRequest(const Catalog& catalog, const AuctionResult& result,
                    attex::v1::Explanation* out) {
  for (int e = 0; e < static_cast<int>(Exclusion::kCount); ++e) {
    if (result.excluded[e] > 0) {
      (*out->mutable_excluded())[std::string(ExclusionName(static_cast<Exclusion>(e)))] =
          result.excluded[e];
    }
  }
  out->set_no_bid_reason(std::string(result.no_bid_reason));
  out->set_ann_candidates(result.ann_candidates);
  const attention::Model& model = *catalog.model;
  out->set_model_version(model.version());
  out->set_d_model(model.d_model());
  out->set_heads(model.heads());
}

}  // namespace attex::auction
