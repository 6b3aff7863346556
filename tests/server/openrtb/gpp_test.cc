// GPP strings (server/openrtb/gpp.h) on the IAB's examples: the headers of
// its specification (TCF EU v2 "DBABM", TCF EU v2 and US Privacy "DBACNY",
// Canadian TCF and US Privacy "DBABjw"), and US national sections from the
// IAB's reference library's tests.
#include "server/openrtb/gpp.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace attex::openrtb {
namespace {

constexpr char kTcf[] = "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA";

TEST(GppTest, TheSpecificationsExampleHeadersNameTheirSections) {
  GppString gpp;  // Views into the string parsed: each is kept.
  const std::string tcf_only = std::string("DBABM~") + kTcf;
  ASSERT_TRUE(ParseGpp(tcf_only, &gpp));
  EXPECT_EQ(gpp.section_ids, std::vector<int>{2});
  EXPECT_EQ(gpp.Section(kGppTcfEuV2), kTcf);

  const std::string tcf_usp = std::string("DBACNY~") + kTcf + "~1YNN";
  ASSERT_TRUE(ParseGpp(tcf_usp, &gpp));
  EXPECT_EQ(gpp.section_ids, (std::vector<int>{2, 6}));
  EXPECT_EQ(gpp.Section(kGppUspV1), "1YNN");

  // A range of ids: 5 (Canadian TCF) to 6.
  const std::string canada_usp = std::string("DBABjw~") + kTcf + "~1YNN";
  ASSERT_TRUE(ParseGpp(canada_usp, &gpp));
  EXPECT_EQ(gpp.section_ids, (std::vector<int>{5, 6}));
  EXPECT_TRUE(gpp.Section(kGppTcfEuV2).empty());

  ASSERT_TRUE(ParseGpp("DBABLA~BVVqAAEABAA.QA", &gpp));
  EXPECT_EQ(gpp.section_ids, std::vector<int>{7});
  ASSERT_TRUE(ParseGpp("DBABTA~1YNN", &gpp));
  EXPECT_EQ(gpp.section_ids, std::vector<int>{6});
}

TEST(GppTest, MalformedStringsAreRefused) {
  GppString gpp;
  for (const char* bad : {"", "~", "DBABM", "DBACNY~only-one", "D!ABM~x", "CBABM~x", "DCABM~x",
                          "DBAB", "DB_____~x"}) {
    EXPECT_FALSE(ParseGpp(bad, &gpp)) << bad;
  }
}

TEST(GppTest, OptOutsAreReadFromUsPrivacyAndTheUsNationalSection) {
  EXPECT_EQ(SectionOptOut(kGppUspV1, "1YNN"), OptOut::kNo);
  EXPECT_EQ(SectionOptOut(kGppUspV1, "1YYN"), OptOut::kYes);
  EXPECT_EQ(SectionOptOut(kGppUspV1, "1---"), OptOut::kNo);
  EXPECT_EQ(SectionOptOut(kGppUspV1, "YYN"), OptOut::kUnreadable);
  // Every notice given and every opt-out taken ("BVVVkkkklWA.YA"), none
  // taken ("BVVqAAEABAA.QA"), the defaults ("BAAAAAAAAQA.QA").
  EXPECT_EQ(SectionOptOut(kGppUsNational, "BVVVkkkklWA.YA"), OptOut::kYes);
  EXPECT_EQ(SectionOptOut(kGppUsNational, "BVVqAAEABAA.QA"), OptOut::kNo);
  EXPECT_EQ(SectionOptOut(kGppUsNational, "BAAAAAAAAQA.QA"), OptOut::kNo);
  EXPECT_EQ(SectionOptOut(kGppUsNational, "BVV"), OptOut::kUnreadable);
  // California: sale opt-out notice and sale not opted out ("BVoYYZoA"),
  // and sharing opted out (SharingOptOut, bits 14-15, 1).
  EXPECT_EQ(SectionOptOut(kGppUsCalifornia, "BVoYYZoA"), OptOut::kNo);
  EXPECT_EQ(SectionOptOut(kGppUsCalifornia, "BVmAAAAA"), OptOut::kYes);
  EXPECT_EQ(SectionOptOut(kGppTcfEuV2, kTcf), OptOut::kUnreadable);
}

TEST(GppTest, ApplyGppHonoursTheSectionsInForce) {
  attex::v1::Consent consent;
  const int64_t tcf_in_force[] = {2};
  const std::string tcf_only = std::string("DBABM~") + kTcf;
  ApplyGpp(tcf_only, true, tcf_in_force, &consent);
  EXPECT_EQ(consent.tcf_consent(), kTcf);
  EXPECT_FALSE(consent.limit_ad_tracking());
  consent.Clear();
  const int64_t national[] = {7};
  ApplyGpp("DBABLA~BVVVkkkklWA.YA", true, national, &consent);
  EXPECT_TRUE(consent.limit_ad_tracking());
  consent.Clear();
  ApplyGpp("DBABLA~BVVqAAEABAA.QA", true, national, &consent);
  EXPECT_FALSE(consent.limit_ad_tracking());
  consent.Clear();
  ApplyGpp("DBABLA~BVVVkkkklWA.YA", true, tcf_in_force, &consent);  // 7 not in force.
  EXPECT_FALSE(consent.limit_ad_tracking());
}

}  // namespace
}  // namespace attex::openrtb
