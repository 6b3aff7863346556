// Test-only helpers shared by the money tests that drive the real server: a
// server with a platform and an advertiser of its own, campaigns whose price
// per impression is fixed (one campaign per targeting feature, floor = bid),
// and calls that report failures instead of asserting (servers get killed).
#ifndef ATTEX_TESTS_CRASH_MONEY_WORLD_H_
#define ATTEX_TESTS_CRASH_MONEY_WORLD_H_

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "attex/v1/campaign.grpc.pb.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "attex/v1/operator.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/campaign_builder.h"
#include "tests/testing/server_process.h"

namespace attex::testing {

// A bid of 2 CPM with an equal floor: every impression costs 2,000 micros.
inline constexpr int64_t kBidCpm = 2'000'000;
inline constexpr int64_t kPriceMicros = kBidCpm / 1000;

struct Stubs {
  explicit Stubs(const std::shared_ptr<grpc::Channel>& channel)
      : exchange(attex::v1::Exchange::NewStub(channel)),
        campaigns(attex::v1::Campaigns::NewStub(channel)),
        op(attex::v1::Operator::NewStub(channel)) {}
  std::unique_ptr<attex::v1::Exchange::Stub> exchange;
  std::unique_ptr<attex::v1::Campaigns::Stub> campaigns;
  std::unique_ptr<attex::v1::Operator::Stub> op;
};

// The bootstrap operator's token of a fresh server (no --demo).
inline std::string OperatorToken(const std::string& data_dir) {
  std::ifstream in(data_dir + "/operator-token");
  std::string token;
  in >> token;
  return token;
}

inline attex::v1::Account NewAccount(Stubs& s, const std::string& op_token, attex::v1::Role role,
                                     const std::string& name) {
  attex::v1::CreateAccountRequest req;
  req.set_role(role);
  req.set_name(name);
  attex::v1::Account account;
  grpc::Status st = s.op->CreateAccount(Context(op_token).get(), req, &account);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return account;
}

// A campaign that only requests with `feature` select, with a lifetime
// (and, if daily, daily) budget of `impressions` impressions.
inline attex::v1::Campaign FixedPriceCampaign(const std::string& feature, int64_t impressions,
                                              bool daily = false) {
  CampaignBuilder c;
  c.Name("money " + feature).BidCpm(kBidCpm).TotalBudget(impressions * kPriceMicros);
  if (daily) c.DailyBudget(impressions * kPriceMicros);
  return c.IncludeFeature(feature)
      .Creative("banner")
      .Category("test")
      .Features({feature})
      .Markup("<b>money</b>")
      .Build();
}

inline attex::v1::BidRequest RequestFor(const std::string& feature, const std::string& id,
                                        const std::string& user) {
  attex::v1::BidRequest r;
  r.set_request_id(id);
  r.mutable_user()->set_id(user);
  r.mutable_user()->add_features(feature);
  r.mutable_context()->set_country("US");
  r.mutable_context()->set_device_type("mobile");
  r.set_tmax_ms(1000);
  auto* slot = r.add_slots();
  slot->set_id("top");
  slot->set_format("banner");
  slot->set_floor_cpm_micros(kBidCpm);
  return r;
}

}  // namespace attex::testing

#endif  // ATTEX_TESTS_CRASH_MONEY_WORLD_H_
