// Campaigns for tests, built field by field:
//
//   const attex::v1::Campaign c = CampaignBuilder()
//                                     .Name("trail shoes")
//                                     .BidCpm(5'000'000)
//                                     .TotalBudget(10'000'000)
//                                     .Creative("banner")
//                                     .Category("sports")
//                                     .Features({"interest:running", "kw:trail"})
//                                     .Build();
//
// Only what a test sets is set: every other field keeps the proto's default,
// exactly as if the message had been filled by hand, so that a campaign sent
// to the server still gets the server's defaults (status, ids, versions).
#ifndef ATTEX_TESTS_TESTING_CAMPAIGN_BUILDER_H_
#define ATTEX_TESTS_TESTING_CAMPAIGN_BUILDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "attex/v1/campaign.pb.h"

namespace attex::testing {

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
  // Append to targeting.countries and targeting.include_features.
  CampaignBuilder& Country(const std::string& country);
  CampaignBuilder& IncludeFeature(const std::string& feature);
  // Appends to adomain.
  CampaignBuilder& Adomain(const std::string& domain);

  // Appends a creative of `format`; the calls below then fill it in.
  CampaignBuilder& Creative(const std::string& format = "banner");
  // Of the last creative (aborts if there is none: a broken test).
  CampaignBuilder& CreativeId(const std::string& id);
  CampaignBuilder& Category(const std::string& category);
  CampaignBuilder& Features(const std::vector<std::string>& features);  // Appended.
  CampaignBuilder& Embedding(const std::vector<float>& embedding);      // Appended.
  CampaignBuilder& Markup(const std::string& markup);
  CampaignBuilder& Size(int32_t w, int32_t h);
  CampaignBuilder& Mime(const std::string& mime);
  CampaignBuilder& DurationS(int32_t seconds);
  CampaignBuilder& MoreCategories(const std::vector<std::string>& categories);  // Appended.

  // A copy: the builder can go on to make a variant.
  attex::v1::Campaign Build() const { return campaign_; }

 private:
  attex::v1::Creative& LastCreative();

  attex::v1::Campaign campaign_;
};

}  // namespace attex::testing

#endif  // ATTEX_TESTS_TESTING_CAMPAIGN_BUILDER_H_
