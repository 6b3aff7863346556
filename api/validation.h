// Validation of everything callers send, before any work is done. Every
// violation is INVALID_ARGUMENT with a message that starts with the
// offending field's path, e.g. "slots[1].format: unknown format \"poster\"".
// Pure functions of the request (and the model's width): no I/O, no state,
// thread-safe. The bounds are in api/limits.h; docs/validation.md lists
// them per field. What depends on the caller (roles, ownership) is checked
// by the services, not here.
#ifndef ATTEX_API_VALIDATION_H_
#define ATTEX_API_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "attex/v1/campaign.pb.h"
#include "attex/v1/exchange.pb.h"
#include "attex/v1/operator.pb.h"

namespace attex::api {

// Exchange. d_model: the model's width, for user embeddings.
absl::Status ValidateBidRequest(const attex::v1::BidRequest& request, int d_model);
absl::Status ValidateReportEvents(const attex::v1::ReportEventsRequest& request);

// The parts of a campaign an advertiser writes (ids, versions and times are
// the server's). d_model: the model's width, for creative embeddings.
absl::Status ValidateCampaign(const attex::v1::Campaign& campaign, int d_model);
// A new campaign, its status defaulted: ValidateCampaign, and not archived.
absl::Status ValidateNewCampaign(const attex::v1::Campaign& campaign, int d_model);
// An update: a campaign that names its id.
absl::Status ValidateCampaignUpdate(const attex::v1::Campaign& campaign, int d_model);
// A campaign id the caller names in `field` ("id", "campaign_id").
absl::Status ValidateCampaignId(absl::string_view field, absl::string_view id);
absl::Status ValidateListCampaigns(const attex::v1::ListCampaignsRequest& request);
absl::Status ValidateSetCampaignStatus(const attex::v1::SetCampaignStatusRequest& request);

// Operator.
absl::Status ValidatePing(const attex::v1::PingRequest& request);
absl::Status ValidateCreateAccount(const attex::v1::CreateAccountRequest& request);
absl::Status ValidateRevokeToken(const attex::v1::RevokeTokenRequest& request);
absl::Status ValidateGetLedgerBalances(const attex::v1::GetLedgerBalancesRequest& request);

}  // namespace attex::api

#endif  // ATTEX_API_VALIDATION_H_
