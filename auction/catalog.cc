#include "auction/catalog.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "auction/frequency.h"

namespace attex::auction {

std::shared_ptr<const attention::AnnIndex> AnnSlot::shared() const {
  absl::MutexLock lock(&mu_);
  return owner_;
}

bool AnnSlot::Set(std::shared_ptr<const attention::AnnIndex> index) {
  absl::MutexLock lock(&mu_);
  if (index == nullptr || owner_ != nullptr) return false;
  owner_ = std::move(index);
  // Release: a reader that sees the pointer sees the finished graph.
  index_.store(owner_.get(), std::memory_order_release);
  return true;
}

std::shared_ptr<const CompiledCampaign> CompileCampaign(const attex::v1::Campaign& c,
                                                        const attention::Model& model,
                                                        std::shared_ptr<BudgetState> budget) {
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

  const std::string advertiser_token = absl::StrCat("advertiser:", c.advertiser_id());
  std::vector<std::string_view> tokens;
  for (const auto& cr : c.creatives()) {
    CompiledCreative compiled{cr.id(), cr.format(), cr.category(), cr.markup(),
                              std::vector<float>(model.d_model())};
    const std::string category_token = absl::StrCat("category:", cr.category());
    tokens.assign(cr.features().begin(), cr.features().end());
    if (!cr.category().empty()) tokens.push_back(category_token);
    tokens.push_back(advertiser_token);
    model.AdKey(tokens, absl::MakeConstSpan(cr.embedding().data(), cr.embedding().size()),
                absl::MakeSpan(compiled.key));
    out->creatives.push_back(std::move(compiled));
  }
  return out;
}

namespace {

void AddToIndex(const CompiledCampaign& c, int32_t index, CampaignIndex* out) {
  CampaignIndex::Entry e;
  e.bid_cpm_micros = c.bid_cpm_micros;
  e.start_s = c.start_s;
  e.end_s = c.end_s;
  e.budget = c.budget.get();
  e.hours_mask = c.hours_mask;
  e.creatives = static_cast<int32_t>(c.creatives.size());
  auto flag = [&](bool on, CampaignIndex::Flag f) {
    if (on) e.flags |= f;
  };
  flag(c.status == attex::v1::CAMPAIGN_STATUS_ACTIVE, CampaignIndex::kActive);
  flag(!c.countries.empty(), CampaignIndex::kCountries);
  flag(!c.device_types.empty(), CampaignIndex::kDevices);
  flag(!c.include_features.empty(), CampaignIndex::kInclude);
  flag(!c.exclude_features.empty(), CampaignIndex::kExclude);
  flag(c.pace_even, CampaignIndex::kPaceEven);
  flag(c.frequency_cap > 0, CampaignIndex::kFrequencyCap);
  out->entries.push_back(e);
  // A value named twice by one campaign is posted once.
  auto post = [index](CampaignIndex::Postings& postings, const std::string& value) {
    auto& list = postings[value];
    if (list.empty() || list.back() != index) list.push_back(index);
  };
  for (const auto& v : c.countries) post(out->countries, v);
  for (const auto& v : c.device_types) post(out->device_types, v);
  for (const auto& v : c.include_features) post(out->include_features, v);
  for (const auto& v : c.exclude_features) post(out->exclude_features, v);
  post(out->advertisers, c.advertiser_id);
}

// Per ad and head, the format's part of every score the ad gets: (W_Q f)_h
// . k_h / sqrt(d_head) for its creative's format f and its key k as stored
// in `key_format`, so that a slot's score is the request's part plus this.
std::vector<float> HeadBiases(const Catalog& catalog, attention::KeyFormat key_format) {
  const attention::Model& model = *catalog.model;
  const int d = model.d_model();
  const int heads = model.heads();
  const int dh = model.d_head();
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  std::vector<float> format_queries(catalog.formats.size() * d);
  for (size_t f = 0; f < catalog.formats.size(); ++f) {
    model.FormatQuery(catalog.formats[f], absl::MakeSpan(format_queries.data() + f * d, d));
  }
  std::vector<float> bias(catalog.ads.size() * heads);
  std::vector<float> stored(d);
  for (size_t i = 0; i < catalog.ads.size(); ++i) {
    attention::TiledKeys::AsStored(key_format, absl::MakeConstSpan(catalog.keys.data() + i * d, d),
                                   absl::MakeSpan(stored));
    const float* q = format_queries.data() + static_cast<size_t>(catalog.ad_format[i]) * d;
    for (int h = 0; h < heads; ++h) {
      double dot = 0.0;
      for (int j = h * dh; j < (h + 1) * dh; ++j) dot += static_cast<double>(q[j]) * stored[j];
      bias[i * heads + h] = static_cast<float>(dot * scale);
    }
  }
  return bias;
}

}  // namespace

std::shared_ptr<const Catalog> BuildCatalog(
    std::shared_ptr<const attention::Model> model,
    std::vector<std::shared_ptr<const CompiledCampaign>> campaigns,
    attention::KeyFormat key_format) {
  auto catalog = std::make_shared<Catalog>();
  const int d = model->d_model();
  const int heads = model->heads();
  catalog->model = std::move(model);
  // Ads are laid out by format (then campaign, then creative), so that a
  // tile of 16 ads is mostly of one format: the pass skips whole tiles of
  // formats a request does not ask for, and a slot's tiles hold only its
  // format's ads.
  absl::flat_hash_map<std::string, uint16_t> format_ids;
  std::vector<std::vector<AdRef>> by_format;
  for (auto& campaign : campaigns) {
    if (campaign->status == attex::v1::CAMPAIGN_STATUS_ARCHIVED) continue;
    const auto index = static_cast<int32_t>(catalog->campaigns.size());
    const bool active = campaign->status == attex::v1::CAMPAIGN_STATUS_ACTIVE;
    catalog->active_campaigns += active;
    catalog->active_ads += active ? static_cast<int64_t>(campaign->creatives.size()) : 0;
    for (size_t i = 0; i < campaign->creatives.size(); ++i) {
      const auto& creative = campaign->creatives[i];
      auto [format, new_format] =
          format_ids.try_emplace(creative.format, static_cast<uint16_t>(catalog->formats.size()));
      if (new_format) {
        if (catalog->formats.size() > std::numeric_limits<uint16_t>::max()) std::abort();
        catalog->formats.push_back(creative.format);
        by_format.emplace_back();
      }
      by_format[format->second].push_back({index, static_cast<int32_t>(i)});
    }
    AddToIndex(*campaign, index, &catalog->index);
    catalog->campaigns.push_back(std::move(campaign));
  }
  for (size_t f = 0; f < by_format.size(); ++f) {
    for (const AdRef& ad : by_format[f]) {
      const CompiledCampaign& campaign = *catalog->campaigns[ad.campaign];
      const CompiledCreative& creative = campaign.creatives[ad.creative];
      catalog->ads.push_back(ad);
      catalog->keys.insert(catalog->keys.end(), creative.key.begin(), creative.key.begin() + d);
      catalog->values.push_back(static_cast<float>(campaign.bid_cpm_micros));
      catalog->ad_format.push_back(static_cast<uint16_t>(f));
      auto category = catalog->category_ids.try_emplace(
          creative.category, static_cast<int32_t>(catalog->category_ids.size()));
      catalog->ad_category.push_back(category.first->second);
    }
  }
  const auto n_ads = static_cast<int64_t>(catalog->ads.size());
  const std::vector<float> bias = HeadBiases(*catalog, key_format);
  catalog->tiled_keys = attention::TiledKeys(catalog->keys, n_ads, d, heads, key_format, bias);
  return catalog;
}

absl::StatusOr<std::unique_ptr<attention::AnnIndex>> BuildAnnIndex(
    const Catalog& catalog, const attention::AnnOptions& options,
    const attention::AnnProgress& progress) {
  const int d = catalog.model->d_model();
  const size_t rows = catalog.ads.size();
  std::vector<float> augmented(rows * (d + 1));
  for (size_t i = 0; i < rows; ++i) {
    std::copy_n(catalog.keys.data() + i * d, d, augmented.data() + i * (d + 1));
    // Relative to 1 CPM, so that the column stays near the keys' scale and
    // the graph's neighbourhoods are still chosen by the keys.
    const double bid = std::max<double>(catalog.values[i], 1.0);
    augmented[i * (d + 1) + d] = static_cast<float>(std::log(bid / 1e6));
  }
  return attention::AnnIndex::Build(augmented, static_cast<int64_t>(rows), d + 1, options,
                                    progress);
}

}  // namespace attex::auction
