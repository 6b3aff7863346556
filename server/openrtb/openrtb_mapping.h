// OpenRTB 2.6 bid requests and responses, mapped to and from attex's wire
// types, so that an OpenRTB request is decided by the same auction as a
// gRPC Bid. ParseBidRequest reads the JSON of an OpenRTB BidRequest into an
// attex.v1.BidRequest plus what only the OpenRTB answer needs (each
// impression's size and media type); WriteBidResponse writes the OpenRTB
// BidResponse of an attex.v1.BidResponse. Unknown fields and `ext` objects
// are ignored, as the specification requires. docs/openrtb.md has the
// field-by-field table.
//
// Pure functions: no I/O, no state beyond a per-thread JSON parser that is
// reused between calls; thread-safe. Money stays int64 micros: floors are
// rounded to the nearest micro, prices written exactly from micros; in
// another currency than the account's, converted exactly as
// server/openrtb/currency.h says.
#ifndef ATTEX_SERVER_OPENRTB_OPENRTB_MAPPING_H_
#define ATTEX_SERVER_OPENRTB_OPENRTB_MAPPING_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "attex/v1/exchange.pb.h"
#include "server/openrtb/currency.h"

namespace attex::openrtb {

// OpenRTB 2.6 bid.mtype (the creative's media type).
enum class MediaType : int { kBanner = 1, kVideo = 2, kAudio = 3, kNative = 4 };

// What the answer needs of one impression beyond its attex.v1.Slot.
struct Imp {
  // The impression's size when it names exactly one (banner w/h or a single
  // banner.format[], video or audio player w/h); 0 otherwise. The answer
  // names it for a creative without a size of its own.
  int32_t w = 0;
  int32_t h = 0;
  MediaType mtype = MediaType::kBanner;
};

struct Request {
  attex::v1::BidRequest bid;  // What the auction decides.
  std::vector<Imp> imps;      // One per bid.slots(), in the same order.
  // source.schain as received (JSON), for the logs; empty when absent.
  std::string schain;
  // Impressions left out of bid.slots(): private auctions (pmp with
  // private_auction 1) admit only deals, and attex has none. When every
  // impression is private, bid.slots() is empty: answer a no-bid.
  int private_imps = 0;
  // The answer's currency: the account currency when the request's `cur`
  // names it (or, without `cur`, when it is USD, OpenRTB's default), else
  // the first currency of `cur` with a rate; and that rate
  // (CurrencyRates::Rate).
  std::string currency = "USD";
  int64_t rate = CurrencyRates::kOne;
};

struct MappingOptions {
  // The account currency (ISO 4217), in which bids and budgets are, and
  // the rates of other currencies a request's `cur` and `bidfloorcur` may
  // name (attex-server --currency_rates; by default none).
  CurrencyRates rates;
};

// Parses the JSON of an OpenRTB 2.6 BidRequest into *out (overwritten).
// INVALID_ARGUMENT, the message starting with the OpenRTB field's path
// ("imp[1].id: repeats imp[0].id"), for malformed JSON, a missing `id` or
// `imp`, a duplicate `imp.id`, an impression with no banner, video, audio or
// native object, a banner without a size or with more than 32, a negative
// `tmax`, `bidfloor` or duration, both `site` and `app`, a floor in a
// currency without a rate, a `cur` of which no currency has one, and a
// wrongly typed field that the mapping reads. The result still has to pass
// api::ValidateBidRequest (bounds such as 16 slots are checked there).
absl::Status ParseBidRequest(absl::string_view json, const MappingOptions& options, Request* out);

// Where the answer's notice URLs point.
struct ResponseOptions {
  // Absolute URLs of attex's notice endpoints, e.g.
  // "http://127.0.0.1:8080/openrtb2/billing"; the billing token, the price
  // or loss macro and, in another currency than the account's, `cur` are
  // appended as query parameters. An empty win_url: no nurl.
  std::string billing_url;
  std::string loss_url;
  std::string win_url;
  int64_t billing_token_ttl_s = 3600;  // bid.exp.
};

// What the answer says of a placement's creative and campaign beyond
// attex.v1.Placement. The views point into the catalogue.
struct BidDetails {
  absl::string_view category;                // Empty: none.
  absl::Span<const std::string> categories;  // Besides `category`.
  absl::Span<const std::string> adomain;     // The campaign's.
  int32_t w = 0;  // The creative's size; 0 x 0: the impression's, if it named one.
  int32_t h = 0;
};

// Writes the OpenRTB BidResponse of `response` (one placement or more) to
// *out (overwritten): one seatbid per advertiser (seat = advertiser id), one
// bid per placement, prices in request.currency. `details` has one entry
// per placement, in order (missing ones: nothing more is said).
void WriteBidResponse(const Request& request, const attex::v1::BidResponse& response,
                      absl::Span<const BidDetails> details, const ResponseOptions& options,
                      std::string* out);

// The OpenRTB 2.6 no-bid reason code (List: No-Bid Reason Codes) of an
// attex no-bid reason (auction/reasons.h): timeout -> 15 (insufficient
// auction time), no_slots -> 2 (invalid request); attex's own, in the
// exchange-specific range: no_eligible_campaigns -> 500, below_floor -> 501,
// budget -> 502; anything else -> 0 (unknown error).
int NoBidReasonCode(absl::string_view reason);

// The label of a loss notice's reason (lurl's ${AUCTION_LOSS}) in
// attex_openrtb_losses_total: the code itself for those of OpenRTB 2.6's
// list of loss reason codes ("102": lost to a higher bid; 0 to 10, 100 to
// 104, 200 to 215), "exchange_specific" for 500 and up, "other" for any
// other number, "unknown" when absent, left as the macro or not a number.
std::string_view LossReasonLabel(absl::string_view reason);

// {"id":..., "nbr":..., "ext":{"reason":...}}: the body of a no-bid answered
// with 200.
void WriteNoBidResponse(absl::string_view request_id, absl::string_view reason, std::string* out);

// {"error":{"field":..., "message":...}}: the body of a 400 (or any error).
// The field is the part of the status message before the first ": ".
void WriteError(const absl::Status& status, std::string* out);

// A CPM in micros as a JSON number of currency units, exactly:
// 2436191 -> 2.436191, 2500000 -> 2.5, 7 -> 0.000007.
void AppendCpm(int64_t micros, std::string* out);

// A CPM in currency units as a platform writes ${AUCTION_PRICE} ("2.436191",
// "2.5", "3") -> micros, digits past the sixth decimal dropped. False for
// anything else (signs, exponents, empty, past 1e9 units).
bool ParseCpm(absl::string_view text, int64_t* micros);

// `s` as a JSON string literal, quotes included.
void AppendJsonString(absl::string_view s, std::string* out);

}  // namespace attex::openrtb

#endif  // ATTEX_SERVER_OPENRTB_OPENRTB_MAPPING_H_
