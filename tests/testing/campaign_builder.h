// Campaigns for tests, built field by field:
//
//   const attex::v1::Campaign c = CampaignBuilder()
//                                     .Name("trail shoes")
//                                     .BidCpm(5'000'000)
//                                     .TotalBudget(10'000'000)
//                                     .Creative({.category = "sports", .features = {"kw:trail"}})
//                                     .Build();
//
// Only what a test sets is set: every other field keeps the proto's default,
// exactly as if the message had been filled by hand, so a campaign sent to
// the server still gets the server's defaults (status, ids, versions).
#ifndef ATTEX_TESTS_TESTING_CAMPAIGN_BUILDER_H_
#define ATTEX_TESTS_TESTING_CAMPAIGN_BUILDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "attex/v1/campaign.pb.h"

namespace attex::testing {

// One creative. The fields follow attex.v1.Creative's order, so designated
// initializers read as the message does: {.format = "native", .features = {"kw:a"}}.
// Empty fields are left unset.
struct CreativeSpec {
  std::string id;
  std::string format = "banner";
  std::string category;
  std::vector<std::string> features;
  std::vector<float> embedding;
  std::string markup;
};

class CampaignBuilder final {
 public:
  CampaignBuilder& Id(const std::string& id);
  CampaignBuilder& Advertiser(const std::string& advertiser_id);
  CampaignBuilder& Name(const std::string& name);
  CampaignBuilder& Status(attex::v1::CampaignStatus status);
  CampaignBuilder& Version(int64_t version);
  CampaignBuilder& BidCpm(int64_t micros);
  CampaignBuilder& TotalBudget(int64_t micros);
  CampaignBuilder& DailyBudget(int64_t micros);
  // Appends to targeting.countries / targeting.include_features.
  CampaignBuilder& Country(const std::string& country);
  CampaignBuilder& IncludeFeature(const std::string& feature);
  // Appends a creative.
  CampaignBuilder& Creative(const CreativeSpec& creative);

  // A copy: the builder can go on to make a variant.
  attex::v1::Campaign Build() const { return campaign_; }

 private:
  attex::v1::Campaign campaign_;
};

}  // namespace attex::testing

#endif  // ATTEX_TESTS_TESTING_CAMPAIGN_BUILDER_H_
