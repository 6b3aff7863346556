#include "auction/compiled_campaign.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "auction/frequency.h"

namespace attex::auction {

std::shared_ptr<const CompiledCampaign> CompileCampaign(const attex::v1::Campaign& c,
                                                        const attention::Model& model,
                                                        std::shared_ptr<BudgetState> budget,
                                                        bool keep_key_inputs) {
  auto out = std::make_shared<CompiledCampaign>();
  out->id = c.id();
  out->advertiser_id = c.advertiser_id();
  out->version = c.version();
  out->status = c.status();
  out->bid_cpm_micros = c.bid_cpm_micros();
  out->start_s = c.schedule().start();
  out->end_s = c.schedule().end();
  const auto& t = c.targeting();
  out->countries.assign(t.countries().begin(), t.countries().end());
  out->device_types.assign(t.device_types().begin(), t.device_types().end());
  out->include_features.insert(t.include_features().begin(), t.include_features().end());
  out->exclude_features.insert(t.exclude_features().begin(), t.exclude_features().end());
  for (int h : t.hours()) out->hours_mask |= 1u << h;
  out->pace_even = c.pacing() == attex::v1::PACING_EVEN;
  out->frequency_cap = c.frequency_cap().impressions();
  out->frequency_period_ms = c.frequency_cap().period_s() * 1000;
  out->frequency_key = FrequencyCaps::CampaignKey(c.id());
  budget->SetLimits(c.budget().daily_micros(), c.budget().total_micros());
  out->budget = std::move(budget);

  out->adomain.assign(c.adomain().begin(), c.adomain().end());
  for (const auto& domain : c.adomain()) {
    std::string lower = absl::AsciiStrToLower(domain);
    if (std::find(out->domains.begin(), out->domains.end(), lower) == out->domains.end()) {
      out->domains.push_back(std::move(lower));
    }
  }

  const std::string advertiser_token = absl::StrCat("advertiser:", c.advertiser_id());
  std::vector<std::string_view> tokens;
  std::vector<std::string> category_tokens;
  for (const auto& cr : c.creatives()) {
    CompiledCreative compiled;
    compiled.id = cr.id();
    compiled.format = cr.format();
    compiled.category = cr.category();
    compiled.categories.assign(cr.categories().begin(), cr.categories().end());
    compiled.markup = cr.markup();
    compiled.key.resize(model.d_model());
    compiled.w = cr.w();
    compiled.h = cr.h();
    compiled.mime = cr.mime();
    compiled.duration_s = cr.duration_s();
    // Each category is a token of the key, as `category` always was.
    category_tokens.clear();
    if (!cr.category().empty()) category_tokens.push_back(absl::StrCat("category:", cr.category()));
    for (const auto& more : cr.categories()) {
      category_tokens.push_back(absl::StrCat("category:", more));
    }
    tokens.assign(cr.features().begin(), cr.features().end());
    tokens.insert(tokens.end(), category_tokens.begin(), category_tokens.end());
    tokens.push_back(advertiser_token);
    model.AdKey(tokens, absl::MakeConstSpan(cr.embedding().data(), cr.embedding().size()),
                absl::MakeSpan(compiled.key));
    if (keep_key_inputs && cr.embedding().empty()) {
      compiled.tokens.assign(tokens.begin(), tokens.end());
    } else if (keep_key_inputs) {
      compiled.embedding.assign(cr.embedding().begin(), cr.embedding().end());
    }
    out->creatives.push_back(std::move(compiled));
  }
  return out;
}

}  // namespace attex::auction
