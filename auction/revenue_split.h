// The revenue split of one billed impression.
#ifndef ATTEX_AUCTION_REVENUE_SPLIT_H_
#define ATTEX_AUCTION_REVENUE_SPLIT_H_

#include <cstdint>

#include "absl/status/status.h"

namespace attex::auction {

// Shares in basis points (1/10000). The exchange keeps what is left.
struct SplitConfig {
  int64_t platform_bps = 8000;
  int64_t user_bps = 1000;
};

struct Split {
  int64_t platform_micros = 0;
  int64_t user_micros = 0;      // The user's attention dividend.
  int64_t exchange_micros = 0;  // price - platform - user: the three add up exactly.
};

// INVALID_ARGUMENT unless both shares are in [0, 10000] and sum to at most 10000.
absl::Status ValidateSplit(const SplitConfig& config);

// Splits price_micros (>= 0). Each share is rounded down; the exchange takes
// the remainder, so the parts always sum to the price.
Split SplitPrice(int64_t price_micros, const SplitConfig& config);

// The price of one impression at a CPM price: cpm / 1000, rounded down.
inline int64_t ImpressionPriceMicros(int64_t price_cpm_micros) { return price_cpm_micros / 1000; }

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_REVENUE_SPLIT_H_
