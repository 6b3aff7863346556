#include "auction/revenue_split.h"

namespace attex::auction {

absl::Status ValidateSplit(const SplitConfig& config) {
  if (config.platform_bps < 0 || config.platform_bps > 10000) {
    return absl::InvalidArgumentError("platform share must be within [0, 10000] basis points");
  }
  if (config.user_bps < 0 || config.user_bps > 10000) {
    return absl::InvalidArgumentError("user share must be within [0, 10000] basis points");
  }
  if (config.platform_bps + config.user_bps > 10000) {
    return absl::InvalidArgumentError("platform and user shares exceed 10000 basis points");
  }
  return absl::OkStatus();
}

Split SplitPrice(int64_t price_micros, const SplitConfig& config) {
  Split split;
  // price <= 1e15 and bps <= 1e4 keep the products far below 2^63.
  split.platform_micros = price_micros * config.platform_bps / 10000;
  split.user_micros = price_micros * config.user_bps / 10000;
  split.exchange_micros = price_micros - split.platform_micros - split.user_micros;
  return split;
}

}  // namespace attex::auction
