#include "tests/testing/billing_events.h"

namespace attex::testing {

store::BillingEvent TestImpression(const std::string& token_hash, const std::string& campaign,
                                   int64_t price, int64_t at_ms, int platform_percent,
                                   int user_percent) {
  store::BillingEvent e{.token_hash = token_hash,
                        .type = attex::v1::EVENT_TYPE_IMPRESSION,
                        .event_id = "ev-" + token_hash,
                        .campaign_id = campaign,
                        .platform_id = "acc-2",
                        .price_micros = price,
                        .at_ms = at_ms,
                        .entries = {}};
  const int64_t platform = price * platform_percent / 100;
  const int64_t user = price * user_percent / 100;
  e.entries = {{"advertiser:acc-3", -price},
               {"platform:acc-2", platform},
               {"user:u1", user},
               {"exchange", price - platform - user}};
  return e;
}

store::BillingEvent TestClick(const std::string& token_hash, const std::string& campaign,
                              int64_t at_ms) {
  return store::BillingEvent{.token_hash = token_hash,
                             .type = attex::v1::EVENT_TYPE_CLICK,
                             .event_id = "click-" + token_hash,
                             .campaign_id = campaign,
                             .platform_id = "acc-2",
                             .at_ms = at_ms,
                             .entries = {}};
}

}  // namespace attex::testing
