// Validation of everything callers send. Every violation is
// INVALID_ARGUMENT with a message that starts with the offending field's
// path, e.g. "slots[1].format: unknown format \"poster\"".
#ifndef ATTEX_SERVER_VALIDATION_H_
#define ATTEX_SERVER_VALIDATION_H_

#include "absl/status/status.h"
#include "attex/v1/campaign.pb.h"
#include "attex/v1/exchange.pb.h"
#include "attex/v1/operator.pb.h"

namespace attex::server {

// d_model: the model's width, for user embeddings.
absl::Status ValidateBidRequest(const attex::v1::BidRequest& request, int d_model);

// The parts of a campaign an advertiser writes (ids, versions and times are
// the server's). d_model: the model's width, for creative embeddings.
absl::Status ValidateCampaign(const attex::v1::Campaign& campaign, int d_model);

absl::Status ValidateReportEvents(const attex::v1::ReportEventsRequest& request);

absl::Status ValidateCreateAccount(const attex::v1::CreateAccountRequest& request);

}  // namespace attex::server

#endif  // ATTEX_SERVER_VALIDATION_H_
