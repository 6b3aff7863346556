// Validation of what slots accept and creatives are (sizes, MIME types,
// durations), of advertiser domains, creative categories and blocked
// domains: the bounds of docs/validation.md, each error naming its field.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/validation.h"
#include "gtest/gtest.h"

namespace attex::api {
namespace {

using attex::v1::BidRequest;
using attex::v1::Campaign;

BidRequest SizedRequest() {
  BidRequest r;
  r.set_request_id("r");
  auto* banner = r.add_slots();
  banner->set_id("b");
  banner->set_format("banner");
  for (int w : {300, 728}) {
    auto* size = banner->add_sizes();
    size->set_w(w);
    size->set_h(w == 300 ? 250 : 90);
  }
  auto* video = r.add_slots();
  video->set_id("v");
  video->set_format("video");
  video->add_mimes("video/mp4");
  video->set_min_duration_s(5);
  video->set_max_duration_s(30);
  r.add_blocked_domains("ford.com");
  return r;
}

Campaign SizedCampaign() {
  Campaign c;
  c.set_name("n");
  c.set_bid_cpm_micros(1'000'000);
  c.mutable_budget()->set_total_micros(1'000'000);
  c.add_adomain("stride.example");
  auto* banner = c.add_creatives();
  banner->set_format("banner");
  banner->add_features("kw:a");
  banner->set_w(300);
  banner->set_h(250);
  banner->set_category("IAB17");
  banner->add_categories("IAB17-44");
  auto* video = c.add_creatives();
  video->set_format("video");
  video->add_features("kw:a");
  video->set_mime("video/mp4");
  video->set_duration_s(30);
  return c;
}

void ExpectNames(const absl::Status& s, const std::string& field) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StartsWith(s.message(), field + ": ")) << s.message() << " / " << field;
}

TEST(ShapeValidationTest, SizesMimesDurationsAndDomainsWithinBoundsPass) {
  EXPECT_TRUE(ValidateBidRequest(SizedRequest(), 64).ok())
      << ValidateBidRequest(SizedRequest(), 64);
  EXPECT_TRUE(ValidateCampaign(SizedCampaign(), 64).ok()) << ValidateCampaign(SizedCampaign(), 64);
  BidRequest r = SizedRequest();
  auto* slot = r.mutable_slots(0);
  slot->clear_sizes();
  for (int i = 1; i <= 32; ++i) {
    auto* size = slot->add_sizes();
    size->set_w(i);
    size->set_h(100'000);
  }
  r.mutable_slots(1)->set_max_duration_s(86'400);
  EXPECT_TRUE(ValidateBidRequest(r, 64).ok()) << ValidateBidRequest(r, 64);
}

TEST(ShapeValidationTest, SlotShapesOutOfBoundsNameTheField) {
  BidRequest r = SizedRequest();
  r.mutable_slots(0)->mutable_sizes(1)->set_w(0);
  ExpectNames(ValidateBidRequest(r, 64), "slots[0].sizes[1].w");
  r = SizedRequest();
  r.mutable_slots(0)->mutable_sizes(0)->set_h(100'001);
  ExpectNames(ValidateBidRequest(r, 64), "slots[0].sizes[0].h");
  r = SizedRequest();
  *r.mutable_slots(0)->add_sizes() = r.slots(0).sizes(0);
  ExpectNames(ValidateBidRequest(r, 64), "slots[0].sizes[2]");
  r = SizedRequest();
  for (int i = 0; i < 31; ++i) {
    auto* size = r.mutable_slots(0)->add_sizes();
    size->set_w(1 + i);
    size->set_h(1);
  }
  ExpectNames(ValidateBidRequest(r, 64), "slots[0].sizes");
  r = SizedRequest();
  r.mutable_slots(1)->add_mimes("");
  ExpectNames(ValidateBidRequest(r, 64), "slots[1].mimes[1]");
  r = SizedRequest();
  r.mutable_slots(1)->set_min_duration_s(-1);
  ExpectNames(ValidateBidRequest(r, 64), "slots[1].min_duration_s");
  r = SizedRequest();
  r.mutable_slots(1)->set_max_duration_s(4);
  ExpectNames(ValidateBidRequest(r, 64), "slots[1].max_duration_s");
  r = SizedRequest();
  r.add_blocked_domains(std::string(129, 'd'));
  ExpectNames(ValidateBidRequest(r, 64), "blocked_domains[1]");
}

TEST(ShapeValidationTest, CreativeShapesDomainsAndCategoriesOutOfBoundsNameTheField) {
  Campaign c = SizedCampaign();
  c.mutable_creatives(0)->set_h(0);  // A width without a height.
  ExpectNames(ValidateCampaign(c, 64), "creatives[0].h");
  c = SizedCampaign();
  c.mutable_creatives(0)->set_w(-300);
  ExpectNames(ValidateCampaign(c, 64), "creatives[0].w");
  c = SizedCampaign();
  c.mutable_creatives(1)->set_mime(std::string(129, 'm'));
  ExpectNames(ValidateCampaign(c, 64), "creatives[1].mime");
  c = SizedCampaign();
  c.mutable_creatives(1)->set_duration_s(86'401);
  ExpectNames(ValidateCampaign(c, 64), "creatives[1].duration_s");
  c = SizedCampaign();
  c.mutable_creatives(0)->add_categories("");
  ExpectNames(ValidateCampaign(c, 64), "creatives[0].categories[1]");
  c = SizedCampaign();
  for (int i = 0; i < 16; ++i) c.mutable_creatives(0)->add_categories(absl::StrCat("IAB", i));
  ExpectNames(ValidateCampaign(c, 64), "creatives[0].categories");
  c = SizedCampaign();
  c.add_adomain("two words.example");
  ExpectNames(ValidateCampaign(c, 64), "adomain[1]");
  c = SizedCampaign();
  c.add_adomain("");
  ExpectNames(ValidateCampaign(c, 64), "adomain[1]");
  c = SizedCampaign();
  for (int i = 0; i < 16; ++i) c.add_adomain(absl::StrCat("d", i, ".example"));
  ExpectNames(ValidateCampaign(c, 64), "adomain");
}

}  // namespace
}  // namespace attex::api
