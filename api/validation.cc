#include "api/validation.h"

#include <cmath>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/limits.h"

namespace attex::api {
namespace {

constexpr absl::string_view kFormats[] = {"banner", "native", "video", "audio"};
constexpr absl::string_view kDevices[] = {"mobile", "desktop", "tablet", "ctv"};

template <size_t N>
bool OneOf(absl::string_view value, const absl::string_view (&list)[N]) {
  for (absl::string_view item : list) {
    if (item == value) return true;
  }
  return false;
}

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

std::string Index(absl::string_view field, int i) { return absl::StrCat(field, "[", i, "]"); }

// Ids and tokens: bounded, and free of control characters (billing tokens
// use one as a separator; logs must stay one line a record).
absl::Status CheckString(absl::string_view field, absl::string_view value, size_t min_len,
                         size_t max_len) {
  if (value.size() < min_len) {
    return Invalid(field, min_len == 1 ? "must not be empty"
                                       : absl::StrCat("must be at least ", min_len, " bytes"));
  }
  if (value.size() > max_len)
    return Invalid(field, absl::StrCat("longer than ", max_len, " bytes"));
  for (unsigned char ch : value) {
    if (ch < 0x20 || ch == 0x7f) return Invalid(field, "contains a control character");
  }
  return absl::OkStatus();
}

template <typename Repeated>
absl::Status CheckTokens(absl::string_view field, const Repeated& tokens, int max_count) {
  if (tokens.size() > max_count) {
    return Invalid(field, absl::StrCat("more than ", max_count, " entries"));
  }
  for (int i = 0; i < tokens.size(); ++i) {
    if (auto s = CheckString(Index(field, i), tokens.Get(i), 1, kMaxTokenBytes); !s.ok()) return s;
  }
  return absl::OkStatus();
}

template <typename Repeated>
absl::Status CheckEmbedding(absl::string_view field, const Repeated& values, int d_model) {
  if (values.empty()) return absl::OkStatus();
  if (values.size() != d_model) {
    return Invalid(field,
                   absl::StrCat("has ", values.size(), " values; the model needs ", d_model));
  }
  for (int i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values.Get(i))) return Invalid(Index(field, i), "is not a finite number");
  }
  return absl::OkStatus();
}

absl::Status CheckCountry(absl::string_view field, absl::string_view code) {
  if (code.size() != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z') {
    return Invalid(field, absl::StrCat("\"", code.substr(0, 16),
                                       "\" is not an ISO 3166-1 alpha-2 code such as \"US\""));
  }
  return absl::OkStatus();
}

absl::Status CheckFormat(absl::string_view field, absl::string_view format) {
  if (!OneOf(format, kFormats)) {
    return Invalid(field, absl::StrCat("unknown format \"", format.substr(0, 32),
                                       "\" (banner, native, video, audio)"));
  }
  return absl::OkStatus();
}

absl::Status CheckDevice(absl::string_view field, absl::string_view device) {
  if (!OneOf(device, kDevices)) {
    return Invalid(field, absl::StrCat("unknown device type \"", device.substr(0, 32),
                                       "\" (mobile, desktop, tablet, ctv)"));
  }
  return absl::OkStatus();
}

// Returns the status of `expr` when it is not OK. (Not ATTEX_CHECK: that
// one, in attention/check.h, aborts.)
#define ATTEX_RETURN_IF_ERROR(expr) \
  do {                              \
    absl::Status _s = (expr);       \
    if (!_s.ok()) return _s;        \
  } while (0)

absl::Status CheckSide(absl::string_view field, int32_t pixels) {
  if (pixels < 1 || pixels > kMaxSizePixels) {
    return Invalid(field, absl::StrCat("must be 1 to ", kMaxSizePixels, " pixels"));
  }
  return absl::OkStatus();
}

absl::Status CheckDuration(absl::string_view field, int32_t seconds) {
  if (seconds < 0 || seconds > kMaxDurationS) {
    return Invalid(field, absl::StrCat("must be 0 to ", kMaxDurationS, " seconds"));
  }
  return absl::OkStatus();
}

// A slot's sizes, mimes and durations.
absl::Status CheckSlotShape(const attex::v1::Slot& slot, const std::string& f) {
  if (slot.sizes_size() > kMaxSlotSizes) {
    return Invalid(f + ".sizes", absl::StrCat("more than ", kMaxSlotSizes, " sizes"));
  }
  for (int j = 0; j < slot.sizes_size(); ++j) {
    const std::string g = Index(f + ".sizes", j);
    ATTEX_RETURN_IF_ERROR(CheckSide(g + ".w", slot.sizes(j).w()));
    ATTEX_RETURN_IF_ERROR(CheckSide(g + ".h", slot.sizes(j).h()));
    for (int k = 0; k < j; ++k) {
      if (slot.sizes(k).w() == slot.sizes(j).w() && slot.sizes(k).h() == slot.sizes(j).h()) {
        return Invalid(g, absl::StrCat("repeats ", slot.sizes(j).w(), "x", slot.sizes(j).h()));
      }
    }
  }
  ATTEX_RETURN_IF_ERROR(CheckTokens(f + ".mimes", slot.mimes(), kMaxSlotMimes));
  ATTEX_RETURN_IF_ERROR(CheckDuration(f + ".min_duration_s", slot.min_duration_s()));
  ATTEX_RETURN_IF_ERROR(CheckDuration(f + ".max_duration_s", slot.max_duration_s()));
  if (slot.max_duration_s() != 0 && slot.max_duration_s() < slot.min_duration_s()) {
    return Invalid(f + ".max_duration_s", "must be at least min_duration_s (or 0: no bound)");
  }
  return absl::OkStatus();
}

absl::Status CheckCreative(const attex::v1::Creative& cr, const std::string& f, int d_model) {
  if (!cr.id().empty()) ATTEX_RETURN_IF_ERROR(CheckString(f + ".id", cr.id(), 1, 64));
  ATTEX_RETURN_IF_ERROR(CheckFormat(f + ".format", cr.format()));
  ATTEX_RETURN_IF_ERROR(CheckString(f + ".category", cr.category(), 0, 64));
  if (cr.categories_size() > kMaxCreativeCategories) {
    return Invalid(f + ".categories",
                   absl::StrCat("more than ", kMaxCreativeCategories, " categories"));
  }
  for (int i = 0; i < cr.categories_size(); ++i) {
    ATTEX_RETURN_IF_ERROR(CheckString(Index(f + ".categories", i), cr.categories(i), 1, 64));
  }
  if (cr.w() != 0 || cr.h() != 0) {  // Both or neither.
    ATTEX_RETURN_IF_ERROR(CheckSide(f + ".w", cr.w()));
    ATTEX_RETURN_IF_ERROR(CheckSide(f + ".h", cr.h()));
  }
  ATTEX_RETURN_IF_ERROR(CheckString(f + ".mime", cr.mime(), 0, kMaxMimeBytes));
  ATTEX_RETURN_IF_ERROR(CheckDuration(f + ".duration_s", cr.duration_s()));
  ATTEX_RETURN_IF_ERROR(CheckTokens(f + ".features", cr.features(), kMaxFeatures));
  ATTEX_RETURN_IF_ERROR(CheckEmbedding(f + ".embedding", cr.embedding(), d_model));
  if (cr.features().empty() && cr.embedding().empty()) {
    return Invalid(f + ".features", "a creative needs features or an embedding");
  }
  if (cr.markup().size() > kMaxMarkupBytes) {
    return Invalid(f + ".markup", absl::StrCat("longer than ", kMaxMarkupBytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateBidRequest(const attex::v1::BidRequest& r, int d_model) {
  ATTEX_RETURN_IF_ERROR(CheckString("request_id", r.request_id(), 1, 128));
  const auto& user = r.user();
  ATTEX_RETURN_IF_ERROR(CheckString("user.id", user.id(), 0, 128));
  ATTEX_RETURN_IF_ERROR(CheckTokens("user.features", user.features(), kMaxFeatures));
  ATTEX_RETURN_IF_ERROR(CheckTokens("user.recent", user.recent(), kMaxRecent));
  ATTEX_RETURN_IF_ERROR(CheckEmbedding("user.embedding", user.embedding(), d_model));
  ATTEX_RETURN_IF_ERROR(
      CheckString("user.consent.tcf_consent", user.consent().tcf_consent(), 0, 4096));
  const auto& ctx = r.context();
  ATTEX_RETURN_IF_ERROR(CheckTokens("context.features", ctx.features(), kMaxFeatures));
  if (!ctx.country().empty()) ATTEX_RETURN_IF_ERROR(CheckCountry("context.country", ctx.country()));
  if (!ctx.device_type().empty())
    ATTEX_RETURN_IF_ERROR(CheckDevice("context.device_type", ctx.device_type()));
  if (r.slots().empty()) return Invalid("slots", "at least one slot is needed");
  if (r.slots_size() > kMaxSlots) {
    return Invalid("slots", absl::StrCat("more than ", kMaxSlots, " slots"));
  }
  absl::flat_hash_set<absl::string_view> ids;
  for (int i = 0; i < r.slots_size(); ++i) {
    const auto& slot = r.slots(i);
    const std::string f = Index("slots", i);
    ATTEX_RETURN_IF_ERROR(CheckString(f + ".id", slot.id(), 1, 64));
    if (!ids.insert(slot.id()).second) return Invalid(f + ".id", "repeats an earlier slot's id");
    ATTEX_RETURN_IF_ERROR(CheckFormat(f + ".format", slot.format()));
    if (slot.position() < 0 || slot.position() > kMaxSlotPosition) {
      return Invalid(f + ".position", absl::StrCat("must be 0 to ", kMaxSlotPosition));
    }
    if (slot.floor_cpm_micros() < 0 || slot.floor_cpm_micros() > kMaxCpmMicros) {
      return Invalid(f + ".floor_cpm_micros", "must be 0 to 1e12");
    }
    ATTEX_RETURN_IF_ERROR(CheckSlotShape(slot, f));
  }
  if (r.tmax_ms() < 0 || r.tmax_ms() > kMaxTmaxMs) {
    return Invalid("tmax_ms", absl::StrCat("must be 0 to ", kMaxTmaxMs));
  }
  if (!attex::v1::AuctionType_IsValid(r.auction_type()))
    return Invalid("auction_type", "unknown value");
  ATTEX_RETURN_IF_ERROR(CheckTokens("blocked_categories", r.blocked_categories(), kMaxFeatures));
  ATTEX_RETURN_IF_ERROR(CheckTokens("blocked_advertisers", r.blocked_advertisers(), kMaxFeatures));
  ATTEX_RETURN_IF_ERROR(CheckTokens("blocked_domains", r.blocked_domains(), kMaxFeatures));
  return absl::OkStatus();
}

absl::Status ValidateCampaign(const attex::v1::Campaign& c, int d_model) {
  ATTEX_RETURN_IF_ERROR(CheckString("name", c.name(), 1, 256));
  if (!attex::v1::CampaignStatus_IsValid(c.status())) return Invalid("status", "unknown value");
  if (c.bid_cpm_micros() <= 0) return Invalid("bid_cpm_micros", "must be positive");
  if (c.bid_cpm_micros() > kMaxCpmMicros) return Invalid("bid_cpm_micros", "must be at most 1e12");
  if (c.budget().total_micros() <= 0) return Invalid("budget.total_micros", "must be positive");
  if (c.budget().total_micros() > kMaxBudgetMicros) {
    return Invalid("budget.total_micros", "must be at most 1e15");
  }
  if (c.budget().daily_micros() < 0 || c.budget().daily_micros() > kMaxBudgetMicros) {
    return Invalid("budget.daily_micros", "must be 0 (no daily limit) to 1e15");
  }
  if (!attex::v1::Pacing_IsValid(c.pacing())) return Invalid("pacing", "unknown value");
  const auto& t = c.targeting();
  if (t.countries_size() > kMaxCountries) {
    return Invalid("targeting.countries", absl::StrCat("more than ", kMaxCountries, " entries"));
  }
  for (int i = 0; i < t.countries_size(); ++i) {
    ATTEX_RETURN_IF_ERROR(CheckCountry(Index("targeting.countries", i), t.countries(i)));
  }
  if (t.device_types_size() > 4) return Invalid("targeting.device_types", "more than 4 entries");
  for (int i = 0; i < t.device_types_size(); ++i) {
    ATTEX_RETURN_IF_ERROR(CheckDevice(Index("targeting.device_types", i), t.device_types(i)));
  }
  ATTEX_RETURN_IF_ERROR(
      CheckTokens("targeting.include_features", t.include_features(), kMaxFeatures));
  ATTEX_RETURN_IF_ERROR(
      CheckTokens("targeting.exclude_features", t.exclude_features(), kMaxFeatures));
  if (t.hours_size() > 24) return Invalid("targeting.hours", "more than 24 entries");
  for (int i = 0; i < t.hours_size(); ++i) {
    if (t.hours(i) < 0 || t.hours(i) > 23)
      return Invalid(Index("targeting.hours", i), "must be 0 to 23");
  }
  const auto& cap = c.frequency_cap();
  if (cap.impressions() < 0) return Invalid("frequency_cap.impressions", "must not be negative");
  if (cap.period_s() < 0 || cap.period_s() > 366LL * 86400) {
    return Invalid("frequency_cap.period_s", "must be 0 to one year");
  }
  if (cap.impressions() > 0 && cap.period_s() == 0) {
    return Invalid("frequency_cap.period_s", "must be positive when impressions is set");
  }
  if (c.schedule().start() < 0) return Invalid("schedule.start", "must not be negative");
  if (c.schedule().end() < 0) return Invalid("schedule.end", "must not be negative");
  if (c.schedule().end() != 0 && c.schedule().end() <= c.schedule().start()) {
    return Invalid("schedule.end", "must be after schedule.start");
  }
  if (c.adomain_size() > kMaxAdvertiserDomains) {
    return Invalid("adomain", absl::StrCat("more than ", kMaxAdvertiserDomains, " domains"));
  }
  for (int i = 0; i < c.adomain_size(); ++i) {
    ATTEX_RETURN_IF_ERROR(CheckString(Index("adomain", i), c.adomain(i), 1, 128));
    if (absl::StrContains(c.adomain(i), ' ')) {
      return Invalid(Index("adomain", i), "a domain has no spaces (\"stride.example\")");
    }
  }
  if (c.creatives().empty()) return Invalid("creatives", "at least one creative is needed");
  if (c.creatives_size() > kMaxCreatives) {
    return Invalid("creatives", absl::StrCat("more than ", kMaxCreatives, " creatives"));
  }
  absl::flat_hash_set<absl::string_view> ids;
  for (int i = 0; i < c.creatives_size(); ++i) {
    const std::string f = Index("creatives", i);
    ATTEX_RETURN_IF_ERROR(CheckCreative(c.creatives(i), f, d_model));
    if (!c.creatives(i).id().empty() && !ids.insert(c.creatives(i).id()).second) {
      return Invalid(f + ".id", "repeats an earlier creative's id");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateReportEvents(const attex::v1::ReportEventsRequest& r) {
  if (r.events().empty()) return Invalid("events", "at least one event is needed");
  if (r.events_size() > kMaxEventsPerReport) {
    return Invalid("events", absl::StrCat("more than ", kMaxEventsPerReport, " events"));
  }
  for (int i = 0; i < r.events_size(); ++i) {
    const auto& e = r.events(i);
    const std::string f = Index("events", i);
    if (e.billing_token().empty()) return Invalid(f + ".billing_token", "must not be empty");
    if (e.billing_token().size() > kMaxBillingTokenBytes) {
      return Invalid(f + ".billing_token",
                     absl::StrCat("longer than ", kMaxBillingTokenBytes, " bytes"));
    }
    if (e.type() != attex::v1::EVENT_TYPE_IMPRESSION && e.type() != attex::v1::EVENT_TYPE_CLICK) {
      return Invalid(f + ".type", "must be EVENT_TYPE_IMPRESSION or EVENT_TYPE_CLICK");
    }
    ATTEX_RETURN_IF_ERROR(CheckString(f + ".event_id", e.event_id(), 0, 128));
  }
  return absl::OkStatus();
}

absl::Status ValidateCreateAccount(const attex::v1::CreateAccountRequest& r) {
  if (r.role() != attex::v1::ROLE_PLATFORM && r.role() != attex::v1::ROLE_ADVERTISER &&
      r.role() != attex::v1::ROLE_OPERATOR) {
    return Invalid("role", "must be ROLE_PLATFORM, ROLE_ADVERTISER or ROLE_OPERATOR");
  }
  return CheckString("name", r.name(), 1, 128);
}

absl::Status ValidateCampaignId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return Invalid(field, "must not be empty");
  return absl::OkStatus();
}

absl::Status ValidateNewCampaign(const attex::v1::Campaign& c, int d_model) {
  if (c.status() == attex::v1::CAMPAIGN_STATUS_ARCHIVED) {
    return Invalid("status", "a new campaign cannot be archived");
  }
  return ValidateCampaign(c, d_model);
}

absl::Status ValidateCampaignUpdate(const attex::v1::Campaign& c, int d_model) {
  ATTEX_RETURN_IF_ERROR(ValidateCampaignId("id", c.id()));
  return ValidateCampaign(c, d_model);
}

absl::Status ValidateListCampaigns(const attex::v1::ListCampaignsRequest& r) {
  if (r.page_size() < 0 || r.page_size() > kMaxPageSize) {
    return Invalid("page_size", absl::StrCat("must be 0 to ", kMaxPageSize));
  }
  return absl::OkStatus();
}

absl::Status ValidateSetCampaignStatus(const attex::v1::SetCampaignStatusRequest& r) {
  if (r.status() != attex::v1::CAMPAIGN_STATUS_ACTIVE &&
      r.status() != attex::v1::CAMPAIGN_STATUS_PAUSED &&
      r.status() != attex::v1::CAMPAIGN_STATUS_ARCHIVED) {
    return Invalid("status", "must be CAMPAIGN_STATUS_ACTIVE, _PAUSED or _ARCHIVED");
  }
  return ValidateCampaignId("id", r.id());
}

absl::Status ValidatePing(const attex::v1::PingRequest& r) {
  if (r.payload().size() > kMaxPingPayloadBytes) {
    return Invalid("payload", absl::StrCat("longer than ", kMaxPingPayloadBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRevokeToken(const attex::v1::RevokeTokenRequest& r) {
  if (r.account_id().empty()) return Invalid("account_id", "must not be empty");
  return absl::OkStatus();
}

absl::Status ValidateGetLedgerBalances(const attex::v1::GetLedgerBalancesRequest& r) {
  if (r.prefix().size() > kMaxLedgerAccountBytes) {
    return Invalid("prefix", absl::StrCat("longer than ", kMaxLedgerAccountBytes, " bytes"));
  }
  if (r.account().size() > kMaxLedgerAccountBytes) {
    return Invalid("account", absl::StrCat("longer than ", kMaxLedgerAccountBytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace attex::api
