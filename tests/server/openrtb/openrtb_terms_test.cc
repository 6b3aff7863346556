// The OpenRTB 2.6 request mapping (server/openrtb/openrtb_mapping.h) of
// what a request says in other terms than attex's: floors and answers in
// another currency (server/openrtb/currency.h) and the consent sections of
// a GPP string (server/openrtb/gpp.h), on the IAB's example strings.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/validation.h"
#include "gtest/gtest.h"
#include "server/openrtb/openrtb_mapping.h"

namespace attex::openrtb {
namespace {

constexpr char kOneBanner[] = R"("imp":[{"id":"1","banner":{"w":300,"h":250}}])";

// A request that maps, and that the gRPC path accepts as it is.
Request ParseValid(const std::string& json) {
  Request r;
  const absl::Status s = ParseBidRequest(json, MappingOptions(), &r);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_TRUE(api::ValidateBidRequest(r.bid, 64).ok()) << api::ValidateBidRequest(r.bid, 64);
  return r;
}

MappingOptions WithRates() {
  MappingOptions options;
  auto rates = CurrencyRates::Parse("EUR 1.25\nJPY 0.0066\n", "rates.txt", "USD");
  EXPECT_TRUE(rates.ok()) << rates.status();
  options.rates = *rates;
  return options;
}

TEST(OpenRtbTermsTest, FloorsInAnotherCurrencyAreConvertedRoundedUp) {
  Request r;
  ASSERT_TRUE(ParseBidRequest(R"({"id":"x","imp":[{"id":"1","native":{},"bidfloor":2,
      "bidfloorcur":"EUR"},{"id":"2","native":{},"bidfloor":150,"bidfloorcur":"JPY"},
      {"id":"3","native":{},"bidfloor":0.000001,"bidfloorcur":"JPY"}]})",
                              WithRates(), &r)
                  .ok());
  EXPECT_EQ(r.bid.slots(0).floor_cpm_micros(), 2'500'000);  // 2 EUR at 1.25.
  EXPECT_EQ(r.bid.slots(1).floor_cpm_micros(), 990'000);    // 150 JPY at 0.0066.
  EXPECT_EQ(r.bid.slots(2).floor_cpm_micros(), 1);          // 0.0000066 micros: up to 1.
  EXPECT_EQ(r.currency, "USD");                             // No cur: the account's.
  const absl::Status s = ParseBidRequest(
      R"({"id":"x","imp":[{"id":"1","native":{},"bidfloor":1,"bidfloorcur":"GBP"}]})", WithRates(),
      &r);
  EXPECT_EQ(s.message(),
            "imp[0].bidfloorcur: no exchange rate for \"GBP\": floors in USD or a currency of "
            "--currency_rates");
}

TEST(OpenRtbTermsTest, TheAnswersCurrencyIsTheAccountsWhenCurNamesItElseTheFirstWithARate) {
  Request r;
  ASSERT_TRUE(
      ParseBidRequest(std::string(R"({"id":"x","cur":["GBP","EUR","USD"],)") + kOneBanner + "}",
                      WithRates(), &r)
          .ok());
  EXPECT_EQ(r.currency, "USD");
  EXPECT_EQ(r.rate, CurrencyRates::kOne);
  ASSERT_TRUE(
      ParseBidRequest(std::string(R"({"id":"x","cur":["GBP","JPY","EUR"],)") + kOneBanner + "}",
                      WithRates(), &r)
          .ok());
  EXPECT_EQ(r.currency, "JPY");
  EXPECT_EQ(r.rate, 6'600'000);
  const absl::Status s = ParseBidRequest(
      std::string(R"({"id":"x","cur":["GBP"],)") + kOneBanner + "}", WithRates(), &r);
  EXPECT_EQ(s.message(),
            "cur: no exchange rate for any of these: attex bids in USD or a currency of "
            "--currency_rates");
}

// GPP strings from the IAB's specification (the TCF EU v2 and US Privacy
// examples) and its reference library's tests (the US national section).
constexpr char kGppTcf[] = "DBABM~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA";
constexpr char kGppTcfUsp[] = "DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN";
constexpr char kGppUsNatOptedOut[] = "DBABLA~BVVVkkkklWA.YA";
constexpr char kGppUsNatNoOptOut[] = "DBABLA~BVVqAAEABAA.QA";

Request WithRegs(const std::string& regs) {
  return ParseValid(std::string(R"({"id":"x","regs":)") + regs + "," + kOneBanner + "}");
}

TEST(OpenRtbTermsTest, GppsTcfSectionIsTheConsentStringWhenSectionTwoApplies) {
  Request r = WithRegs(absl::StrCat(R"({"gpp":")", kGppTcf, R"(","gpp_sid":[2]})"));
  EXPECT_TRUE(r.bid.user().consent().gdpr_applies());
  EXPECT_EQ(r.bid.user().consent().tcf_consent(), "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA");
  EXPECT_FALSE(r.bid.user().consent().limit_ad_tracking());
  // user.consent, when given, is the consent string.
  r = ParseValid(absl::StrCat(R"({"id":"x","user":{"consent":"COwn"},"regs":{"gpp":")", kGppTcf,
                              R"(","gpp_sid":[2]},)", kOneBanner, "}"));
  EXPECT_EQ(r.bid.user().consent().tcf_consent(), "COwn");
}

TEST(OpenRtbTermsTest, GppsUsPrivacySectionIsHonouredWhenItApplies) {
  // 1YNN: notice given, not opted out.
  Request r = WithRegs(absl::StrCat(R"({"gpp":")", kGppTcfUsp, R"(","gpp_sid":[6]})"));
  EXPECT_FALSE(r.bid.user().consent().limit_ad_tracking());
  EXPECT_FALSE(r.bid.user().consent().gdpr_applies());
  r = WithRegs(R"({"gpp":"DBABTA~1YYN","gpp_sid":[6]})");
  EXPECT_TRUE(r.bid.user().consent().limit_ad_tracking());
  // Not in gpp_sid: not in force.
  r = WithRegs(R"({"gpp":"DBABTA~1YYN","gpp_sid":[7]})");
  EXPECT_TRUE(r.bid.user().consent().limit_ad_tracking());  // Section 7 missing: restricted.
  r = WithRegs(R"({"gpp":"DBACNY~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YYN",
                   "gpp_sid":[2]})");
  EXPECT_FALSE(r.bid.user().consent().limit_ad_tracking());
}

TEST(OpenRtbTermsTest, GppsUsNationalOptOutsLimitAdTracking) {
  Request r = WithRegs(absl::StrCat(R"({"gpp":")", kGppUsNatOptedOut, R"(","gpp_sid":[7]})"));
  EXPECT_TRUE(r.bid.user().consent().limit_ad_tracking());
  r = WithRegs(absl::StrCat(R"({"gpp":")", kGppUsNatNoOptOut, R"(","gpp_sid":[7]})"));
  EXPECT_FALSE(r.bid.user().consent().limit_ad_tracking());
  // Without gpp_sid the sections the string has are in force.
  r = WithRegs(absl::StrCat(R"({"gpp":")", kGppUsNatOptedOut, R"("})"));
  EXPECT_TRUE(r.bid.user().consent().limit_ad_tracking());
  // A string that cannot be read restricts what its gpp_sid puts in force.
  r = WithRegs(R"({"gpp":"not a gpp string","gpp_sid":[7]})");
  EXPECT_TRUE(r.bid.user().consent().limit_ad_tracking());
  r = WithRegs(R"({"gpp":"not a gpp string","gpp_sid":[2]})");
  EXPECT_TRUE(r.bid.user().consent().gdpr_applies());
  EXPECT_TRUE(r.bid.user().consent().tcf_consent().empty());
}

}  // namespace
}  // namespace attex::openrtb
