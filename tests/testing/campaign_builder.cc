#include "tests/testing/campaign_builder.h"

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

CampaignBuilder& CampaignBuilder::Creative(const CreativeSpec& spec) {
  auto* creative = campaign_.add_creatives();
  if (!spec.id.empty()) creative->set_id(spec.id);
  if (!spec.format.empty()) creative->set_format(spec.format);
  if (!spec.category.empty()) creative->set_category(spec.category);
  for (const auto& f : spec.features) creative->add_features(f);
  for (const float x : spec.embedding) creative->add_embedding(x);
  if (!spec.markup.empty()) creative->set_markup(spec.markup);
  return *this;
}

}  // namespace attex::testing
