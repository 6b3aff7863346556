// OpenRTB 2.6 BidRequest JSON -> attex.v1.BidRequest (openrtb_mapping.h).
// simdjson's DOM: one pass builds the tape, then each object's fields are
// read in document order and dispatched by name, so unknown fields cost a
// comparison and `ext` is never looked at.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/limits.h"
#include "server/openrtb/country_codes.h"
#include "server/openrtb/gpp.h"
#include "server/openrtb/json_read.h"
#include "server/openrtb/openrtb_imp.h"
#include "server/openrtb/openrtb_mapping.h"

namespace attex::openrtb {
namespace {

using google::protobuf::RepeatedPtrField;

// Adds prefix + value to a feature list, trimmed; drops what validation
// would refuse of a derived token (empty, too long, control characters,
// past the list's bound) rather than refusing the request for it.
void AddToken(absl::string_view prefix, absl::string_view value,
              RepeatedPtrField<std::string>* list, int max = api::kMaxFeatures) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty() || list->size() >= max) return;
  if (prefix.size() + value.size() > api::kMaxTokenBytes) return;
  for (unsigned char ch : value) {
    if (ch < 0x20 || ch == 0x7f) return;
  }
  list->Add(absl::StrCat(prefix, value));
}

// keywords (a comma-separated string) and kwarray (2.6) -> "kw:" tokens.
absl::Status Keywords(const Field& f, RepeatedPtrField<std::string>* list) {
  if (f.key == "keywords") {
    absl::string_view csv;
    ATTEX_RETURN_IF_ERROR(String(f, &csv));
    for (absl::string_view kw : absl::StrSplit(csv, ',')) AddToken("kw:", kw, list);
  } else {
    ATTEX_RETURN_IF_ERROR(Strings(f, [&](absl::string_view kw) { AddToken("kw:", kw, list); }));
  }
  return absl::OkStatus();
}

// data[] (of user or content): each segment's id as "segment:<data.id>/<id>"
// ("segment:<id>" without a data.id). The provider "attex" names attex
// features themselves: its segment ids are taken as they are
// ("interest:running"), for platforms that compute them.
absl::Status Data(const Field& f, RepeatedPtrField<std::string>* features) {
  return Objects(f, [&](const Object& data) -> absl::Status {
    absl::string_view provider;
    for (const Field& g : data) {
      if (g.key == "id") ATTEX_RETURN_IF_ERROR(String(g, &provider));
    }
    const std::string prefix = provider.empty()      ? "segment:"
                               : provider == "attex" ? ""
                                                     : absl::StrCat("segment:", provider, "/");
    for (const Field& g : data) {
      if (g.key != "segment") continue;
      ATTEX_RETURN_IF_ERROR(Objects(g, [&](const Object& segment) -> absl::Status {
        for (const Field& h : segment) {
          if (h.key != "id") continue;
          absl::string_view id;
          ATTEX_RETURN_IF_ERROR(String(h, &id));
          AddToken(prefix, id, features);
        }
        return absl::OkStatus();
      }));
    }
    return absl::OkStatus();
  });
}

// site or app, and their publisher and content -> context features.
absl::Status ParseInventory(const Field& e, attex::v1::Context* ctx) {
  Object obj;
  ATTEX_RETURN_IF_ERROR(AsObject(e, &obj));
  auto* features = ctx->mutable_features();
  for (const Field& f : obj) {
    absl::string_view s;
    if (f.key == "domain") {
      ATTEX_RETURN_IF_ERROR(String(f, &s));
      AddToken("domain:", s, features);
    } else if (f.key == "bundle") {
      ATTEX_RETURN_IF_ERROR(String(f, &s));
      AddToken("app:", s, features);
    } else if (f.key == "cat" || f.key == "sectioncat" || f.key == "pagecat") {
      ATTEX_RETURN_IF_ERROR(
          Strings(f, [&](absl::string_view c) { AddToken("cat:", c, features); }));
    } else if (f.key == "keywords" || f.key == "kwarray") {
      ATTEX_RETURN_IF_ERROR(Keywords(f, features));
    } else if (f.key == "publisher") {
      Object pub;
      ATTEX_RETURN_IF_ERROR(AsObject(f, &pub));
      for (const Field& g : pub) {
        if (g.key == "id") {
          ATTEX_RETURN_IF_ERROR(String(g, &s));
          AddToken("publisher:", s, features);
        }
      }
    } else if (f.key == "content") {
      Object content;
      ATTEX_RETURN_IF_ERROR(AsObject(f, &content));
      for (const Field& g : content) {
        if (g.key == "keywords" || g.key == "kwarray") ATTEX_RETURN_IF_ERROR(Keywords(g, features));
        if (g.key == "data") ATTEX_RETURN_IF_ERROR(Data(g, features));
        if (g.key == "cat") {
          ATTEX_RETURN_IF_ERROR(
              Strings(g, [&](absl::string_view c) { AddToken("cat:", c, features); }));
        }
      }
    }
  }
  return absl::OkStatus();
}

// geo.country (ISO-3166-1 alpha-3; alpha-2 accepted) -> Context.country.
absl::Status Country(const Field& geo, std::string* country) {
  Object obj;
  ATTEX_RETURN_IF_ERROR(AsObject(geo, &obj));
  for (const Field& f : obj) {
    if (f.key != "country") continue;
    absl::string_view code;
    ATTEX_RETURN_IF_ERROR(String(f, &code));
    const std::string upper = absl::AsciiStrToUpper(code);
    absl::string_view alpha2 = upper.size() == 3 ? CountryAlpha2(upper) : absl::string_view();
    if (upper.size() == 2 && absl::ascii_isalpha(upper[0]) && absl::ascii_isalpha(upper[1])) {
      alpha2 = upper;
    }
    if (!alpha2.empty() && country->empty()) *country = std::string(alpha2);
  }
  return absl::OkStatus();
}

// AdCOM device types -> attex's.
absl::string_view DeviceType(int64_t type) {
  switch (type) {
    case 1:  // Mobile/tablet, general.
    case 4:  // Phone.
      return "mobile";
    case 2:  // Personal computer.
      return "desktop";
    case 3:  // Connected TV.
    case 7:  // Set-top box.
      return "ctv";
    case 5:
      return "tablet";
    default:  // Connected device, out-of-home, unknown.
      return "";
  }
}

// The answer's currency (Request::currency) from `cur`: the account
// currency if it is named, else the first named with a rate.
absl::Status AnswerCurrency(const Field& f, const CurrencyRates& rates, Request* out) {
  bool ours = false, any = false;
  absl::string_view other;
  ATTEX_RETURN_IF_ERROR(Strings(f, [&](absl::string_view c) {
    any = true;
    ours |= c == rates.account();
    if (other.empty() && rates.Rate(c) > 0) other = c;
  }));
  if (!any || ours) return absl::OkStatus();
  if (other.empty()) {
    return Bad(nullptr, "cur",
               absl::StrCat("no exchange rate for any of these: attex bids in ", rates.account(),
                            rates.size() > 0 ? " or a currency of --currency_rates" : ""));
  }
  out->currency = std::string(other);
  out->rate = rates.Rate(other);
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseBidRequest(absl::string_view json, const MappingOptions& options, Request* out) {
  out->bid.Clear();
  out->imps.clear();
  out->schain.clear();
  out->private_imps = 0;
  out->currency = options.rates.account();
  out->rate = CurrencyRates::kOne;
  Document doc;
  ATTEX_RETURN_IF_ERROR(doc.Parse(json));
  Object top;
  ATTEX_RETURN_IF_ERROR(AsObject(doc.root(), &top));
  // Read after the loop, in this order, wherever they are in the document.
  std::optional<Field> imps, site, app, device, user, regs;
  bool has_id = false;
  auto& bid = out->bid;
  for (const Field& f : top) {
    absl::string_view s;
    if (f.key == "id") {
      ATTEX_RETURN_IF_ERROR(String(f, &s));
      bid.set_request_id(std::string(s));
      has_id = true;
    } else if (f.key == "imp") {
      imps = f;
    } else if (f.key == "site") {
      site = f;
    } else if (f.key == "app") {
      app = f;
    } else if (f.key == "device") {
      device = f;
    } else if (f.key == "user") {
      user = f;
    } else if (f.key == "regs") {
      regs = f;
    } else if (f.key == "tmax") {
      int64_t tmax = 0;
      ATTEX_RETURN_IF_ERROR(Int(f, &tmax));
      if (tmax < 0) return Bad(nullptr, "tmax", "must not be negative");
      // A deadline past attex's longest is no different from the longest.
      bid.set_tmax_ms(static_cast<int32_t>(std::min<int64_t>(tmax, api::kMaxTmaxMs)));
    } else if (f.key == "at") {
      int64_t at = 0;
      ATTEX_RETURN_IF_ERROR(Int(f, &at));
      bid.set_auction_type(at == 1   ? attex::v1::AUCTION_TYPE_FIRST_PRICE
                           : at == 2 ? attex::v1::AUCTION_TYPE_SECOND_PRICE
                                     : attex::v1::AUCTION_TYPE_UNSPECIFIED);
    } else if (f.key == "bcat") {
      int n = 0;
      ATTEX_RETURN_IF_ERROR(Strings(f, [&](absl::string_view c) {
        ++n;
        AddToken("", c, bid.mutable_blocked_categories(), api::kMaxFeatures + 1);
      }));
      if (n > api::kMaxFeatures) {
        return Bad(nullptr, "bcat", absl::StrCat("more than ", api::kMaxFeatures, " entries"));
      }
    } else if (f.key == "badv") {
      int n = 0;
      ATTEX_RETURN_IF_ERROR(Strings(f, [&](absl::string_view d) {
        ++n;
        AddToken("", d, bid.mutable_blocked_domains(), api::kMaxFeatures + 1);
      }));
      if (n > api::kMaxFeatures) {
        return Bad(nullptr, "badv", absl::StrCat("more than ", api::kMaxFeatures, " entries"));
      }
    } else if (f.key == "cur") {
      ATTEX_RETURN_IF_ERROR(AnswerCurrency(f, options.rates, out));
    } else if (f.key == "test") {
      bool test = false;
      ATTEX_RETURN_IF_ERROR(Flag(f, &test));
      bid.set_test(test);
    } else if (f.key == "source") {
      Object source;
      ATTEX_RETURN_IF_ERROR(AsObject(f, &source));
      for (const Field& g : source) {
        if (g.key == "schain") out->schain = Minified(g);
      }
    }
  }
  if (!has_id) return Bad(nullptr, "id", "is required");
  if (bid.request_id().empty()) return Bad(nullptr, "id", "must not be empty");
  if (!imps.has_value()) return Bad(nullptr, "imp", "is required");
  if (site.has_value() && app.has_value()) {
    return Bad(nullptr, "app", "a request has site or app, not both");
  }
  absl::flat_hash_set<absl::string_view> ids;
  int count = 0, private_imps = 0;
  ATTEX_RETURN_IF_ERROR(Elements(*imps, [&](const Field& imp) -> absl::Status {
    if (++count > api::kMaxSlots) {
      return Bad(nullptr, "imp", absl::StrCat("more than ", api::kMaxSlots, " impressions"));
    }
    bool private_only = false;
    ATTEX_RETURN_IF_ERROR(ParseImp(imp, options, out, &ids, &private_only));
    private_imps += private_only;
    return absl::OkStatus();
  }));
  if (count == 0) return Bad(nullptr, "imp", "needs at least one impression");
  auto* ctx = bid.mutable_context();
  if (site.has_value()) ATTEX_RETURN_IF_ERROR(ParseInventory(*site, ctx));
  if (app.has_value()) ATTEX_RETURN_IF_ERROR(ParseInventory(*app, ctx));
  auto* u = bid.mutable_user();
  auto* consent = u->mutable_consent();
  absl::string_view ifa, buyeruid;
  if (user.has_value()) {
    Object obj;
    ATTEX_RETURN_IF_ERROR(AsObject(*user, &obj));
    for (const Field& f : obj) {
      absl::string_view s;
      if (f.key == "id") {
        ATTEX_RETURN_IF_ERROR(String(f, &s));
        u->set_id(std::string(s));
      } else if (f.key == "buyeruid") {
        ATTEX_RETURN_IF_ERROR(String(f, &buyeruid));
      } else if (f.key == "keywords" || f.key == "kwarray") {
        ATTEX_RETURN_IF_ERROR(Keywords(f, u->mutable_features()));
      } else if (f.key == "consent") {
        ATTEX_RETURN_IF_ERROR(String(f, &s));
        consent->set_tcf_consent(std::string(s));
      } else if (f.key == "geo") {
        ATTEX_RETURN_IF_ERROR(Country(f, ctx->mutable_country()));
      } else if (f.key == "data") {
        ATTEX_RETURN_IF_ERROR(Data(f, u->mutable_features()));
      }
    }
  }
  if (device.has_value()) {
    Object obj;
    ATTEX_RETURN_IF_ERROR(AsObject(*device, &obj));
    std::string country;  // device.geo comes before user.geo.
    for (const Field& f : obj) {
      absl::string_view s;
      if (f.key == "devicetype") {
        int64_t type = 0;
        ATTEX_RETURN_IF_ERROR(Int(f, &type));
        ctx->set_device_type(std::string(DeviceType(type)));
      } else if (f.key == "geo") {
        ATTEX_RETURN_IF_ERROR(Country(f, &country));
      } else if (f.key == "lmt") {
        bool lmt = false;
        ATTEX_RETURN_IF_ERROR(Flag(f, &lmt));
        consent->set_limit_ad_tracking(lmt);
      } else if (f.key == "ifa") {
        ATTEX_RETURN_IF_ERROR(String(f, &ifa));
      } else if (f.key == "os") {
        ATTEX_RETURN_IF_ERROR(String(f, &s));
        AddToken("os:", absl::AsciiStrToLower(s), ctx->mutable_features());
      }
    }
    if (!country.empty()) ctx->set_country(country);
  }
  // The user's id: user.id, else buyeruid, else the device's advertising id.
  if (u->id().empty()) u->set_id(std::string(!buyeruid.empty() ? buyeruid : ifa));
  if (regs.has_value()) {
    Object obj;
    ATTEX_RETURN_IF_ERROR(AsObject(*regs, &obj));
    absl::string_view gpp;
    bool has_sid = false;
    absl::InlinedVector<int64_t, 8> sids;
    for (const Field& f : obj) {
      bool flag = false;
      if (f.key == "coppa") {
        ATTEX_RETURN_IF_ERROR(Flag(f, &flag));
        consent->set_coppa(flag);
      } else if (f.key == "gdpr") {
        ATTEX_RETURN_IF_ERROR(Flag(f, &flag));
        consent->set_gdpr_applies(flag);
      } else if (f.key == "us_privacy") {
        // CCPA: "1YYN"; the third character Y is an opt-out of sale.
        absl::string_view usp;
        ATTEX_RETURN_IF_ERROR(String(f, &usp));
        if (usp.size() == 4 && (usp[2] == 'Y' || usp[2] == 'y')) {
          consent->set_limit_ad_tracking(true);
        }
      } else if (f.key == "gpp") {
        ATTEX_RETURN_IF_ERROR(String(f, &gpp));
      } else if (f.key == "gpp_sid") {
        // Section 2 is the EU TCF v2: GDPR applies.
        has_sid = true;
        ATTEX_RETURN_IF_ERROR(Ints(f, [&](int64_t sid) {
          if (sid == kGppTcfEuV2) consent->set_gdpr_applies(true);
          if (sids.size() < 64) sids.push_back(sid);
        }));
      }
    }
    if (!gpp.empty()) ApplyGpp(gpp, has_sid, sids, consent);
  }
  out->private_imps = private_imps;
  return absl::OkStatus();
}

}  // namespace attex::openrtb
