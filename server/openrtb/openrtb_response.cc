// attex.v1.BidResponse -> OpenRTB 2.6 BidResponse JSON (openrtb_mapping.h),
// written by hand: a response is a few hundred bytes of known shape.
#include <string>

#include "absl/strings/str_cat.h"
#include "auction/reasons.h"
#include "server/openrtb/openrtb_mapping.h"

namespace attex::openrtb {
namespace {

void Key(absl::string_view key, std::string* out) {
  out->push_back('"');
  out->append(key.data(), key.size());
  out->append("\":");
}

// The OpenRTB impression (index into request.bid.slots()) of a slot id.
int ImpOf(const Request& request, absl::string_view slot_id) {
  for (int i = 0; i < request.bid.slots_size(); ++i) {
    if (request.bid.slots(i).id() == slot_id) return i;
  }
  return -1;
}

// A notice URL: `base`, the token, the macro parameter and, in another
// currency than the account's, the answer's currency.
std::string NoticeUrl(absl::string_view base, absl::string_view token, absl::string_view macro,
                      const Request& request) {
  // Billing tokens are base64url and dots: safe in a query as they are.
  std::string url = absl::StrCat(base, "?token=", token, macro);
  if (request.rate != CurrencyRates::kOne) absl::StrAppend(&url, "&cur=", request.currency);
  return url;
}

void AppendBid(const Request& request, const attex::v1::Placement& p, const BidDetails& details,
               const ResponseOptions& options, std::string* out) {
  out->append("{\"id\":");
  AppendJsonString(absl::StrCat(p.slot_id(), "-", p.campaign_id()), out);
  out->append(",\"impid\":");
  AppendJsonString(p.slot_id(), out);
  out->append(",\"price\":");
  AppendCpm(request.rate == CurrencyRates::kOne
                ? p.price_cpm_micros()
                : CurrencyRates::FromAccountDown(p.price_cpm_micros(), request.rate),
            out);
  out->append(",\"adm\":");
  AppendJsonString(p.markup(), out);
  if (!details.adomain.empty()) {
    out->append(",\"adomain\":[");
    for (size_t i = 0; i < details.adomain.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendJsonString(details.adomain[i], out);
    }
    out->push_back(']');
  }
  out->append(",\"cid\":");
  AppendJsonString(p.campaign_id(), out);
  out->append(",\"crid\":");
  AppendJsonString(p.creative_id(), out);
  if (!details.category.empty() || !details.categories.empty()) {
    out->append(",\"cat\":[");
    bool first = true;
    auto add = [&](absl::string_view c) {
      if (!first) out->push_back(',');
      first = false;
      AppendJsonString(c, out);
    };
    if (!details.category.empty()) add(details.category);
    for (const auto& c : details.categories) {
      if (c != details.category) add(c);
    }
    out->push_back(']');
  }
  const int imp = ImpOf(request, p.slot_id());
  if (imp >= 0 && imp < static_cast<int>(request.imps.size())) {
    const Imp& i = request.imps[imp];
    absl::StrAppend(out, ",\"mtype\":", static_cast<int>(i.mtype));
    // The creative's own size, else the impression's when it named one.
    const bool own = details.w > 0 && details.h > 0;
    const int32_t w = own ? details.w : i.w, h = own ? details.h : i.h;
    if (w > 0 && h > 0) absl::StrAppend(out, ",\"w\":", w, ",\"h\":", h);
  }
  if (!options.win_url.empty()) {
    out->append(",\"nurl\":");
    AppendJsonString(
        NoticeUrl(options.win_url, p.billing_token(), "&price=${AUCTION_PRICE}", request), out);
  }
  out->append(",\"burl\":");
  AppendJsonString(
      NoticeUrl(options.billing_url, p.billing_token(), "&price=${AUCTION_PRICE}", request), out);
  out->append(",\"lurl\":");
  AppendJsonString(
      NoticeUrl(options.loss_url, p.billing_token(), "&reason=${AUCTION_LOSS}", request), out);
  absl::StrAppend(out, ",\"exp\":", options.billing_token_ttl_s, "}");
}

}  // namespace

void AppendJsonString(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out->append("\\u00");
          out->push_back(kHex[u >> 4]);
          out->push_back(kHex[u & 15]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendCpm(int64_t micros, std::string* out) {
  if (micros < 0) {
    out->push_back('-');
    micros = -micros;  // Prices are never below 0; kept exact regardless.
  }
  absl::StrAppend(out, micros / 1'000'000);
  int64_t frac = micros % 1'000'000;
  if (frac == 0) return;
  char digits[7] = "000000";
  for (int i = 5; i >= 0; --i, frac /= 10) digits[i] = static_cast<char>('0' + frac % 10);
  int len = 6;
  while (digits[len - 1] == '0') --len;
  out->push_back('.');
  out->append(digits, len);
}

bool ParseCpm(absl::string_view text, int64_t* micros) {
  int64_t units = 0, frac = 0;
  int digits = 0, decimals = 0;
  bool dot = false;
  for (char c : text) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (c >= '0' && c <= '9') {
      ++digits;
      if (!dot) {
        units = units * 10 + (c - '0');
        if (units > 1'000'000'000) return false;
      } else if (decimals < 6) {
        frac = frac * 10 + (c - '0');
        ++decimals;
      }
    } else {
      return false;
    }
  }
  if (digits == 0) return false;
  for (; decimals < 6; ++decimals) frac *= 10;
  *micros = units * 1'000'000 + frac;
  return true;
}

void WriteBidResponse(const Request& request, const attex::v1::BidResponse& response,
                      absl::Span<const BidDetails> details, const ResponseOptions& options,
                      std::string* out) {
  out->clear();
  out->append("{\"id\":");
  AppendJsonString(request.bid.request_id(), out);
  out->append(",\"cur\":");
  AppendJsonString(request.currency, out);
  out->append(",\"seatbid\":[");
  // One seat per advertiser, in the order of their first placement.
  const auto& placements = response.placements();
  const BidDetails none;
  for (int i = 0; i < placements.size(); ++i) {
    const std::string& seat = placements[i].advertiser_id();
    bool seen = false;
    for (int j = 0; j < i && !seen; ++j) seen = placements[j].advertiser_id() == seat;
    if (seen) continue;
    if (out->back() != '[') out->push_back(',');
    out->append("{\"seat\":");
    AppendJsonString(seat, out);
    out->append(",\"bid\":[");
    for (int j = i; j < placements.size(); ++j) {
      if (placements[j].advertiser_id() != seat) continue;
      if (out->back() != '[') out->push_back(',');
      AppendBid(request, placements[j], j < static_cast<int>(details.size()) ? details[j] : none,
                options, out);
    }
    out->append("]}");
  }
  out->append("]}");
}

int NoBidReasonCode(absl::string_view reason) {
  using auction::NoBidReason;
  auto is = [reason](NoBidReason r) {
    const std::string_view name = auction::NoBidReasonName(r);
    return reason == absl::string_view(name.data(), name.size());
  };
  if (is(NoBidReason::kTimeout)) return 15;  // Insufficient auction time.
  if (is(NoBidReason::kNoSlots)) return 2;   // Invalid request.
  if (is(NoBidReason::kNoEligibleCampaigns)) return 500;
  if (is(NoBidReason::kBelowFloor)) return 501;
  if (is(NoBidReason::kBudget)) return 502;
  return 0;  // Unknown error.
}

std::string_view LossReasonLabel(absl::string_view reason) {
  // The codes of OpenRTB 2.6's list, as the labels (string literals: the
  // metric's label set stays bounded).
  static constexpr std::string_view kListed[] = {
      "0",   "1",   "2",   "3",   "4",   "5",   "6",   "7",   "8",   "9",   "10",
      "100", "101", "102", "103", "104", "200", "201", "202", "203", "204", "205",
      "206", "207", "208", "209", "210", "211", "212", "213", "214", "215"};
  int64_t code = 0;
  if (reason.empty() || reason.size() > 9) return "unknown";
  for (char c : reason) {
    if (c < '0' || c > '9') return "unknown";
    code = code * 10 + (c - '0');
  }
  if (code >= 500) return "exchange_specific";
  for (std::string_view listed : kListed) {
    int64_t value = 0;
    for (char c : listed) value = value * 10 + (c - '0');
    if (value == code) return listed;
  }
  return "other";
}

void WriteNoBidResponse(absl::string_view request_id, absl::string_view reason, std::string* out) {
  out->clear();
  out->append("{\"id\":");
  AppendJsonString(request_id, out);
  absl::StrAppend(out, ",\"nbr\":", NoBidReasonCode(reason), ",\"ext\":{\"reason\":");
  AppendJsonString(reason, out);
  out->append("}}");
}

void WriteError(const absl::Status& status, std::string* out) {
  out->clear();
  const absl::string_view message = status.message();
  const size_t colon = message.find(": ");
  out->append("{\"error\":{");
  if (colon != absl::string_view::npos) {
    Key("field", out);
    AppendJsonString(message.substr(0, colon), out);
    out->push_back(',');
  }
  Key("message", out);
  AppendJsonString(message, out);
  out->append("}}");
}

}  // namespace attex::openrtb
