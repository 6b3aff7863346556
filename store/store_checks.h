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

}  // namespace attex::store

#endif  // ATTEX_STORE_STORE_CHECKS_H_
