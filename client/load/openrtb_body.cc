#include "client/load/openrtb_body.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace attex::load {
namespace {

void Quoted(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out->push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// The workload's countries (workload.cc), alpha-2 -> OpenRTB's alpha-3.
absl::string_view Alpha3(absl::string_view alpha2) {
  static constexpr std::pair<absl::string_view, absl::string_view> kCodes[] = {
      {"US", "USA"}, {"GB", "GBR"}, {"DE", "DEU"}, {"FR", "FRA"},
      {"CA", "CAN"}, {"IN", "IND"}, {"BR", "BRA"}, {"JP", "JPN"}};
  for (const auto& [a2, a3] : kCodes) {
    if (a2 == alpha2) return a3;
  }
  return "";
}

int DeviceType(absl::string_view device) {
  if (device == "mobile") return 4;  // Phone.
  if (device == "desktop") return 2;
  if (device == "tablet") return 5;
  if (device == "ctv") return 3;
  return 0;
}

// {"id":"attex","segment":[{"id":"..."},...]}
template <typename Tokens>
void AttexData(const Tokens& tokens, std::string* out) {
  out->append("[{\"id\":\"attex\",\"segment\":[");
  bool first = true;
  for (const auto& t : tokens) {
    if (!first) out->push_back(',');
    first = false;
    out->append("{\"id\":");
    Quoted(t, out);
    out->push_back('}');
  }
  out->append("]}]");
}

}  // namespace

std::string OpenRtbBody(const attex::v1::BidRequest& r) {
  std::string out = "{\"id\":";
  Quoted(r.request_id(), &out);
  if (r.tmax_ms() > 0) absl::StrAppend(&out, ",\"tmax\":", r.tmax_ms());
  if (r.test()) out.append(",\"test\":1");
  out.append(",\"imp\":[");
  for (int i = 0; i < r.slots_size(); ++i) {
    const auto& s = r.slots(i);
    if (i > 0) out.push_back(',');
    out.append("{\"id\":");
    Quoted(s.id(), &out);
    // Positions 0, 1, 2... as fullscreen, above the fold, unknown, sidebar,
    // below the fold (the endpoint's order of prominence).
    static constexpr int kPos[] = {7, 1, 0, 6, 3};
    const int pos = kPos[std::min(s.position(), 4)];
    if (s.format() == "banner") {
      absl::StrAppend(&out, ",\"banner\":{\"w\":300,\"h\":250,\"pos\":", pos, "}");
    } else {
      absl::StrAppend(&out, ",\"", s.format(), "\":{}");
    }
    if (s.floor_cpm_micros() > 0) {
      absl::StrAppend(&out, ",\"bidfloor\":", s.floor_cpm_micros() / 1'000'000, ".",
                      absl::Dec(s.floor_cpm_micros() % 1'000'000, absl::kZeroPad6));
    }
    out.push_back('}');
  }
  out.append("],\"site\":{\"content\":{\"data\":");
  AttexData(r.context().features(), &out);
  out.append("}},\"device\":{");
  bool comma = false;
  if (const int type = DeviceType(r.context().device_type()); type > 0) {
    absl::StrAppend(&out, "\"devicetype\":", type);
    comma = true;
  }
  if (const absl::string_view a3 = Alpha3(r.context().country()); !a3.empty()) {
    absl::StrAppend(&out, comma ? "," : "", "\"geo\":{\"country\":\"", a3, "\"}");
    comma = true;
  }
  if (r.user().consent().limit_ad_tracking()) absl::StrAppend(&out, comma ? "," : "", "\"lmt\":1");
  out.append("},\"user\":{");
  if (!r.user().id().empty()) {
    out.append("\"id\":");
    Quoted(r.user().id(), &out);
    out.push_back(',');
  }
  out.append("\"data\":");
  AttexData(r.user().features(), &out);
  out.append("}}");
  return out;
}

}  // namespace attex::load
