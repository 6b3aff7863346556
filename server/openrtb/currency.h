// Exchange rates for OpenRTB requests in a currency other than the account
// currency (attex-server --currency_rates). Bids, budgets and billing stay
// in the account currency; a floor in another currency is converted into
// it, and an answer's prices back into the request's currency, exactly in
// integers (no floating point):
//
//   account micros = request micros x rate, rounded up     (floors)
//   request micros = account micros / rate, rounded down   (prices)
//
// so that a price written in the request's currency is never below the
// floor the platform sent in it, and a platform is never told it pays more
// than attex bills. The rates file has one currency a line, its ISO 4217
// code and what one unit of it is worth in the account currency:
//
//   # Rates of 2026-12-01, account currency USD.
//   EUR 1.0842
//   JPY 0.0066
//
// blank lines and lines starting with '#' are skipped; a rate is a decimal
// with at most 9 digits after the point, from 0.000001 to 1000000. An
// immutable value; thread-safe.
#ifndef ATTEX_SERVER_OPENRTB_CURRENCY_H_
#define ATTEX_SERVER_OPENRTB_CURRENCY_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attex::openrtb {

class CurrencyRates final {
 public:
  // One unit of the account currency, in the rates' fixed point.
  static constexpr int64_t kOne = 1'000'000'000;

  // The account currency alone (no other currency is accepted).
  explicit CurrencyRates(std::string account = "USD") : account_(std::move(account)) {}

  // Parses a rates file's text. INVALID_ARGUMENT "<name>:<line>: <what>" for
  // a line that is not "CODE RATE" (three upper-case letters, a rate in
  // bounds), a currency named twice, or the account currency at a rate
  // other than 1.
  static absl::StatusOr<CurrencyRates> Parse(absl::string_view text, absl::string_view name,
                                             std::string account);

  const std::string& account() const { return account_; }
  // What one unit of `code` is worth in the account currency, in kOne
  // units: kOne for the account currency, 0 for a currency without a rate.
  int64_t Rate(absl::string_view code) const;
  // How many currencies other than the account's have a rate.
  size_t size() const { return rates_.size(); }

  // Micros (not negative) of a currency at `rate` (Rate's, positive) into
  // account micros, rounded up (a floor never drops below what the platform
  // asked) or down (a price the platform reports is never raised). Results
  // past int64 saturate, here and below.
  static int64_t ToAccountUp(int64_t micros, int64_t rate);
  static int64_t ToAccountDown(int64_t micros, int64_t rate);
  // Account micros into micros of a currency at `rate`, rounded down.
  static int64_t FromAccountDown(int64_t account_micros, int64_t rate);

 private:
  std::string account_;
  absl::flat_hash_map<std::string, int64_t> rates_;
};

}  // namespace attex::openrtb

#endif  // ATTEX_SERVER_OPENRTB_CURRENCY_H_
