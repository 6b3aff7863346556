#include "api/validation.h"

#include <cmath>
#include <functional>
#include <limits>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace attex::api {
namespace {

using attex::v1::BidRequest;
using attex::v1::Campaign;
using attex::v1::CreateAccountRequest;
using attex::v1::ReportEventsRequest;

constexpr int kDModel = 8;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

BidRequest ValidBidRequest() {
  BidRequest r;
  r.set_request_id("req-1");
  r.mutable_user()->set_id("u1");
  r.mutable_user()->add_features("interest:running");
  r.mutable_user()->add_recent("kw:marathon");
  for (int i = 0; i < kDModel; ++i) r.mutable_user()->add_embedding(0.125f * i);
  r.mutable_context()->add_features("site:news");
  r.mutable_context()->set_country("US");
  r.mutable_context()->set_device_type("mobile");
  auto* s1 = r.add_slots();
  s1->set_id("s1");
  s1->set_format("banner");
  s1->set_position(0);
  s1->set_floor_cpm_micros(100'000);
  auto* s2 = r.add_slots();
  s2->set_id("s2");
  s2->set_format("native");
  s2->set_position(1);
  r.set_tmax_ms(100);
  return r;
}

Campaign ValidCampaign() {
  Campaign c;
  c.set_name("Stride running shoes");
  c.set_status(attex::v1::CAMPAIGN_STATUS_ACTIVE);
  c.set_bid_cpm_micros(2'500'000);
  c.mutable_budget()->set_total_micros(100'000'000);
  c.mutable_budget()->set_daily_micros(10'000'000);
  c.set_pacing(attex::v1::PACING_EVEN);
  c.mutable_targeting()->add_countries("US");
  c.mutable_targeting()->add_device_types("mobile");
  c.mutable_targeting()->add_hours(23);
  c.mutable_frequency_cap()->set_impressions(3);
  c.mutable_frequency_cap()->set_period_s(86400);
  c.mutable_schedule()->set_start(1'700'000'000);
  c.mutable_schedule()->set_end(1'800'000'000);
  auto* by_features = c.add_creatives();
  by_features->set_id("cr-1");
  by_features->set_format("banner");
  by_features->set_category("sports");
  by_features->add_features("kw:marathon");
  by_features->set_markup("<a>run</a>");
  auto* by_embedding = c.add_creatives();
  by_embedding->set_id("cr-2");
  by_embedding->set_format("video");
  for (int i = 0; i < kDModel; ++i) by_embedding->add_embedding(-0.5f + 0.1f * i);
  return c;
}

ReportEventsRequest ValidReportEvents() {
  ReportEventsRequest r;
  auto* e = r.add_events();
  e->set_billing_token("v1.abc.def");
  e->set_type(attex::v1::EVENT_TYPE_IMPRESSION);
  e->set_event_id("ev-1");
  return r;
}

CreateAccountRequest ValidCreateAccount() {
  CreateAccountRequest r;
  r.set_role(attex::v1::ROLE_PLATFORM);
  r.set_name("news site");
  return r;
}

// Checks that `status` is INVALID_ARGUMENT whose message begins "<field>: ".
void ExpectNamesField(const absl::Status& status, absl::string_view field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), absl::StrCat(field, ": ")))
      << "message \"" << status.message() << "\" should start with \"" << field << ": \"";
}

template <typename Message>
struct Mutation {
  const char* name;
  std::function<void(Message&)> mutate;
  const char* field;
};

template <typename Message>
std::string MutationName(const testing::TestParamInfo<Mutation<Message>>& info) {
  return info.param.name;
}

template <typename Message>
void PrintTo(const Mutation<Message>& m, std::ostream* os) {
  *os << m.name;
}

TEST(ValidationTest, ValidBidRequestPasses) {
  EXPECT_TRUE(ValidateBidRequest(ValidBidRequest(), kDModel).ok());
}

TEST(ValidationTest, MinimalBidRequestWithOneSlotPasses) {
  BidRequest r;
  r.set_request_id("r");
  auto* slot = r.add_slots();
  slot->set_id("s");
  slot->set_format("audio");
  EXPECT_TRUE(ValidateBidRequest(r, kDModel).ok());
}

TEST(ValidationTest, ValidCampaignPasses) {
  EXPECT_TRUE(ValidateCampaign(ValidCampaign(), kDModel).ok());
}

TEST(ValidationTest, CampaignWithoutCreativeIdsPasses) {
  Campaign c = ValidCampaign();
  c.mutable_creatives(0)->clear_id();
  c.mutable_creatives(1)->clear_id();
  EXPECT_TRUE(ValidateCampaign(c, kDModel).ok());
}

TEST(ValidationTest, ValidReportEventsPasses) {
  EXPECT_TRUE(ValidateReportEvents(ValidReportEvents()).ok());
}

TEST(ValidationTest, ValidCreateAccountPasses) {
  EXPECT_TRUE(ValidateCreateAccount(ValidCreateAccount()).ok());
}

// Values at the edge of each range are still accepted.
TEST(ValidationTest, BidRequestLimitsThemselvesAreAccepted) {
  BidRequest r = ValidBidRequest();
  r.set_request_id(std::string(128, 'r'));
  r.set_tmax_ms(10000);
  r.mutable_slots(0)->set_position(63);
  r.mutable_slots(0)->set_floor_cpm_micros(1'000'000'000'000);
  r.mutable_user()->set_features(0, std::string(128, 'f'));
  r.mutable_context()->clear_features();
  for (int i = 0; i < 256; ++i) r.mutable_context()->add_features(absl::StrCat("f", i));
  while (r.slots_size() < 16) {
    auto* slot = r.add_slots();
    slot->set_id(absl::StrCat("extra-", r.slots_size()));
    slot->set_format("video");
  }
  EXPECT_TRUE(ValidateBidRequest(r, kDModel).ok()) << ValidateBidRequest(r, kDModel);
}

TEST(ValidationTest, CampaignLimitsThemselvesAreAccepted) {
  Campaign c = ValidCampaign();
  c.set_bid_cpm_micros(1'000'000'000'000);
  c.mutable_budget()->set_daily_micros(0);
  c.mutable_targeting()->add_hours(0);
  c.mutable_creatives(0)->set_markup(std::string(64 * 1024, 'm'));
  EXPECT_TRUE(ValidateCampaign(c, kDModel).ok()) << ValidateCampaign(c, kDModel);
}

class BidRequestMutationTest : public testing::TestWithParam<Mutation<BidRequest>> {};

TEST_P(BidRequestMutationTest, IsRejectedNamingTheField) {
  BidRequest r = ValidBidRequest();
  GetParam().mutate(r);
  ExpectNamesField(ValidateBidRequest(r, kDModel), GetParam().field);
}

INSTANTIATE_TEST_SUITE_P(
    ValidationTest, BidRequestMutationTest,
    testing::Values(
        Mutation<BidRequest>{"EmptyRequestId", [](BidRequest& r) { r.clear_request_id(); },
                             "request_id"},
        Mutation<BidRequest>{"RequestIdTooLong",
                             [](BidRequest& r) { r.set_request_id(std::string(129, 'r')); },
                             "request_id"},
        Mutation<BidRequest>{"RequestIdWithControlCharacter",
                             [](BidRequest& r) { r.set_request_id("req\n1"); }, "request_id"},
        Mutation<BidRequest>{"EmptySlotId", [](BidRequest& r) { r.mutable_slots(0)->clear_id(); },
                             "slots[0].id"},
        Mutation<BidRequest>{
            "UnknownAuctionType",
            [](BidRequest& r) { r.set_auction_type(static_cast<attex::v1::AuctionType>(7)); },
            "auction_type"},
        Mutation<BidRequest>{"NoSlots", [](BidRequest& r) { r.clear_slots(); }, "slots"},
        Mutation<BidRequest>{"SeventeenSlots",
                             [](BidRequest& r) {
                               while (r.slots_size() < 17) {
                                 auto* s = r.add_slots();
                                 s->set_id(absl::StrCat("extra-", r.slots_size()));
                                 s->set_format("banner");
                               }
                             },
                             "slots"},
        Mutation<BidRequest>{"DuplicateSlotId",
                             [](BidRequest& r) { r.mutable_slots(1)->set_id("s1"); },
                             "slots[1].id"},
        Mutation<BidRequest>{"UnknownSlotFormat",
                             [](BidRequest& r) { r.mutable_slots(0)->set_format("poster"); },
                             "slots[0].format"},
        Mutation<BidRequest>{"NegativeFloor",
                             [](BidRequest& r) { r.mutable_slots(0)->set_floor_cpm_micros(-1); },
                             "slots[0].floor_cpm_micros"},
        Mutation<BidRequest>{"Position64",
                             [](BidRequest& r) { r.mutable_slots(0)->set_position(64); },
                             "slots[0].position"},
        Mutation<BidRequest>{"Tmax10001", [](BidRequest& r) { r.set_tmax_ms(10001); }, "tmax_ms"},
        Mutation<BidRequest>{"UserEmbeddingOfWrongSize",
                             [](BidRequest& r) { r.mutable_user()->add_embedding(1.0f); },
                             "user.embedding"},
        Mutation<BidRequest>{"UserEmbeddingWithNaN",
                             [](BidRequest& r) { r.mutable_user()->set_embedding(3, kNaN); },
                             "user.embedding[3]"},
        Mutation<BidRequest>{"LowerCaseThreeLetterCountry",
                             [](BidRequest& r) { r.mutable_context()->set_country("usa"); },
                             "context.country"},
        Mutation<BidRequest>{"UnknownDeviceType",
                             [](BidRequest& r) { r.mutable_context()->set_device_type("fridge"); },
                             "context.device_type"},
        Mutation<BidRequest>{"TooManyContextFeatures",
                             [](BidRequest& r) {
                               for (int i = 0; i < 256; ++i) {
                                 r.mutable_context()->add_features(absl::StrCat("f", i));
                               }
                             },
                             "context.features"},
        Mutation<BidRequest>{
            "UserFeatureOf129Bytes",
            [](BidRequest& r) { r.mutable_user()->add_features(std::string(129, 'f')); },
            "user.features[1]"}),
    MutationName<BidRequest>);

class CampaignMutationTest : public testing::TestWithParam<Mutation<Campaign>> {};

TEST_P(CampaignMutationTest, IsRejectedNamingTheField) {
  Campaign c = ValidCampaign();
  GetParam().mutate(c);
  ExpectNamesField(ValidateCampaign(c, kDModel), GetParam().field);
}

INSTANTIATE_TEST_SUITE_P(
    ValidationTest, CampaignMutationTest,
    testing::Values(
        Mutation<Campaign>{"EmptyName", [](Campaign& c) { c.clear_name(); }, "name"},
        Mutation<Campaign>{
            "UnknownStatus",
            [](Campaign& c) { c.set_status(static_cast<attex::v1::CampaignStatus>(7)); }, "status"},
        Mutation<Campaign>{
            "UnknownTargetedDeviceType",
            [](Campaign& c) { c.mutable_targeting()->set_device_types(0, "fridge"); },
            "targeting.device_types[0]"},
        Mutation<Campaign>{"CreativeEmbeddingOfWrongSize",
                           [](Campaign& c) { c.mutable_creatives(1)->add_embedding(0.0f); },
                           "creatives[1].embedding"},
        Mutation<Campaign>{"ZeroBid", [](Campaign& c) { c.set_bid_cpm_micros(0); },
                           "bid_cpm_micros"},
        Mutation<Campaign>{"NegativeBid", [](Campaign& c) { c.set_bid_cpm_micros(-5); },
                           "bid_cpm_micros"},
        Mutation<Campaign>{"BidAboveOneE12",
                           [](Campaign& c) { c.set_bid_cpm_micros(1'000'000'000'001); },
                           "bid_cpm_micros"},
        Mutation<Campaign>{"ZeroTotalBudget",
                           [](Campaign& c) { c.mutable_budget()->set_total_micros(0); },
                           "budget.total_micros"},
        Mutation<Campaign>{"NegativeDailyBudget",
                           [](Campaign& c) { c.mutable_budget()->set_daily_micros(-1); },
                           "budget.daily_micros"},
        Mutation<Campaign>{"UnknownPacing",
                           [](Campaign& c) { c.set_pacing(static_cast<attex::v1::Pacing>(99)); },
                           "pacing"},
        Mutation<Campaign>{"CountryWithDigit",
                           [](Campaign& c) { c.mutable_targeting()->set_countries(0, "U1"); },
                           "targeting.countries[0]"},
        Mutation<Campaign>{"Hour24", [](Campaign& c) { c.mutable_targeting()->set_hours(0, 24); },
                           "targeting.hours[0]"},
        Mutation<Campaign>{"FrequencyCapWithoutPeriod",
                           [](Campaign& c) { c.mutable_frequency_cap()->set_period_s(0); },
                           "frequency_cap.period_s"},
        Mutation<Campaign>{"ScheduleEndingAtItsStart",
                           [](Campaign& c) { c.mutable_schedule()->set_end(c.schedule().start()); },
                           "schedule.end"},
        Mutation<Campaign>{
            "ScheduleEndingBeforeItsStart",
            [](Campaign& c) { c.mutable_schedule()->set_end(c.schedule().start() - 1); },
            "schedule.end"},
        Mutation<Campaign>{"NoCreatives", [](Campaign& c) { c.clear_creatives(); }, "creatives"},
        Mutation<Campaign>{"CreativeOfUnknownFormat",
                           [](Campaign& c) { c.mutable_creatives(0)->set_format("poster"); },
                           "creatives[0].format"},
        Mutation<Campaign>{"CreativeWithNeitherFeaturesNorEmbedding",
                           [](Campaign& c) { c.mutable_creatives(0)->clear_features(); },
                           "creatives[0].features"},
        Mutation<Campaign>{"CreativeEmbeddingWithNaN",
                           [](Campaign& c) { c.mutable_creatives(1)->set_embedding(5, kNaN); },
                           "creatives[1].embedding[5]"},
        Mutation<Campaign>{"DuplicateCreativeId",
                           [](Campaign& c) { c.mutable_creatives(1)->set_id("cr-1"); },
                           "creatives[1].id"},
        Mutation<Campaign>{"MarkupOverSixtyFourKiB",
                           [](Campaign& c) {
                             c.mutable_creatives(0)->set_markup(std::string(64 * 1024 + 1, 'm'));
                           },
                           "creatives[0].markup"}),
    MutationName<Campaign>);

class ReportEventsMutationTest : public testing::TestWithParam<Mutation<ReportEventsRequest>> {};

TEST_P(ReportEventsMutationTest, IsRejectedNamingTheField) {
  ReportEventsRequest r = ValidReportEvents();
  GetParam().mutate(r);
  ExpectNamesField(ValidateReportEvents(r), GetParam().field);
}

INSTANTIATE_TEST_SUITE_P(
    ValidationTest, ReportEventsMutationTest,
    testing::Values(Mutation<ReportEventsRequest>{"NoEvents",
                                                  [](ReportEventsRequest& r) { r.clear_events(); },
                                                  "events"},
                    Mutation<ReportEventsRequest>{"ThousandAndOneEvents",
                                                  [](ReportEventsRequest& r) {
                                                    while (r.events_size() < 1001) {
                                                      *r.add_events() = r.events(0);
                                                    }
                                                  },
                                                  "events"},
                    Mutation<ReportEventsRequest>{
                        "EmptyBillingToken",
                        [](ReportEventsRequest& r) { r.mutable_events(0)->clear_billing_token(); },
                        "events[0].billing_token"},
                    Mutation<ReportEventsRequest>{"EventIdTooLong",
                                                  [](ReportEventsRequest& r) {
                                                    r.mutable_events(0)->set_event_id(
                                                        std::string(129, 'e'));
                                                  },
                                                  "events[0].event_id"},
                    Mutation<ReportEventsRequest>{"UnspecifiedEventType",
                                                  [](ReportEventsRequest& r) {
                                                    r.mutable_events(0)->set_type(
                                                        attex::v1::EVENT_TYPE_UNSPECIFIED);
                                                  },
                                                  "events[0].type"}),
    MutationName<ReportEventsRequest>);

class CreateAccountMutationTest : public testing::TestWithParam<Mutation<CreateAccountRequest>> {};

TEST_P(CreateAccountMutationTest, IsRejectedNamingTheField) {
  CreateAccountRequest r = ValidCreateAccount();
  GetParam().mutate(r);
  ExpectNamesField(ValidateCreateAccount(r), GetParam().field);
}

INSTANTIATE_TEST_SUITE_P(
    ValidationTest, CreateAccountMutationTest,
    testing::Values(
        Mutation<CreateAccountRequest>{
            "UnspecifiedRole",
            [](CreateAccountRequest& r) { r.set_role(attex::v1::ROLE_UNSPECIFIED); }, "role"},
        Mutation<CreateAccountRequest>{
            "UnknownRole",
            [](CreateAccountRequest& r) { r.set_role(static_cast<attex::v1::Role>(42)); }, "role"},
        Mutation<CreateAccountRequest>{"EmptyName", [](CreateAccountRequest& r) { r.clear_name(); },
                                       "name"}),
    MutationName<CreateAccountRequest>);

}  // namespace
}  // namespace attex::api
