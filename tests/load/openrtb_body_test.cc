// attex-load's OpenRTB bodies (client/load/openrtb_body.h) map back, through
// the endpoint's own mapping, to the workload's bid requests: --method
// openrtb sends what --method bid sends.
#include "client/load/openrtb_body.h"

#include "client/load/workload.h"
#include "gtest/gtest.h"
#include "server/openrtb/openrtb_mapping.h"

namespace attex::load {
namespace {

TEST(OpenRtbBodyTest, WorkloadRequestsRoundTripThroughTheEndpointsMapping) {
  WorkloadOptions options;
  options.seed = 7;
  Workload workload(options);
  for (int i = 0; i < 200; ++i) {
    attex::v1::BidRequest sent = workload.MakeBidRequest();
    const std::string body = OpenRtbBody(sent);
    openrtb::Request mapped;
    const absl::Status s = openrtb::ParseBidRequest(body, openrtb::MappingOptions(), &mapped);
    ASSERT_TRUE(s.ok()) << s << "\n" << body;
    const auto& got = mapped.bid;
    EXPECT_EQ(got.request_id(), sent.request_id());
    EXPECT_EQ(got.test(), sent.test());
    EXPECT_EQ(got.user().id(), sent.user().id());
    EXPECT_EQ(got.user().consent().limit_ad_tracking(), sent.user().consent().limit_ad_tracking());
    EXPECT_EQ(got.context().country(), sent.context().country()) << body;
    EXPECT_EQ(got.context().device_type(), sent.context().device_type());
    ASSERT_EQ(got.user().features_size(), sent.user().features_size()) << body;
    for (int f = 0; f < sent.user().features_size(); ++f) {
      EXPECT_EQ(got.user().features(f), sent.user().features(f));
    }
    ASSERT_EQ(got.context().features_size(), sent.context().features_size()) << body;
    ASSERT_EQ(got.slots_size(), sent.slots_size());
    for (int k = 0; k < sent.slots_size(); ++k) {
      EXPECT_EQ(got.slots(k).id(), sent.slots(k).id());
      EXPECT_EQ(got.slots(k).format(), sent.slots(k).format());
      EXPECT_EQ(got.slots(k).floor_cpm_micros(), sent.slots(k).floor_cpm_micros());
      if (sent.slots(k).format() == "banner") {
        EXPECT_EQ(got.slots(k).position(), sent.slots(k).position());
      }
    }
  }
}

}  // namespace
}  // namespace attex::load
