// Billing events as the billing batch writes them, for the store's tests.
#ifndef ATTEX_TESTS_TESTING_BILLING_EVENTS_H_
#define ATTEX_TESTS_TESTING_BILLING_EVENTS_H_

#include <cstdint>
#include <string>

#include "store/store.h"

namespace attex::testing {

// An impression of `campaign` billed at `price` micros to advertiser
// acc-3 by platform acc-2, split into four ledger entries: the platform's
// `platform_percent`, user u1's `user_percent`, the exchange the rest.
store::BillingEvent TestImpression(const std::string& token_hash, const std::string& campaign,
                                   int64_t price, int64_t at_ms, int platform_percent,
                                   int user_percent);

// A click of `campaign` (no price, no ledger entries).
store::BillingEvent TestClick(const std::string& token_hash, const std::string& campaign,
                              int64_t at_ms);

}  // namespace attex::testing

#endif  // ATTEX_TESTS_TESTING_BILLING_EVENTS_H_
