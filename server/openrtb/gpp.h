// IAB Global Privacy Platform strings (OpenRTB regs.gpp), read as far as
// attex's privacy rules need: the header's section ids, the EU TCF v2
// section (2) as a consent string, and the opt-outs of US Privacy (6), the
// US national section (7) and California's (8). Other sections are kept
// unread. The format: a base64url header (type 3, version 1, the section
// ids as a Fibonacci-coded range), then each section, '~' between them.
// Pure; thread-safe.
#ifndef ATTEX_SERVER_OPENRTB_GPP_H_
#define ATTEX_SERVER_OPENRTB_GPP_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "attex/v1/exchange.pb.h"

namespace attex::openrtb {

// GPP section ids (the IAB's list).
inline constexpr int kGppTcfEuV2 = 2;
inline constexpr int kGppUspV1 = 6;
inline constexpr int kGppUsNational = 7;
inline constexpr int kGppUsCalifornia = 8;

struct GppString {
  // The header's section ids, in order; each names the section at the same
  // place after the header.
  std::vector<int> section_ids;
  std::vector<absl::string_view> sections;  // Views into the string.

  // The section of `id`; empty when the string has none.
  absl::string_view Section(int id) const;
};

// Parses the header of `gpp` (and splits the sections; views into `gpp`).
// False when the header is not a GPP v1 header or names more or fewer
// sections than follow it.
bool ParseGpp(absl::string_view gpp, GppString* out);

// What a section says of the sale, sharing or use for targeted advertising
// of the user's data.
enum class OptOut { kNo, kYes, kUnreadable };
// US Privacy ("1YYN": the third character Y is an opt-out of sale), the US
// national section (SaleOptOut, SharingOptOut or TargetedAdvertisingOptOut
// is 1, opted out) and California's (SaleOptOut or SharingOptOut is 1).
// `id` is one of kGppUspV1, kGppUsNational, kGppUsCalifornia.
OptOut SectionOptOut(int id, absl::string_view section);

// Applies regs.gpp to `consent`, with regs.gpp_sid (`sids`, when has_sid)
// naming the sections in force (without it, those the string has): the EU
// TCF section is the consent string when `consent` has none (and it is at
// most 4096 bytes); an opt-out of sale, sharing or targeted advertising in
// the US Privacy, US national or California section sets
// limit_ad_tracking, as does such a section in force that is missing or
// cannot be read (a malformed string included).
void ApplyGpp(absl::string_view gpp, bool has_sid, absl::Span<const int64_t> sids,
              attex::v1::Consent* consent);

}  // namespace attex::openrtb

#endif  // ATTEX_SERVER_OPENRTB_GPP_H_
