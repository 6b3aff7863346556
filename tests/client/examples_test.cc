// The campaign files shipped in client/examples/ parse as Campaign messages.
#include <string>

#include "attex/v1/campaign.pb.h"
#include "attex/v1/exchange.pb.h"
#include "client/request_builder.h"
#include "gtest/gtest.h"

namespace attex::client {
namespace {

const std::string kExamples = std::string(ATTEX_SOURCE_DIR) + "/client/examples/";

TEST(ExamplesTest, RunningCampaignParses) {
  attex::v1::Campaign c;
  absl::Status status = ReadJsonFile(kExamples + "campaign-running.json", &c);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(c.bid_cpm_micros(), 2500000);
  EXPECT_EQ(c.budget().daily_micros(), 50000000);
  EXPECT_EQ(c.budget().total_micros(), 500000000);
  EXPECT_EQ(c.pacing(), attex::v1::PACING_EVEN);
  ASSERT_EQ(c.targeting().countries_size(), 2);
  EXPECT_EQ(c.targeting().countries(0), "US");
  EXPECT_EQ(c.targeting().countries(1), "CA");
  EXPECT_GE(c.creatives_size(), 1);
  for (const auto& cr : c.creatives()) {
    EXPECT_FALSE(cr.markup().empty());
    EXPECT_TRUE(cr.format() == "banner" || cr.format() == "native");
  }
  EXPECT_TRUE(c.id().empty()) << "create files carry no id";
  ASSERT_EQ(c.adomain_size(), 1);
  EXPECT_EQ(c.adomain(0), "stride.example");
  EXPECT_EQ(c.creatives(0).w(), 300);  // The banner has its size; the native, none.
  EXPECT_EQ(c.creatives(0).h(), 250);
  EXPECT_EQ(c.creatives(1).w(), 0);
}

TEST(ExamplesTest, BidRequestNamesTheBannerSlotsSizes) {
  attex::v1::BidRequest r;
  ASSERT_TRUE(ReadJsonFile(kExamples + "bid-request.json", &r).ok());
  ASSERT_EQ(r.slots(0).sizes_size(), 2);
  EXPECT_EQ(r.slots(0).sizes(0).w(), 300);
  EXPECT_EQ(r.slots(1).sizes_size(), 0);
}

TEST(ExamplesTest, CoffeeCampaignParsesAndDiffers) {
  attex::v1::Campaign coffee, running;
  absl::Status status = ReadJsonFile(kExamples + "campaign-coffee.json", &coffee);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_TRUE(ReadJsonFile(kExamples + "campaign-running.json", &running).ok());
  EXPECT_FALSE(coffee.name().empty());
  EXPECT_GT(coffee.bid_cpm_micros(), 0);
  EXPECT_GT(coffee.budget().total_micros(), 0);
  EXPECT_GE(coffee.creatives_size(), 1);
  EXPECT_NE(coffee.name(), running.name());
  EXPECT_NE(coffee.targeting().include_features(0), running.targeting().include_features(0));
}

TEST(ReadJsonFileTest, RejectsUnknownFieldsAndMissingFiles) {
  attex::v1::Campaign c;
  EXPECT_EQ(ReadJsonFile(kExamples + "no-such-file.json", &c).code(), absl::StatusCode::kNotFound);
  // A BidRequest file is not a Campaign: its fields are unknown here.
  EXPECT_FALSE(
      ReadJsonFile(std::string(ATTEX_SOURCE_DIR) + "/client/examples/bid-request.json", &c).ok());
}

}  // namespace
}  // namespace attex::client
