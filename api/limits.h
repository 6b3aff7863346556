// The bounds of what callers may send: one constant per concept, used by
// validation (api/validation.cc) and by the code that sizes buffers for
// validated requests (auction/). docs/validation.md lists them per field.
#ifndef ATTEX_API_LIMITS_H_
#define ATTEX_API_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace attex::api {

// Prices (CPM micros): at most a million units per mille.
inline constexpr int64_t kMaxCpmMicros = 1'000'000'000'000;
// Budgets (micros): at most a billion units.
inline constexpr int64_t kMaxBudgetMicros = 1'000'000'000'000'000;

// Feature tokens in one list (user, context, creative, targeting, blocks).
inline constexpr int kMaxFeatures = 256;
// A user's recent interactions.
inline constexpr int kMaxRecent = 64;
// Bytes of one feature token.
inline constexpr size_t kMaxTokenBytes = 128;

inline constexpr int kMaxSlots = 16;
inline constexpr int kMaxSlotPosition = 63;
inline constexpr int kMaxTmaxMs = 10'000;

inline constexpr int kMaxCreatives = 64;
// Sizes (pixels) of creatives and slots, each side; sizes a slot lists.
inline constexpr int32_t kMaxSizePixels = 100'000;
inline constexpr int kMaxSlotSizes = 32;
// MIME types a slot lists, and the bytes of one.
inline constexpr int kMaxSlotMimes = 32;
inline constexpr size_t kMaxMimeBytes = 128;
// Video and audio durations (seconds): a day.
inline constexpr int32_t kMaxDurationS = 86'400;
// A creative's categories besides `category`; a campaign's adomain list.
inline constexpr int kMaxCreativeCategories = 16;
inline constexpr int kMaxAdvertiserDomains = 16;
inline constexpr size_t kMaxMarkupBytes = 64 * 1024;
inline constexpr int kMaxCountries = 250;

inline constexpr int kMaxEventsPerReport = 1000;
inline constexpr size_t kMaxBillingTokenBytes = 4096;

// Campaigns listed per page.
inline constexpr int kMaxPageSize = 1000;
inline constexpr int kDefaultPageSize = 100;
inline constexpr size_t kMaxPingPayloadBytes = 4096;
// Ledger account names and prefixes in GetLedgerBalances.
inline constexpr size_t kMaxLedgerAccountBytes = 256;

}  // namespace attex::api

#endif  // ATTEX_API_LIMITS_H_
