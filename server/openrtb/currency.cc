#include "server/openrtb/currency.h"

#include <limits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace attex::openrtb {
namespace {

constexpr int64_t kMinRate = 1'000;                            // 0.000001
constexpr int64_t kMaxRate = 1'000'000 * CurrencyRates::kOne;  // 1000000

bool IsCode(absl::string_view code) {
  if (code.size() != 3) return false;
  for (char c : code) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

// "1.0842" -> 1084200000 (kOne units). False unless digits with at most
// one point and 9 decimals.
bool ParseRate(absl::string_view text, int64_t* rate, std::string* why) {
  int64_t units = 0, frac = 0;
  int digits = 0, decimals = 0;
  bool point = false;
  for (char c : text) {
    if (c == '.' && !point) {
      point = true;
    } else if (c >= '0' && c <= '9') {
      ++digits;
      if (!point) {
        units = units * 10 + (c - '0');
        if (units > 1'000'000) {
          *why = "is above 1000000";
          return false;
        }
      } else if (++decimals > 9) {
        *why = "has more than 9 digits after the point";
        return false;
      } else {
        frac = frac * 10 + (c - '0');
      }
    } else {
      *why = "is not a decimal number such as 1.0842";
      return false;
    }
  }
  if (digits == 0) {
    *why = "is not a decimal number such as 1.0842";
    return false;
  }
  for (; decimals < 9; ++decimals) frac *= 10;
  *rate = units * CurrencyRates::kOne + frac;
  if (*rate < kMinRate || *rate > kMaxRate) {
    *why = "must be 0.000001 to 1000000";
    return false;
  }
  return true;
}

using Wide = unsigned __int128;

int64_t Saturated(Wide value) {
  constexpr auto kMax = static_cast<Wide>(std::numeric_limits<int64_t>::max());
  return static_cast<int64_t>(value > kMax ? kMax : value);
}

}  // namespace

absl::StatusOr<CurrencyRates> CurrencyRates::Parse(absl::string_view text, absl::string_view name,
                                                   std::string account) {
  CurrencyRates rates(std::move(account));
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    auto bad = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat(name, ":", line_number, ": ", what));
    };
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (parts.size() != 2) {
      return bad(absl::StrCat("expected \"CODE RATE\" (e.g. \"EUR 1.0842\"), not \"",
                              line.substr(0, 64), "\""));
    }
    if (!IsCode(parts[0])) {
      return bad(absl::StrCat("\"", parts[0].substr(0, 16),
                              "\" is not an ISO 4217 code such as EUR (three capital letters)"));
    }
    int64_t rate = 0;
    std::string why;
    if (!ParseRate(parts[1], &rate, &why)) {
      return bad(
          absl::StrCat("the rate of ", parts[0], ", \"", parts[1].substr(0, 32), "\", ", why));
    }
    if (parts[0] == rates.account_) {
      if (rate != kOne) {
        return bad(absl::StrCat(parts[0], " is the account currency: its rate is 1"));
      }
      continue;
    }
    if (!rates.rates_.try_emplace(std::string(parts[0]), rate).second) {
      return bad(absl::StrCat(parts[0], " has a rate already"));
    }
  }
  return rates;
}

int64_t CurrencyRates::Rate(absl::string_view code) const {
  if (code == account_) return kOne;
  const auto it = rates_.find(code);
  return it == rates_.end() ? 0 : it->second;
}

// Products in 128 bits: micros times a rate (at most 1e15) do not fit 64;
// results past int64 saturate (callers bound them).
int64_t CurrencyRates::ToAccountUp(int64_t micros, int64_t rate) {
  const Wide product = static_cast<Wide>(micros) * static_cast<Wide>(rate);
  return Saturated((product + kOne - 1) / kOne);
}

int64_t CurrencyRates::ToAccountDown(int64_t micros, int64_t rate) {
  return Saturated(static_cast<Wide>(micros) * static_cast<Wide>(rate) / kOne);
}

int64_t CurrencyRates::FromAccountDown(int64_t account_micros, int64_t rate) {
  return Saturated(static_cast<Wide>(account_micros) * kOne / static_cast<Wide>(rate));
}

}  // namespace attex::openrtb
