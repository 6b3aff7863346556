// The OpenRTB 2.6 endpoint: what an HTTP request to attex's OpenRTB
// listener means. POST /openrtb2/bid is a Bid decided exactly as the gRPC
// one (server/exchange_service.h): the platform's bearer token, the same
// validation, BidQueue's admission at arrival with tmax counted from then,
// the same auction (or shared pass), reservations and billing tokens. The
// request is mapped by server/openrtb/openrtb_mapping.h. docs/openrtb.md
// is the user's guide.
//
// Answers: 200 with the BidResponse; no placement: 204 (or, with
// nobid_status 200, 200 and {"id", "nbr"}); 400 with {"error": {"field",
// "message"}} for what the mapping or validation refuses; 401 / 403 for
// authentication; 429 past the account's rate limit and 503 past the
// server's capacity (both with Retry-After); 504 when the deadline passed
// before the auction's turn; 404 / 405 for other paths and methods.
//
// Notices (GET; the signed billing token is the credential, so that a
// pixel or the platform's server can fire them without attex's token):
// /openrtb2/billing?token=T&price=P (the answer's burl) records the
// impression as ReportEvents does, on the work queue and durably before the
// answer: once per token, whichever of burl and ReportEvents comes first;
// charged the token's price, or the platform's clearing price P when it is
// lower (never more). 200 {"result": "accepted" | "duplicate", ...}; 400 for
// a bad token or price, 410 for an expired token, 409 when the budget can no
// longer pay; in another currency than the account's the URL names it
// (&cur=EUR) and P is converted as server/openrtb/currency.h says.
// /openrtb2/loss?token=T&reason=R (lurl) releases the placement's budget
// reservation at once instead of at the token's expiry, and counts the
// notice by reason (attex_openrtb_losses_total); 200 {"released_micros":
// N}. /openrtb2/win?token=T&price=P (nurl, with --openrtb_nurl) logs the
// win (debug level) and changes nothing, so that repeating it is harmless; it never
// bills (burl does); 200 {"result": "logged"}.
// Every request is counted as gRPC calls are (method OpenRTB/Bid,
// OpenRTB/Billing, OpenRTB/Loss or OpenRTB/Win, the code that corresponds to its HTTP
// status) and bounded by --max_in_flight with them (503 past it).
// Thread-safe; Handle runs on the HTTP server's io threads.
#ifndef ATTEX_SERVER_OPENRTB_OPENRTB_SERVICE_H_
#define ATTEX_SERVER_OPENRTB_OPENRTB_SERVICE_H_

#include <memory>
#include <string>

#include "server/core.h"
#include "server/openrtb/http_server.h"
#include "server/openrtb/openrtb_mapping.h"

namespace attex::server {

class OpenRtbService final {
 public:
  // `core` outlives the service; `public_url` is the base of the notice
  // URLs, complete (OpenRtbOptions::public_url or its default).
  OpenRtbService(Core* core, const std::string& public_url);

  void Handle(const openrtb::HttpRequest& request, openrtb::HttpServer::Reply reply);

 private:
  void Bid(const openrtb::HttpRequest& request, openrtb::HttpServer::Reply reply);
  void Billing(const openrtb::HttpRequest& request, openrtb::HttpServer::Reply reply);
  void Loss(const openrtb::HttpRequest& request, openrtb::HttpServer::Reply reply);
  void Win(const openrtb::HttpRequest& request, openrtb::HttpServer::Reply reply);

  Core* const core_;
  openrtb::MappingOptions mapping_;
  openrtb::ResponseOptions response_;
};

// The HTTP status of an error status (INVALID_ARGUMENT 400, ... as above).
int HttpStatusOf(const absl::Status& status);

}  // namespace attex::server

#endif  // ATTEX_SERVER_OPENRTB_OPENRTB_SERVICE_H_
