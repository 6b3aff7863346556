// Billing tokens for attex-load's `--method report`: collected up front from
// the placements of Bid calls (a token is valid only as the server signed
// it), then reported in batches by the driver, each token once, so that
// every reported event is a new one the server must write. Separate from
// the driver so that the report phase measures ReportEvents alone.
#ifndef ATTEX_CLIENT_LOAD_TOKEN_COLLECTOR_H_
#define ATTEX_CLIENT_LOAD_TOKEN_COLLECTOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/load/driver.h"

namespace attex::load {

// What the collection did, besides the tokens.
struct Collected {
  std::vector<std::string> tokens;  // One a placement, in no particular order.
  int64_t bids = 0;                 // OK Bid calls.
  int64_t failed = 0;               // Bid calls that failed.
  double seconds = 0;
};

// Sends Bid calls of `options.requests` (cycled) to `options.addr` with
// `options.token`, `options.concurrency` in flight over `options.channels`
// connections, until `count` placements' billing tokens are in hand.
// Errors: INVALID_ARGUMENT for bad options (no requests, count < 1);
// UNAVAILABLE when 100 calls in a row fail (with the last error), or when
// 10,000 answers in a row place nothing (with their no-bid reason).
absl::StatusOr<Collected> CollectBillingTokens(const DriverOptions& options, int64_t count);

}  // namespace attex::load

#endif  // ATTEX_CLIENT_LOAD_TOKEN_COLLECTOR_H_
