#include "auction/reasons.h"

#include <cstddef>
#include <iterator>

namespace attex::auction {
namespace {

// One name per value, in the enum's order; the sizes are checked so that a
// value added without a name does not compile.
constexpr std::string_view kNoBidReasonNames[] = {
    "no_eligible_campaigns", "below_floor", "timeout", "no_slots", "budget",
};
static_assert(std::size(kNoBidReasonNames) == static_cast<size_t>(NoBidReason::kCount));

constexpr std::string_view kExclusionNames[] = {
    "status",         "schedule",         "country",
    "device_type",    "include_features", "exclude_features",
    "hours",          "blocked_category", "blocked_advertiser",
    "blocked_domain", "format",           "size",
    "mime",           "duration",         "budget",
    "frequency_cap",  "pacing",
};
static_assert(std::size(kExclusionNames) == static_cast<size_t>(Exclusion::kCount));

constexpr std::string_view kLostReasonNames[] = {
    "outranked", "placed_in_earlier_slot", "below_floor", "budget", "frequency_cap", "pacing",
};
static_assert(std::size(kLostReasonNames) == static_cast<size_t>(LostReason::kCount));

}  // namespace

std::string_view NoBidReasonName(NoBidReason reason) {
  return kNoBidReasonNames[static_cast<int>(reason)];
}

std::string_view ExclusionName(Exclusion exclusion) {
  return kExclusionNames[static_cast<int>(exclusion)];
}

std::string_view LostReasonName(LostReason reason) {
  return kLostReasonNames[static_cast<int>(reason)];
}

}  // namespace attex::auction
