#include "client/request_builder.h"

#include "gtest/gtest.h"

namespace attex::client {
namespace {

TEST(ParseSlotTest, ReadsIdFormatPositionAndFloor) {
  absl::StatusOr<attex::v1::Slot> slot = ParseSlot("top:native:2:150000");
  ASSERT_TRUE(slot.ok()) << slot.status();
  EXPECT_EQ(slot->id(), "top");
  EXPECT_EQ(slot->format(), "native");
  EXPECT_EQ(slot->position(), 2);
  EXPECT_EQ(slot->floor_cpm_micros(), 150000);
}

TEST(ParseSlotTest, PositionAndFloorAreOptional) {
  absl::StatusOr<attex::v1::Slot> slot = ParseSlot("s1:banner");
  ASSERT_TRUE(slot.ok());
  EXPECT_EQ(slot->position(), 0);
  EXPECT_EQ(slot->floor_cpm_micros(), 0);
}

TEST(ParseSlotTest, ReadsTheSizesTheSlotAccepts) {
  absl::StatusOr<attex::v1::Slot> slot = ParseSlot("top:banner:0:0:300x250,320X50");
  ASSERT_TRUE(slot.ok()) << slot.status();
  ASSERT_EQ(slot->sizes_size(), 2);
  EXPECT_EQ(slot->sizes(0).w(), 300);
  EXPECT_EQ(slot->sizes(0).h(), 250);
  EXPECT_EQ(slot->sizes(1).w(), 320);
  EXPECT_EQ(slot->sizes(1).h(), 50);
  EXPECT_EQ(ParseSlot("top:banner:0:0:300").status().message(),
            "--slot 'top:banner:0:0:300': size '300' is not WxH, e.g. 300x250");
  EXPECT_FALSE(ParseSlot("top:banner:0:0:300x250:1").ok());
}

TEST(ParseSlotTest, RejectsMalformedSpecs) {
  EXPECT_FALSE(ParseSlot("s1").ok());
  EXPECT_FALSE(ParseSlot(":banner").ok());
  EXPECT_FALSE(ParseSlot("s1:").ok());
  EXPECT_FALSE(ParseSlot("s1:banner:x").ok());
  EXPECT_FALSE(ParseSlot("s1:banner:0:1.5").ok());
  EXPECT_FALSE(ParseSlot("s1:banner:0:1:2").ok());
}

TEST(BuildBidRequestTest, DefaultsToOneBannerSlotAndAGeneratedId) {
  absl::StatusOr<attex::v1::BidRequest> r = BuildBidRequest(BidFlags());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->slots_size(), 1);
  EXPECT_EQ(r->slots(0).id(), "s1");
  EXPECT_EQ(r->slots(0).format(), "banner");
  EXPECT_EQ(r->request_id().rfind("cli-", 0), 0u);
  EXPECT_FALSE(r->user().has_consent());
}

TEST(BuildBidRequestTest, CopiesEveryFlag) {
  BidFlags f;
  f.request_id = "r1";
  f.user_id = "u1";
  f.features = {"interest:running", "kw:marathon"};
  f.recent = {"kw:shoes"};
  f.context_features = {"site:news"};
  f.country = "US";
  f.device_type = "mobile";
  f.slots = {"a:banner:0", "b:native:1:5000"};
  f.tmax_ms = 50;
  f.auction = "first";
  f.blocked_categories = {"IAB7"};
  f.blocked_advertisers = {"acc-9"};
  f.blocked_domains = {"ford.com"};
  f.test = true;
  f.coppa = true;
  absl::StatusOr<attex::v1::BidRequest> r = BuildBidRequest(f);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->request_id(), "r1");
  EXPECT_EQ(r->user().id(), "u1");
  EXPECT_EQ(r->user().features_size(), 2);
  EXPECT_EQ(r->user().recent(0), "kw:shoes");
  EXPECT_EQ(r->context().features(0), "site:news");
  EXPECT_EQ(r->context().country(), "US");
  EXPECT_EQ(r->context().device_type(), "mobile");
  ASSERT_EQ(r->slots_size(), 2);
  EXPECT_EQ(r->slots(1).floor_cpm_micros(), 5000);
  EXPECT_EQ(r->tmax_ms(), 50);
  EXPECT_EQ(r->auction_type(), attex::v1::AUCTION_TYPE_FIRST_PRICE);
  EXPECT_EQ(r->blocked_categories(0), "IAB7");
  EXPECT_EQ(r->blocked_advertisers(0), "acc-9");
  EXPECT_EQ(r->blocked_domains(0), "ford.com");
  EXPECT_TRUE(r->test());
  EXPECT_TRUE(r->user().consent().coppa());
}

TEST(BuildBidRequestTest, ReportsABadSlotAndABadAuction) {
  BidFlags f;
  f.slots = {"oops"};
  EXPECT_EQ(BuildBidRequest(f).status().code(), absl::StatusCode::kInvalidArgument);
  BidFlags g;
  g.auction = "vickrey";
  EXPECT_EQ(BuildBidRequest(g).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BuildBidRequestTest, FlagsAddToTheRequestFile) {
  BidFlags f;
  f.request_file = std::string(ATTEX_SOURCE_DIR) + "/client/examples/bid-request.json";
  f.features = {"kw:extra"};
  absl::StatusOr<attex::v1::BidRequest> r = BuildBidRequest(f);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->request_id(), "example-1");
  EXPECT_EQ(r->user().features(r->user().features_size() - 1), "kw:extra");
  EXPECT_EQ(r->slots_size(), 2);
}

TEST(BuildBidRequestTest, NamesTheFileWhenItIsNotJson) {
  BidFlags f;
  f.request_file = std::string(ATTEX_SOURCE_DIR) + "/client/CMakeLists.txt";
  absl::StatusOr<attex::v1::BidRequest> r = BuildBidRequest(f);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("CMakeLists.txt: "), std::string::npos);
}

}  // namespace
}  // namespace attex::client
