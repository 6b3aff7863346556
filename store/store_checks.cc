#include "store/store_checks.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace attex::store {
namespace {

absl::Status ValidateEvent(const BillingEvent& event) {
  if (event.token_hash.empty()) return absl::InvalidArgumentError("token_hash is empty");
  if (event.type != attex::v1::EVENT_TYPE_IMPRESSION && event.type != attex::v1::EVENT_TYPE_CLICK) {
    return absl::InvalidArgumentError(
        absl::StrCat("event type ", static_cast<int>(event.type), " is not recordable"));
  }
  int64_t sum = 0;
  for (const LedgerEntry& entry : event.entries) {
    if (__builtin_add_overflow(sum, entry.amount_micros, &sum)) {
      return absl::InvalidArgumentError("ledger entries overflow int64");
    }
  }
  if (sum != 0) {
    return absl::InvalidArgumentError(absl::StrCat("ledger entries sum to ", sum, ", not 0"));
  }
  return absl::OkStatus();
}

// "cmp-<n>" -> n, strictly: digits only, positive.
absl::StatusOr<int64_t> CampaignSeq(const std::string& id) {
  absl::string_view digits = id;
  int64_t seq = 0;
  if (!absl::ConsumePrefix(&digits, "cmp-") || digits.empty() || digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &seq) || seq <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("after_id: malformed campaign id \"", id, "\""));
  }
  return seq;
}

}  // namespace

std::vector<absl::StatusOr<RecordResult>> ValidateEvents(const std::vector<BillingEvent>& events) {
  std::vector<absl::StatusOr<RecordResult>> validated;
  validated.reserve(events.size());
  for (const BillingEvent& event : events) {
    absl::Status valid = ValidateEvent(event);
    validated.emplace_back(valid.ok() ? absl::StatusOr<RecordResult>(RecordResult::kAccepted)
                                      : absl::StatusOr<RecordResult>(valid));
  }
  return validated;
}

absl::StatusOr<int64_t> ListAfterSeq(const std::string& after_id, int limit) {
  if (limit <= 0)
    return absl::InvalidArgumentError(absl::StrCat("limit ", limit, " is not positive"));
  if (after_id.empty()) return 0;
  return CampaignSeq(after_id);
}

absl::StatusOr<attex::v1::Campaign> EditedCampaign(const CampaignUpdate& update,
                                                   const attex::v1::Campaign& stored,
                                                   int64_t stored_version, int64_t now_ms) {
  absl::StatusOr<attex::v1::Campaign> c = update.edit(stored);
  if (!c.ok()) return c.status();
  if (update.expected_version != 0 && update.expected_version != stored_version) {
    return absl::FailedPreconditionError(absl::StrCat("campaign ", update.id, ": expected version ",
                                                      update.expected_version, ", stored version ",
                                                      stored_version));
  }
  c->set_id(update.id);
  c->set_advertiser_id(stored.advertiser_id());
  c->set_created_at(stored.created_at());
  c->set_version(stored_version + 1);
  c->set_updated_at(now_ms);
  return c;
}

}  // namespace attex::store
