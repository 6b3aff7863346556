// The OpenRTB 2.6 request mapping (server/openrtb/openrtb_mapping.h) on
// example requests in the shape of IAB's (fixtures/, written for these
// tests: simple banner, mobile app, video, native with a multi-size banner,
// a private marketplace), and every error it reports.
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/validation.h"
#include "gtest/gtest.h"
#include "server/openrtb/openrtb_mapping.h"

namespace attex::openrtb {
namespace {

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(ATTEX_OPENRTB_FIXTURES) + "/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

bool Has(const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& item) {
  for (const auto& s : list) {
    if (s == item) return true;
  }
  return false;
}

Request Parse(const std::string& json) {
  Request r;
  const absl::Status s = ParseBidRequest(json, MappingOptions(), &r);
  EXPECT_TRUE(s.ok()) << s;
  // What the mapping makes is a request the gRPC path accepts as it is.
  EXPECT_TRUE(api::ValidateBidRequest(r.bid, 64).ok()) << api::ValidateBidRequest(r.bid, 64);
  return r;
}

TEST(OpenRtbRequestTest, SimpleBannerBecomesOneBannerSlotWithSiteDeviceAndUser) {
  const Request r = Parse(Fixture("simple-banner.json"));
  const auto& b = r.bid;
  EXPECT_EQ(b.request_id(), "80ce30c53c16e6ede735f123ef6e32361bfc7b22");
  ASSERT_EQ(b.slots_size(), 1);
  EXPECT_EQ(b.slots(0).id(), "1");
  EXPECT_EQ(b.slots(0).format(), "banner");
  EXPECT_EQ(b.slots(0).floor_cpm_micros(), 30'000);  // 0.03 CPM, exactly.
  EXPECT_EQ(b.slots(0).position(), 2);               // pos 0: unknown.
  EXPECT_EQ(b.tmax_ms(), 120);
  EXPECT_EQ(b.auction_type(), attex::v1::AUCTION_TYPE_FIRST_PRICE);
  EXPECT_TRUE(Has(b.context().features(), "domain:www.foobar.com"));
  EXPECT_TRUE(Has(b.context().features(), "cat:IAB3-1"));
  EXPECT_TRUE(Has(b.context().features(), "publisher:8953"));
  EXPECT_EQ(b.context().country(), "US");  // From alpha-3 "USA".
  EXPECT_EQ(b.context().device_type(), "desktop");
  EXPECT_EQ(b.user().id(), "55816b39711f9b5acf3b90e313ed29e51665623f");
  EXPECT_TRUE(Has(b.user().features(), "kw:running"));
  EXPECT_TRUE(Has(b.user().features(), "kw:marathon"));  // Trimmed.
  EXPECT_FALSE(b.user().consent().gdpr_applies());
  EXPECT_FALSE(b.test());
  ASSERT_EQ(r.imps.size(), 1u);
  EXPECT_EQ(r.imps[0].w, 300);
  EXPECT_EQ(r.imps[0].h, 250);
  EXPECT_EQ(r.imps[0].mtype, MediaType::kBanner);
  // The banner's size is what the slot accepts.
  ASSERT_EQ(b.slots(0).sizes_size(), 1);
  EXPECT_EQ(b.slots(0).sizes(0).w(), 300);
  EXPECT_EQ(b.slots(0).sizes(0).h(), 250);
  EXPECT_EQ(r.currency, "USD");
  EXPECT_TRUE(absl::StrContains(r.schain, "\"asi\":\"ssp.example\"")) << r.schain;
}

TEST(OpenRtbRequestTest, MobileAppMapsAppBlocksDeviceAndGdpr) {
  const Request r = Parse(Fixture("mobile-app.json"));
  const auto& b = r.bid;
  EXPECT_EQ(b.auction_type(), attex::v1::AUCTION_TYPE_SECOND_PRICE);
  EXPECT_EQ(b.blocked_categories_size(), 5);
  EXPECT_EQ(b.blocked_categories(0), "IAB25");
  ASSERT_EQ(b.slots_size(), 1);
  EXPECT_EQ(b.slots(0).floor_cpm_micros(), 500'000);
  EXPECT_EQ(b.slots(0).position(), 1);  // Above the fold.
  EXPECT_TRUE(Has(b.context().features(), "app:com.example.weather"));
  EXPECT_TRUE(Has(b.context().features(), "cat:IAB15-10"));
  EXPECT_TRUE(Has(b.context().features(), "kw:forecast"));
  EXPECT_TRUE(Has(b.context().features(), "os:ios"));
  EXPECT_EQ(b.context().country(), "GB");
  EXPECT_EQ(b.context().device_type(), "mobile");  // 4: phone.
  EXPECT_EQ(b.user().id(), "u-1001");              // buyeruid, before the ifa.
  // gdpr 1 without a consent string: the gRPC path's privacy rules restrict.
  EXPECT_TRUE(b.user().consent().gdpr_applies());
  EXPECT_TRUE(b.user().consent().tcf_consent().empty());
  EXPECT_EQ(r.imps[0].w, 728);
  EXPECT_EQ(r.imps[0].h, 90);
}

TEST(OpenRtbRequestTest, VideoIsAVideoSlotWithSegmentsAndUsPrivacyOptOut) {
  const Request r = Parse(Fixture("video.json"));
  const auto& b = r.bid;
  ASSERT_EQ(b.slots_size(), 1);
  EXPECT_EQ(b.slots(0).format(), "video");
  EXPECT_EQ(b.slots(0).position(), 0);                  // Fullscreen.
  EXPECT_EQ(b.slots(0).floor_cpm_micros(), 3'000'001);  // 3.000001 CPM.
  EXPECT_EQ(r.imps[0].mtype, MediaType::kVideo);
  EXPECT_EQ(r.imps[0].w, 640);
  EXPECT_EQ(r.imps[0].h, 480);
  // A player's size is said in the answer, not matched; its mimes and
  // durations are.
  EXPECT_EQ(b.slots(0).sizes_size(), 0);
  ASSERT_EQ(b.slots(0).mimes_size(), 3);
  EXPECT_EQ(b.slots(0).mimes(1), "video/mp4");
  EXPECT_EQ(b.slots(0).min_duration_s(), 5);
  EXPECT_EQ(b.slots(0).max_duration_s(), 30);
  EXPECT_EQ(b.context().device_type(), "ctv");
  EXPECT_TRUE(Has(b.context().features(), "kw:keyword-b"));  // site.content.keywords.
  EXPECT_TRUE(Has(b.context().features(), "cat:IAB2-2"));
  EXPECT_EQ(b.user().id(), "456789876567897654678987656789");  // user.id before buyeruid.
  EXPECT_TRUE(Has(b.user().features(), "segment:6/12341318394918"));
  EXPECT_TRUE(b.user().consent().limit_ad_tracking());  // us_privacy 1YYN: opted out of sale.
}

TEST(OpenRtbRequestTest, NativeAndMultiSizeBannerAreTwoSlotsInOrderOfProminence) {
  const Request r = Parse(Fixture("native.json"));
  const auto& b = r.bid;
  ASSERT_EQ(b.slots_size(), 2);
  EXPECT_EQ(b.slots(0).id(), "n1");
  EXPECT_EQ(b.slots(0).format(), "native");
  EXPECT_EQ(b.slots(0).floor_cpm_micros(), 1'250'000);
  EXPECT_EQ(r.imps[0].mtype, MediaType::kNative);
  EXPECT_EQ(b.slots(1).format(), "banner");
  EXPECT_EQ(b.slots(1).position(), 4);  // Below the fold.
  EXPECT_EQ(b.slots(1).floor_cpm_micros(), 0);
  // Two sizes: the slot accepts both, the answer names the creative's.
  EXPECT_EQ(r.imps[1].w, 0);
  EXPECT_EQ(r.imps[1].h, 0);
  ASSERT_EQ(b.slots(1).sizes_size(), 2);
  EXPECT_EQ(b.slots(1).sizes(1).w(), 320);
  EXPECT_EQ(b.slots(1).sizes(1).h(), 50);
  EXPECT_EQ(b.slots(0).sizes_size(), 0);  // Native: any.
  EXPECT_TRUE(b.test());
  EXPECT_EQ(b.tmax_ms(), 200);
  EXPECT_EQ(b.context().country(), "CA");
  EXPECT_EQ(b.context().device_type(), "tablet");
  EXPECT_TRUE(Has(b.context().features(), "kw:shoes"));
  EXPECT_TRUE(Has(b.context().features(), "publisher:p-7"));
  EXPECT_TRUE(Has(b.user().features(), "kw:trail"));
  EXPECT_TRUE(b.user().consent().gdpr_applies());
  EXPECT_FALSE(b.user().consent().tcf_consent().empty());
}

TEST(OpenRtbRequestTest, TheDocsExampleRequestMapsAsDocsOpenrtbMdSays) {
  std::ifstream in(std::string(ATTEX_SOURCE_DIR) + "/client/examples/openrtb-request.json");
  std::stringstream json;
  json << in.rdbuf();
  const Request r = Parse(json.str());
  ASSERT_EQ(r.bid.slots_size(), 2);
  EXPECT_EQ(r.bid.slots(0).floor_cpm_micros(), 200'000);
  EXPECT_EQ(r.bid.slots(1).format(), "native");
  EXPECT_TRUE(Has(r.bid.context().features(), "kw:marathon"));
  EXPECT_EQ(r.bid.context().country(), "US");
  EXPECT_EQ(r.bid.user().id(), "u-1001");
}

TEST(OpenRtbRequestTest, PrivateAuctionImpressionsAreLeftOutForWantOfDeals) {
  Request r;
  ASSERT_TRUE(ParseBidRequest(Fixture("pmp-private.json"), MappingOptions(), &r).ok());
  EXPECT_EQ(r.bid.slots_size(), 0);
  EXPECT_EQ(r.private_imps, 1);
  EXPECT_EQ(r.bid.request_id(), "pmp-1");
}

TEST(OpenRtbRequestTest, UnknownFieldsAndExtensionsAreIgnored) {
  const Request r = Parse(R"({"id":"x","future":{"a":[1,{"b":null}]},"ext":{"tmax":-5},
      "imp":[{"id":"1","ext":{"bidder":{}},"banner":{"w":1,"h":1,"ext":7},"newthing":true}],
      "site":{"ext":"s","domain":"d.example"},"user":{"ext":{"consent":5}}})");
  EXPECT_EQ(r.bid.slots_size(), 1);
  EXPECT_EQ(r.bid.tmax_ms(), 0);
  EXPECT_TRUE(r.bid.user().consent().tcf_consent().empty());
}

TEST(OpenRtbRequestTest, TheAttexDataProviderCarriesAttexFeaturesAsTheyAre) {
  const Request r = Parse(R"({"id":"x","imp":[{"id":"1","native":{}}],
      "user":{"data":[{"id":"attex","segment":[{"id":"interest:running"}]},
                      {"segment":[{"id":"7"}]}]},
      "site":{"content":{"data":[{"id":"attex","segment":[{"id":"site:news"}]}]}}})");
  EXPECT_TRUE(Has(r.bid.user().features(), "interest:running"));
  EXPECT_TRUE(Has(r.bid.user().features(), "segment:7"));
  EXPECT_TRUE(Has(r.bid.context().features(), "site:news"));
}

TEST(OpenRtbRequestTest, ATmaxPastTheLongestIsTheLongest) {
  const Request r = Parse(R"({"id":"x","tmax":60000,"imp":[{"id":"1","native":{}}]})");
  EXPECT_EQ(r.bid.tmax_ms(), 10'000);
}

struct BadCase {
  const char* json;
  const char* message_prefix;
};

class OpenRtbRequestErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(OpenRtbRequestErrorTest, IsInvalidArgumentNamingTheField) {
  Request r;
  const absl::Status s = ParseBidRequest(GetParam().json, MappingOptions(), &r);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StartsWith(s.message(), GetParam().message_prefix)) << s.message();
}

constexpr char kImp[] = R"("imp":[{"id":"1","banner":{"w":300,"h":250}}])";

INSTANTIATE_TEST_SUITE_P(
    Cases, OpenRtbRequestErrorTest,
    ::testing::Values(
        BadCase{R"({"id":"x","imp":[)", "body: malformed JSON"},
        BadCase{"", "body: malformed JSON"}, BadCase{"[1,2]", "body: must be an object"},
        BadCase{R"({"imp":[{"id":"1","banner":{"w":1,"h":1}}]})", "id: is required"},
        BadCase{R"({"id":"","imp":[{"id":"1","native":{}}]})", "id: must not be empty"},
        BadCase{R"({"id":7,"imp":[{"id":"1","native":{}}]})", "id: must be a string"},
        BadCase{R"({"id":"x"})", "imp: is required"},
        BadCase{R"({"id":"x","imp":[]})", "imp: needs at least one impression"},
        BadCase{R"({"id":"x","imp":{}})", "imp: must be an array"},
        BadCase{R"({"id":"x","imp":[{"banner":{"w":1,"h":1}}]})", "imp[0].id: is required"},
        BadCase{R"({"id":"x","imp":[{"id":"1","native":{}},{"id":"1","native":{}}]})",
                "imp[1].id: repeats \"1\""},
        BadCase{R"({"id":"x","imp":[{"id":"1"}]})", "imp[0]: needs one of banner, video"},
        BadCase{R"({"id":"x","imp":[{"id":"1","banner":{"pos":1}}]})",
                "imp[0].banner: needs a size"},
        BadCase{R"({"id":"x","imp":[{"id":"1","banner":{"w":300}}]})",
                "imp[0].banner: needs a size"},
        BadCase{R"({"id":"x","imp":[{"id":"1","video":{},"banner":{"format":[]}}]})",
                "imp[0].banner: needs a size"},
        BadCase{R"({"id":"x","imp":[{"id":"1","banner":{"format":[{"w":1,"h":1},{"w":"2"}]}}]})",
                "imp[0].banner.format[1].w: must be an integer"},
        BadCase{R"({"id":"x","tmax":-1,"imp":[{"id":"1","native":{}}]})",
                "tmax: must not be negative"},
        BadCase{R"({"id":"x","tmax":"100","imp":[{"id":"1","native":{}}]})",
                "tmax: must be an integer"},
        BadCase{R"({"id":"x","tmax":1.5,"imp":[{"id":"1","native":{}}]})",
                "tmax: must be an integer"},
        BadCase{R"({"id":"x","imp":[{"id":"1","native":{},"bidfloor":-0.01}]})",
                "imp[0].bidfloor: must not be negative"},
        BadCase{R"({"id":"x","imp":[{"id":"1","native":{},"bidfloor":"1"}]})",
                "imp[0].bidfloor: must be a number"},
        BadCase{R"({"id":"x","imp":[{"id":"1","native":{},"bidfloor":1,"bidfloorcur":"EUR"}]})",
                "imp[0].bidfloorcur: no exchange rate for \"EUR\""},
        BadCase{R"({"id":"x","cur":["EUR","GBP"],"imp":[{"id":"1","native":{}}]})",
                "cur: no exchange rate for any of these: attex bids in USD"},
        BadCase{R"({"id":"x","badv":7,"imp":[{"id":"1","native":{}}]})", "badv: must be an array"},
        BadCase{R"({"id":"x","imp":[{"id":"1","video":{"minduration":-1}}]})",
                "imp[0].video.minduration: must be 0 to 86400 seconds"},
        BadCase{R"({"id":"x","imp":[{"id":"1","video":{"minduration":30,"maxduration":15}}]})",
                "imp[0].video.maxduration: must be at least minduration"},
        BadCase{R"({"id":"x","imp":[{"id":"1","audio":{"mimes":"audio/mp4"}}]})",
                "imp[0].audio.mimes: must be an array"},
        BadCase{R"({"id":"x","site":{},"app":{},"imp":[{"id":"1","native":{}}]})",
                "app: a request has site or app, not both"},
        BadCase{R"({"id":"x","site":[],"imp":[{"id":"1","native":{}}]})",
                "site: must be an object"},
        BadCase{R"({"id":"x","device":{"geo":{"country":3}},"imp":[{"id":"1","native":{}}]})",
                "device.geo.country: must be a string"},
        BadCase{R"({"id":"x","regs":{"gpp_sid":[2,"x"]},"imp":[{"id":"1","native":{}}]})",
                "regs.gpp_sid[1]: must be an integer"},
        BadCase{R"({"id":"x","imp":[{"id":"1","native":{}},{"id":"2","native":{}},
            {"id":"3","native":{}},{"id":"4","native":{}},{"id":"5","native":{}},
            {"id":"6","native":{}},{"id":"7","native":{}},{"id":"8","native":{}},
            {"id":"9","native":{}},{"id":"10","native":{}},{"id":"11","native":{}},
            {"id":"12","native":{}},{"id":"13","native":{}},{"id":"14","native":{}},
            {"id":"15","native":{}},{"id":"16","native":{}},{"id":"17","native":{}}]})",
                "imp: more than 16 impressions"}));

TEST(OpenRtbRequestTest, ABannerOfManyFormatsAcceptsEachSizeOnceAndOneByRatioAcceptsAny) {
  Request r = Parse(R"({"id":"x","imp":[{"id":"1","banner":{"w":300,"h":250,
      "format":[{"w":300,"h":250},{"w":728,"h":90},{"w":300,"h":250}]}}]})");
  ASSERT_EQ(r.bid.slots(0).sizes_size(), 2);
  EXPECT_EQ(r.bid.slots(0).sizes(0).w(), 300);
  EXPECT_EQ(r.bid.slots(0).sizes(1).w(), 728);
  r = Parse(R"({"id":"x","imp":[{"id":"1","banner":{"format":[{"w":300,"h":250},
      {"wratio":16,"hratio":9,"wmin":320}]}}]})");
  EXPECT_EQ(r.bid.slots(0).sizes_size(), 0);
  EXPECT_EQ(r.imps[0].w, 0);
  std::string many = R"({"id":"x","imp":[{"id":"1","banner":{"format":[)";
  for (int i = 1; i <= 33; ++i)
    absl::StrAppend(&many, i > 1 ? "," : "", "{\"w\":", i, ",\"h\":50}");
  many += "]}}]}";
  const absl::Status s = ParseBidRequest(many, MappingOptions(), &r);
  EXPECT_TRUE(absl::StartsWith(s.message(), "imp[0].banner.format: more than 32 sizes")) << s;
}

TEST(OpenRtbRequestTest, AudioCarriesItsMimesAndDurations) {
  const Request r = Parse(R"({"id":"x","imp":[{"id":"1","audio":{"mimes":["audio/mp4",
      "audio/mpeg","audio/mp4"],"minduration":10,"maxduration":60}}]})");
  EXPECT_EQ(r.bid.slots(0).format(), "audio");
  EXPECT_EQ(r.bid.slots(0).mimes_size(), 2);  // Each once.
  EXPECT_EQ(r.bid.slots(0).min_duration_s(), 10);
  EXPECT_EQ(r.bid.slots(0).max_duration_s(), 60);
  EXPECT_EQ(r.imps[0].mtype, MediaType::kAudio);
}

TEST(OpenRtbRequestTest, BadvBlocksAdvertiserDomains) {
  const Request r =
      Parse(std::string(R"({"id":"x","badv":["ford.com"," chevy.com "],)") + kImp + "}");
  ASSERT_EQ(r.bid.blocked_domains_size(), 2);
  EXPECT_EQ(r.bid.blocked_domains(0), "ford.com");
  EXPECT_EQ(r.bid.blocked_domains(1), "chevy.com");  // Trimmed.
}

TEST(OpenRtbRequestTest, ABodyOfManyRequestsInARowParsesEachAfresh) {
  // The thread's parser is reused: nothing of one request leaks into the next.
  Request r;
  ASSERT_TRUE(ParseBidRequest(Fixture("video.json"), MappingOptions(), &r).ok());
  ASSERT_TRUE(
      ParseBidRequest(std::string("{\"id\":\"y\",") + kImp + "}", MappingOptions(), &r).ok());
  EXPECT_EQ(r.bid.request_id(), "y");
  ASSERT_EQ(r.bid.slots_size(), 1);
  EXPECT_EQ(r.bid.slots(0).format(), "banner");
  EXPECT_TRUE(r.bid.user().id().empty());
  EXPECT_TRUE(r.schain.empty());
  EXPECT_EQ(r.imps.size(), 1u);
}

}  // namespace
}  // namespace attex::openrtb
