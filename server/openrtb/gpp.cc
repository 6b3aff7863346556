#include "server/openrtb/gpp.h"

#include <algorithm>

#include "absl/strings/str_split.h"

namespace attex::openrtb {
namespace {

// What validation accepts of user.consent.tcf_consent.
constexpr size_t kMaxTcfBytes = 4096;

// Bounds on what a header may name (the IAB's list has a few dozen ids).
constexpr int kMaxSections = 64;
constexpr int64_t kMaxSectionId = 1000;

// The bits of a base64url string, most significant first, 6 a character.
class Bits {
 public:
  explicit Bits(absl::string_view text) : text_(text) {}

  // The next `n` bits (n <= 32) as an integer; false past the end or at a
  // character outside base64url.
  bool Read(int n, int64_t* value) {
    *value = 0;
    for (int i = 0; i < n; ++i) {
      int bit = 0;
      if (!Next(&bit)) return false;
      *value = (*value << 1) | bit;
    }
    return true;
  }

  // A Fibonacci-coded integer: bits weigh 1, 2, 3, 5, 8, ... and "11" ends
  // it (its last 1 weighs nothing).
  bool Fibonacci(int64_t* value) {
    *value = 0;
    int64_t weight = 1, next = 2;
    int previous = 0;
    for (int i = 0; i < 40; ++i) {  // Past 40 bits the values exceed any id.
      int bit = 0;
      if (!Next(&bit)) return false;
      if (bit == 1 && previous == 1) return true;
      if (bit == 1) *value += weight;
      previous = bit;
      const int64_t sum = weight + next;
      weight = next;
      next = sum;
    }
    return false;
  }

 private:
  static int Sextet(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  }

  bool Next(int* bit) {
    const size_t at = position_ / 6;
    if (at >= text_.size()) return false;
    const int sextet = Sextet(text_[at]);
    if (sextet < 0) return false;
    *bit = (sextet >> (5 - position_ % 6)) & 1;
    ++position_;
    return true;
  }

  absl::string_view text_;
  size_t position_ = 0;
};

// The 2-bit field at `offset` of a section's core segment (before any '.').
bool Field2(absl::string_view section, int offset, int64_t* value) {
  Bits bits(section.substr(0, section.find('.')));
  int64_t skipped = 0;
  for (int i = 0; i < offset; i += 2) {
    if (!bits.Read(2, &skipped)) return false;
  }
  return bits.Read(2, value);
}

}  // namespace

absl::string_view GppString::Section(int id) const {
  for (size_t i = 0; i < section_ids.size(); ++i) {
    if (section_ids[i] == id) return sections[i];
  }
  return {};
}

bool ParseGpp(absl::string_view gpp, GppString* out) {
  out->section_ids.clear();
  out->sections.clear();
  std::vector<absl::string_view> parts = absl::StrSplit(gpp, '~');
  Bits header(parts[0]);
  int64_t type = 0, version = 0, entries = 0;
  if (!header.Read(6, &type) || type != 3 || !header.Read(6, &version) || version != 1 ||
      !header.Read(12, &entries) || entries > kMaxSections) {
    return false;
  }
  int64_t offset = 0;
  for (int64_t e = 0; e < entries; ++e) {
    int64_t is_range = 0, first = 0;
    if (!header.Read(1, &is_range) || !header.Fibonacci(&first)) return false;
    first += offset;
    int64_t last = first;
    if (is_range == 1) {
      if (!header.Fibonacci(&last)) return false;
      last += first;
    }
    if (last > kMaxSectionId ||
        static_cast<int64_t>(out->section_ids.size()) + (last - first + 1) > kMaxSections) {
      return false;
    }
    for (int64_t id = first; id <= last; ++id) out->section_ids.push_back(static_cast<int>(id));
    offset = last;
  }
  if (parts.size() != out->section_ids.size() + 1) return false;
  out->sections.assign(parts.begin() + 1, parts.end());
  return true;
}

OptOut SectionOptOut(int id, absl::string_view section) {
  if (id == kGppUspV1) {
    if (section.size() != 4 || section[0] != '1') return OptOut::kUnreadable;
    return section[2] == 'Y' || section[2] == 'y' ? OptOut::kYes : OptOut::kNo;
  }
  // Offsets of the 2-bit fields in the core segment: after the 6-bit
  // version, six notices (national) or three (California), then the
  // opt-outs; 1 is "opted out".
  const bool national = id == kGppUsNational;
  if (!national && id != kGppUsCalifornia) return OptOut::kUnreadable;
  const int first = national ? 18 : 12;
  const int count = national ? 3 : 2;  // Sale, sharing (and targeted advertising).
  int64_t version = 0;
  if (!Bits(section).Read(6, &version) || version < 1) return OptOut::kUnreadable;
  bool opted_out = false;
  for (int k = 0; k < count; ++k) {
    int64_t value = 0;
    if (!Field2(section, first + 2 * k, &value)) return OptOut::kUnreadable;
    opted_out |= value == 1;
  }
  return opted_out ? OptOut::kYes : OptOut::kNo;
}

void ApplyGpp(absl::string_view gpp, bool has_sid, absl::Span<const int64_t> sids,
              attex::v1::Consent* consent) {
  GppString parsed;
  const bool ok = ParseGpp(gpp, &parsed);
  auto applies = [&](int id) {
    if (has_sid) return std::find(sids.begin(), sids.end(), id) != sids.end();
    return ok && !parsed.Section(id).empty();
  };
  if (ok && applies(kGppTcfEuV2) && consent->tcf_consent().empty()) {
    const absl::string_view tcf = parsed.Section(kGppTcfEuV2);
    if (tcf.size() <= kMaxTcfBytes) consent->set_tcf_consent(std::string(tcf));
  }
  for (int id : {kGppUspV1, kGppUsNational, kGppUsCalifornia}) {
    if (!applies(id)) continue;
    const absl::string_view section = ok ? parsed.Section(id) : absl::string_view();
    if (section.empty() || SectionOptOut(id, section) != OptOut::kNo) {
      consent->set_limit_ad_tracking(true);
    }
  }
}

}  // namespace attex::openrtb
