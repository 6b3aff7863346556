// What both stores check of their arguments before any database work, so
// that SQLite and PostgreSQL refuse the same input with the same errors.
// Internal to attex::store.
#ifndef ATTEX_STORE_STORE_CHECKS_H_
#define ATTEX_STORE_STORE_CHECKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "store/store.h"

namespace attex::store {

// Checks each event on its own, without the database (and so without the
// lock): results[i] is kAccepted when events[i] can be recorded (token_hash
// set, an impression or a click, entries summing to zero without overflow),
// else its INVALID_ARGUMENT.
std::vector<absl::StatusOr<RecordResult>> ValidateEvents(const std::vector<BillingEvent>& events);

// ListCampaigns' page: the seq after which to list ("cmp-<n>" -> n, 0 for
// an empty after_id). INVALID_ARGUMENT naming the argument for a limit
// that is not positive or a malformed campaign id.
absl::StatusOr<int64_t> ListAfterSeq(const std::string& after_id, int limit);

// One change of a group (Store::UpdateCampaigns) against the stored
// campaign and its version: the edit's campaign with id, advertiser_id and
// created_at kept, the next version and updated_at set; or the edit's own
// refusal, then FAILED_PRECONDITION for another expected version.
absl::StatusOr<attex::v1::Campaign> EditedCampaign(const CampaignUpdate& update,
                                                   const attex::v1::Campaign& stored,
                                                   int64_t stored_version, int64_t now_ms);

}  // namespace attex::store

#endif  // ATTEX_STORE_STORE_CHECKS_H_
