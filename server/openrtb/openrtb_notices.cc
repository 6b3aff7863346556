// The OpenRTB notice URLs: burl (billing) and lurl (loss), see
// openrtb_service.h. Both run on the work queue, as ReportEvents does: the
// billing batch is committed (durably) before any answer of the batch.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/openrtb/openrtb_mapping.h"
#include "server/openrtb/openrtb_service.h"
#include "spdlog/spdlog.h"

namespace attex::server {
namespace {

using openrtb::HttpResponse;

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse Error(int status, const absl::Status& error) {
  HttpResponse r;
  r.status = status;
  openrtb::WriteError(error, &r.body);
  return r;
}

// The verified claims of the `token` parameter, or the 400 to answer.
absl::StatusOr<auction::BillingClaims> Claims(const Core& core, const openrtb::HttpRequest& request,
                                              std::string* token) {
  if (!openrtb::QueryParam(request.target, "token", token) || token->empty()) {
    return absl::InvalidArgumentError("token: the notice URL's billing token is missing");
  }
  auto claims = core.signer.Verify(*token);
  if (!claims.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("token: ", claims.status().message()));
  }
  return claims;
}

HttpResponse Outcome(const absl::Status& status, const attex::v1::EventOutcome& outcome) {
  if (!status.ok()) return Error(503, status);
  std::string body;
  switch (outcome.result()) {
    case attex::v1::EVENT_RESULT_ACCEPTED:
      return Json(200, absl::StrCat(R"({"result":"accepted","charged_micros":)",
                                    outcome.charged_micros(), "}"));
    case attex::v1::EVENT_RESULT_DUPLICATE:
      return Json(200, R"({"result":"duplicate","charged_micros":0})");
    case attex::v1::EVENT_RESULT_EXPIRED:
      return Error(410, absl::InvalidArgumentError("token: expired; nothing was charged"));
    case attex::v1::EVENT_RESULT_OVER_BUDGET:
      return Error(409, absl::FailedPreconditionError(
                            "token: the campaign's budget cannot pay it; nothing was charged"));
    default:
      return Error(400, absl::InvalidArgumentError("token: not valid for billing"));
  }
}

}  // namespace

void OpenRtbService::Billing(const openrtb::HttpRequest& request,
                             openrtb::HttpServer::Reply reply) {
  std::string token;
  auto claims = Claims(*core_, request, &token);
  if (!claims.ok()) {
    reply(Error(400, claims.status()));
    return;
  }
  // ${AUCTION_PRICE}: the platform's clearing price. Left unsubstituted (or
  // absent) it says nothing; above the token's price it is not believed.
  int64_t cap = -1;
  std::string price;
  if (openrtb::QueryParam(request.target, "price", &price) && !price.empty() &&
      price != "${AUCTION_PRICE}" && !openrtb::ParseCpm(price, &cap)) {
    reply(Error(400, absl::InvalidArgumentError(absl::StrCat(
                         "price: \"", price, "\" is not a CPM such as 2.5 (${AUCTION_PRICE})"))));
    return;
  }
  // In the answer's currency (cur): the price as the answer wrote it, or
  // more, is the token's; less is converted into the account currency,
  // rounded down. A currency without a rate (any more) says nothing.
  std::string cur;
  if (cap >= 0 && openrtb::QueryParam(request.target, "cur", &cur) && !cur.empty()) {
    const int64_t rate = core_->options.openrtb.rates.Rate(cur);
    if (rate == 0) {
      cap = -1;
    } else if (rate != openrtb::CurrencyRates::kOne) {
      const int64_t written =
          openrtb::CurrencyRates::FromAccountDown(claims->price_cpm_micros, rate);
      cap = cap >= written ? -1 : openrtb::CurrencyRates::ToAccountDown(cap, rate);
    }
  }
  attex::v1::Event event;
  event.set_billing_token(std::move(token));
  event.set_type(attex::v1::EVENT_TYPE_IMPRESSION);
  event.set_event_id("burl");
  const billing::Reporter reporter{.platform_id = claims->platform_id, .is_operator = false};
  core_->queue.Submit([core = core_, reporter, event = std::move(event), cap,
                       reply = std::move(reply)]() mutable -> store::WorkQueue::Completion {
    auto outcome = std::make_shared<attex::v1::EventOutcome>();
    auto status = std::make_shared<absl::Status>();
    core->billing.Add(reporter, event, NowMs(), outcome.get(), status, cap);
    // Runs after the batch's commit: the answer says what is durable.
    return [outcome, status, reply = std::move(reply)] { reply(Outcome(*status, *outcome)); };
  });
}

void OpenRtbService::Loss(const openrtb::HttpRequest& request, openrtb::HttpServer::Reply reply) {
  std::string token;
  auto claims = Claims(*core_, request, &token);
  if (!claims.ok()) {
    reply(Error(400, claims.status()));
    return;
  }
  std::string reason;
  openrtb::QueryParam(request.target, "reason", &reason);
  core_->metrics.OpenRtbLoss(openrtb::LossReasonLabel(reason));
  core_->queue.Submit([core = core_, claims = *std::move(claims), reason = std::move(reason),
                       reply = std::move(reply)]() mutable -> store::WorkQueue::Completion {
    // A placement billed already has no reservation left: nothing happens.
    const int64_t released = core->reservations.Settle(claims.nonce);
    spdlog::debug("openrtb loss notice: request {} slot {} campaign {} reason {}; released {}",
                  claims.request_id, claims.slot_id, claims.campaign_id, reason, released);
    return [released, reply = std::move(reply)] {
      reply(Json(200, absl::StrCat(R"({"released_micros":)", released, "}")));
    };
  });
}

// The win notice says the placement won the platform's auction; billing
// waits for burl (the impression shown). Nothing is kept, so a retried
// notice is harmless.
void OpenRtbService::Win(const openrtb::HttpRequest& request, openrtb::HttpServer::Reply reply) {
  std::string token;
  auto claims = Claims(*core_, request, &token);
  if (!claims.ok()) {
    reply(Error(400, claims.status()));
    return;
  }
  // What the platform sends is logged only as what it can mean (logs stay
  // one line a record).
  std::string price, cur;
  int64_t micros = 0;
  openrtb::QueryParam(request.target, "price", &price);
  if (!openrtb::ParseCpm(price, &micros)) price = "?";
  if (!openrtb::QueryParam(request.target, "cur", &cur) || cur.empty()) {
    cur = core_->options.openrtb.rates.account();
  } else if (core_->options.openrtb.rates.Rate(cur) == 0) {
    cur = "?";
  }
  spdlog::debug("openrtb win notice: request {} slot {} campaign {} platform {} price {} {}",
                claims->request_id, claims->slot_id, claims->campaign_id, claims->platform_id,
                price, cur);
  reply(Json(200, R"({"result":"logged"})"));
}

}  // namespace attex::server
