// A campaign as the bid path reads it: its rules compiled (targeting as
// sets and masks, schedule and caps as numbers) and each creative's key
// embedded, made once when the campaign changes. Immutable once made; the
// budget state it points to is shared by every snapshot of the campaign.
#ifndef ATTEX_AUCTION_COMPILED_CAMPAIGN_H_
#define ATTEX_AUCTION_COMPILED_CAMPAIGN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "attention/model.h"
#include "attex/v1/campaign.pb.h"
#include "auction/budget.h"

namespace attex::auction {

struct CompiledCreative {
  std::string id;
  std::string format;
  std::string category;
  std::vector<std::string> categories;  // Besides `category`, as given.
  std::string markup;
  std::vector<float> key;  // d_model floats.
  int32_t w = 0;           // 0 x 0: no size (fits any slot).
  int32_t h = 0;
  std::string mime;        // Empty: fits any slot.
  int32_t duration_s = 0;  // 0: fits any slot.
  // What the key pooled (features, category:, advertiser:), or the
  // advertiser's embedding: for the training log, kept only when
  // CompileCampaign is asked to (they cost memory at a million ads).
  std::vector<std::string> tokens;
  std::vector<float> embedding;
};

struct CompiledCampaign {
  std::string id;
  std::string advertiser_id;
  int64_t version = 0;
  attex::v1::CampaignStatus status = attex::v1::CAMPAIGN_STATUS_UNSPECIFIED;
  int64_t bid_cpm_micros = 0;
  int64_t start_s = 0;  // 0: open.
  int64_t end_s = 0;
  std::vector<std::string> countries;
  std::vector<std::string> device_types;
  absl::flat_hash_set<std::string> include_features;
  absl::flat_hash_set<std::string> exclude_features;
  uint32_t hours_mask = 0;    // Bit h set: runs in UTC hour h. 0: every hour.
  bool pace_even = false;     // Pacing EVEN (else asap).
  int32_t frequency_cap = 0;  // Placements per user per period; 0: none.
  int64_t frequency_period_ms = 0;
  uint64_t frequency_key = 0;  // FrequencyCaps::CampaignKey(id).
  std::vector<CompiledCreative> creatives;
  std::vector<std::string> adomain;  // As given (OpenRTB answers carry them).
  std::vector<std::string> domains;  // adomain in ASCII lower case, each once: what badv matches.
  // The budget's limits, spend and reservations, shared by every snapshot
  // of the campaign (its limits live there alone).
  std::shared_ptr<BudgetState> budget;
};

// Compiles a validated campaign: embeds each creative's key with `model`,
// and sets `budget`'s limits to the campaign's. Every snapshot of the
// campaign shares `budget`, so older ones see the new limits at once.
// keep_key_inputs: also keep each creative's tokens or embedding.
std::shared_ptr<const CompiledCampaign> CompileCampaign(const attex::v1::Campaign& campaign,
                                                        const attention::Model& model,
                                                        std::shared_ptr<BudgetState> budget,
                                                        bool keep_key_inputs = false);

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_COMPILED_CAMPAIGN_H_
