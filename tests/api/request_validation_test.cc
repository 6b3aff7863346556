// The checks folded in from the Campaigns and Operator services: each names
// its field, and the bounds are those of api/limits.h.
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "api/limits.h"
#include "api/validation.h"
#include "gtest/gtest.h"

namespace attex::api {
namespace {

// The status is INVALID_ARGUMENT and its message starts with `field`.
void ExpectInvalid(const absl::Status& s, const std::string& field) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StartsWith(s.message(), field + ": ")) << s;
}

TEST(RequestValidationTest, CampaignIdsMustNotBeEmpty) {
  ExpectInvalid(ValidateCampaignId("campaign_id", ""), "campaign_id");
  EXPECT_TRUE(ValidateCampaignId("id", "cmp-1").ok());
}

TEST(RequestValidationTest, NewCampaignsCannotBeArchived) {
  attex::v1::Campaign c;
  c.set_status(attex::v1::CAMPAIGN_STATUS_ARCHIVED);
  ExpectInvalid(ValidateNewCampaign(c, 8), "status");
}

TEST(RequestValidationTest, UpdatesNameTheirCampaign) {
  ExpectInvalid(ValidateCampaignUpdate(attex::v1::Campaign(), 8), "id");
}

TEST(RequestValidationTest, PageSizeIsBounded) {
  attex::v1::ListCampaignsRequest r;
  EXPECT_TRUE(ValidateListCampaigns(r).ok());
  r.set_page_size(kMaxPageSize);
  EXPECT_TRUE(ValidateListCampaigns(r).ok());
  r.set_page_size(kMaxPageSize + 1);
  ExpectInvalid(ValidateListCampaigns(r), "page_size");
  r.set_page_size(-1);
  ExpectInvalid(ValidateListCampaigns(r), "page_size");
}

TEST(RequestValidationTest, SetCampaignStatusTakesADefinedStatusThenAnId) {
  attex::v1::SetCampaignStatusRequest r;
  r.set_id("cmp-1");
  ExpectInvalid(ValidateSetCampaignStatus(r), "status");
  r.set_status(attex::v1::CAMPAIGN_STATUS_PAUSED);
  EXPECT_TRUE(ValidateSetCampaignStatus(r).ok());
  r.clear_id();
  ExpectInvalid(ValidateSetCampaignStatus(r), "id");
}

TEST(RequestValidationTest, PingPayloadIsBounded) {
  attex::v1::PingRequest r;
  r.set_payload(std::string(kMaxPingPayloadBytes, 'x'));
  EXPECT_TRUE(ValidatePing(r).ok());
  r.set_payload(std::string(kMaxPingPayloadBytes + 1, 'x'));
  ExpectInvalid(ValidatePing(r), "payload");
}

TEST(RequestValidationTest, RevokeTokenNamesAnAccount) {
  ExpectInvalid(ValidateRevokeToken(attex::v1::RevokeTokenRequest()), "account_id");
}

TEST(RequestValidationTest, LedgerBalanceNamesAreBounded) {
  attex::v1::GetLedgerBalancesRequest r;
  r.set_prefix(std::string(kMaxLedgerAccountBytes, 'a'));
  r.set_account(std::string(kMaxLedgerAccountBytes, 'a'));
  EXPECT_TRUE(ValidateGetLedgerBalances(r).ok());
  r.set_prefix(std::string(kMaxLedgerAccountBytes + 1, 'a'));
  ExpectInvalid(ValidateGetLedgerBalances(r), "prefix");
  r.clear_prefix();
  r.set_account(std::string(kMaxLedgerAccountBytes + 1, 'a'));
  ExpectInvalid(ValidateGetLedgerBalances(r), "account");
}

}  // namespace
}  // namespace attex::api
