#include "tests/testing/campaign_builder.h"

#include <cstdio>
#include <cstdlib>

namespace attex::testing {

CampaignBuilder& CampaignBuilder::Id(const std::string& id) {
  campaign_.set_id(id);
  return *this;
}

CampaignBuilder& CampaignBuilder::Advertiser(const std::string& advertiser_id) {
  campaign_.set_advertiser_id(advertiser_id);
  return *this;
}

CampaignBuilder& CampaignBuilder::Name(const std::string& name) {
  campaign_.set_name(name);
  return *this;
}

CampaignBuilder& CampaignBuilder::Status(attex::v1::CampaignStatus status) {
  campaign_.set_status(status);
  return *this;
}

CampaignBuilder& CampaignBuilder::Version(int64_t version) {
  campaign_.set_version(version);
  return *this;
}

CampaignBuilder& CampaignBuilder::BidCpm(int64_t micros) {
  campaign_.set_bid_cpm_micros(micros);
  return *this;
}

CampaignBuilder& CampaignBuilder::TotalBudget(int64_t micros) {
  campaign_.mutable_budget()->set_total_micros(micros);
  return *this;
}

CampaignBuilder& CampaignBuilder::DailyBudget(int64_t micros) {
  campaign_.mutable_budget()->set_daily_micros(micros);
  return *this;
}

CampaignBuilder& CampaignBuilder::Country(const std::string& country) {
  campaign_.mutable_targeting()->add_countries(country);
  return *this;
}

CampaignBuilder& CampaignBuilder::IncludeFeature(const std::string& feature) {
  campaign_.mutable_targeting()->add_include_features(feature);
  return *this;
}

CampaignBuilder& CampaignBuilder::Creative(const std::string& format) {
  campaign_.add_creatives()->set_format(format);
  return *this;
}

CampaignBuilder& CampaignBuilder::CreativeId(const std::string& id) {
  LastCreative().set_id(id);
  return *this;
}

CampaignBuilder& CampaignBuilder::Category(const std::string& category) {
  LastCreative().set_category(category);
  return *this;
}

CampaignBuilder& CampaignBuilder::Features(const std::vector<std::string>& features) {
  for (const auto& f : features) LastCreative().add_features(f);
  return *this;
}

CampaignBuilder& CampaignBuilder::Embedding(const std::vector<float>& embedding) {
  for (const float x : embedding) LastCreative().add_embedding(x);
  return *this;
}

CampaignBuilder& CampaignBuilder::Markup(const std::string& markup) {
  LastCreative().set_markup(markup);
  return *this;
}

CampaignBuilder& CampaignBuilder::Size(int32_t w, int32_t h) {
  LastCreative().set_w(w);
  LastCreative().set_h(h);
  return *this;
}

CampaignBuilder& CampaignBuilder::Mime(const std::string& mime) {
  LastCreative().set_mime(mime);
  return *this;
}

CampaignBuilder& CampaignBuilder::DurationS(int32_t seconds) {
  LastCreative().set_duration_s(seconds);
  return *this;
}

CampaignBuilder& CampaignBuilder::MoreCategories(const std::vector<std::string>& categories) {
  for (const auto& c : categories) LastCreative().add_categories(c);
  return *this;
}

CampaignBuilder& CampaignBuilder::Adomain(const std::string& domain) {
  campaign_.add_adomain(domain);
  return *this;
}

attex::v1::Creative& CampaignBuilder::LastCreative() {
  if (campaign_.creatives().empty()) {
    std::fprintf(stderr, "CampaignBuilder: a creative's field set before Creative()\n");
    std::abort();
  }
  return *campaign_.mutable_creatives(campaign_.creatives_size() - 1);
}

}  // namespace attex::testing
