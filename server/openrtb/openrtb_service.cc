#include "server/openrtb/openrtb_service.h"

#include <algorithm>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/limits.h"
#include "api/validation.h"
#include "auction/reasons.h"
#include "server/exchange_service.h"
#include "server/openrtb/gzip.h"
#include "spdlog/spdlog.h"

namespace attex::server {
namespace {

using openrtb::HttpRequest;
using openrtb::HttpResponse;
using HttpReply = openrtb::HttpServer::Reply;

constexpr size_t kMaxBodyBytes = 1 << 20;  // Inflated, as sent.

HttpResponse ErrorResponse(const absl::Status& status, int http_status = 0) {
  HttpResponse r;
  r.status = http_status > 0 ? http_status : HttpStatusOf(status);
  if (r.status == 503) r.retry_after_s = 1;  // Overloaded: back off, or go to another replica.
  openrtb::WriteError(status, &r.body);
  return r;
}

// Validation names the fields of the mapped attex.v1.BidRequest; a platform
// knows the OpenRTB ones.
absl::Status InOpenRtbTerms(const absl::Status& status) {
  static constexpr std::pair<absl::string_view, absl::string_view> kFields[] = {
      {"request_id", "id"},
      {"slots", "imp"},
      {"tmax_ms", "tmax"},
      {"blocked_categories", "bcat"},
      {"user.consent.tcf_consent", "user.consent"},
      {"user.id", "user.id"},
  };
  for (const auto& [from, to] : kFields) {
    if (absl::StartsWith(status.message(), from)) {
      return absl::Status(status.code(), absl::StrCat(to, status.message().substr(from.size())));
    }
  }
  return status;
}

HttpResponse NoBid(const OpenRtbOptions& options, const std::string& request_id,
                   absl::string_view reason) {
  HttpResponse r;
  r.status = options.nobid_status;
  if (r.status == 200) openrtb::WriteNoBidResponse(request_id, reason, &r.body);
  return r;
}

// One OpenRTB Bid from its arrival to its answer; deletes itself once it
// has replied.
class OpenRtbCall final : public BidQueue::Task {
 public:
  void Run(const absl::Status& status) override {
    if (status.ok()) {
      thread_local auction::AuctionResult result;
      auction::RunAuction(*catalog, core->options.auction, request.bid, now_ms, deadline, &result,
                          nullptr);
      Finish(result);
    } else {
      reply(ErrorResponse(status));
    }
    delete this;
  }

  // CompleteBid, as for gRPC, then the OpenRTB answer.
  void Finish(const auction::AuctionResult& result) {
    CompleteBid(*core, caller, *catalog, request.bid, result, now_ms, arrived, &response);
    if (!request.schain.empty()) {
      spdlog::debug("openrtb {} from {}: source.schain {}", request.bid.request_id(),
                    caller.account_id, request.schain);
    }
    if (response.placements_size() == 0) {
      reply(NoBid(core->options.openrtb, request.bid.request_id(), response.no_bid_reason()));
      return;
    }
    // Placements are the outcomes that could reserve, in the same order.
    absl::InlinedVector<openrtb::BidDetails, api::kMaxSlots> details;
    int p = 0;
    for (const auto& outcome : result.slots) {
      if (p == response.placements_size()) break;
      if (response.placements(p).slot_id() != request.bid.slots(outcome.slot).id()) continue;
      const auto ref = catalog->ads[outcome.ad];
      const auction::CompiledCampaign& campaign = *catalog->campaigns[ref.campaign];
      const auction::CompiledCreative& creative = campaign.creatives[ref.creative];
      details.push_back(
          {creative.category, creative.categories, campaign.adomain, creative.w, creative.h});
      ++p;
    }
    HttpResponse r;
    openrtb::WriteBidResponse(request, response, details, *response_options, &r.body);
    reply(std::move(r));
  }

  Core* core = nullptr;
  const openrtb::ResponseOptions* response_options = nullptr;
  openrtb::Request request;
  attex::v1::BidResponse response;
  Caller caller;
  std::shared_ptr<const auction::Catalog> catalog;
  int64_t now_ms = 0;
  HttpReply reply;
};

}  // namespace

int HttpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

OpenRtbService::OpenRtbService(Core* core, const std::string& public_url) : core_(core) {
  mapping_.rates = core->options.openrtb.rates;
  response_.billing_url = absl::StrCat(public_url, "/openrtb2/billing");
  response_.loss_url = absl::StrCat(public_url, "/openrtb2/loss");
  if (core->options.openrtb.nurl) response_.win_url = absl::StrCat(public_url, "/openrtb2/win");
  response_.billing_token_ttl_s = core->options.billing_token_ttl_s;
}

grpc::StatusCode GrpcCodeOf(int http_status) {
  switch (http_status) {
    case 200:
    case 204:
      return grpc::StatusCode::OK;
    case 400:
    case 413:
    case 415:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case 401:
      return grpc::StatusCode::UNAUTHENTICATED;
    case 403:
      return grpc::StatusCode::PERMISSION_DENIED;
    case 404:
      return grpc::StatusCode::NOT_FOUND;
    case 405:
      return grpc::StatusCode::UNIMPLEMENTED;
    case 409:
    case 410:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case 429:
    case 503:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 504:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    default:
      return grpc::StatusCode::INTERNAL;
  }
}

void OpenRtbService::Handle(const HttpRequest& request, HttpReply reply) {
  const absl::string_view path = request.target.substr(0, request.target.find('?'));
  // Counted as the gRPC calls are (attex_calls_total{method, code}, calls in
  // flight, GetStats), under OpenRTB/Bid, OpenRTB/Billing, OpenRTB/Loss.
  const absl::string_view method = path == "/openrtb2/bid"       ? "OpenRTB/Bid"
                                   : path == "/openrtb2/billing" ? "OpenRTB/Billing"
                                   : path == "/openrtb2/loss"    ? "OpenRTB/Loss"
                                   : path == "/openrtb2/win"     ? "OpenRTB/Win"
                                                                 : "OpenRTB/other";
  core_->metrics.CallStarted();
  reply = [core = core_, method, arrived = request.arrived,
           reply = std::move(reply)](HttpResponse r) {
    core->metrics.Call(std::string_view(method.data(), method.size()), GrpcCodeOf(r.status),
                       absl::Now() - arrived);
    core->metrics.CallEnded();
    reply(std::move(r));
  };
  // --max_in_flight, as Admission applies it to gRPC calls (this one is
  // counted already, hence ">").
  const int64_t bound = core_->admission.max_in_flight();
  if (bound > 0 && core_->metrics.in_flight() > bound) {
    core_->metrics.Shed(Metrics::ShedReason::kCapacity);
    reply(ErrorResponse(absl::ResourceExhaustedError(absl::StrCat(
        "the server is at capacity (", bound, " calls in flight); retry with backoff"))));
    return;
  }
  if (path == "/openrtb2/bid") {
    if (request.method != "POST") {
      reply(ErrorResponse(absl::InvalidArgumentError("method: POST /openrtb2/bid"), 405));
      return;
    }
    Bid(request, std::move(reply));
    return;
  }
  if (path == "/openrtb2/billing" || path == "/openrtb2/loss" || path == "/openrtb2/win") {
    if (request.method != "GET" && request.method != "POST") {
      reply(ErrorResponse(absl::InvalidArgumentError(absl::StrCat("method: GET ", path)), 405));
      return;
    }
    if (path == "/openrtb2/billing") {
      Billing(request, std::move(reply));
    } else if (path == "/openrtb2/loss") {
      Loss(request, std::move(reply));
    } else {
      Win(request, std::move(reply));
    }
    return;
  }
  reply(ErrorResponse(absl::NotFoundError(absl::StrCat("path: no ", path, " here"))));
}

void OpenRtbService::Bid(const HttpRequest& http, HttpReply reply) {
  const absl::Time arrived = http.arrived;
  absl::Duration retry;
  auto caller = core_->auth.AuthorizeBearer(
      http.authorization, {attex::v1::ROLE_PLATFORM, attex::v1::ROLE_OPERATOR}, &retry);
  if (!caller.ok()) {
    const bool limited = caller.status().code() == absl::StatusCode::kResourceExhausted;
    HttpResponse r = ErrorResponse(caller.status(), limited ? 429 : 0);
    if (limited)
      r.retry_after_s =
          std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(retry, absl::Seconds(1))));
    reply(std::move(r));
    return;
  }
  auto call = std::make_unique<OpenRtbCall>();
  absl::string_view body = http.body;
  std::string inflated;
  if (absl::EqualsIgnoreCase(http.content_encoding, "gzip")) {
    if (auto s = openrtb::Gunzip(body, kMaxBodyBytes, &inflated); !s.ok()) {
      reply(ErrorResponse(s));
      return;
    }
    body = inflated;
  } else if (!http.content_encoding.empty() &&
             !absl::EqualsIgnoreCase(http.content_encoding, "identity")) {
    reply(ErrorResponse(
        absl::InvalidArgumentError("Content-Encoding: only gzip (or none) is accepted"), 415));
    return;
  }
  if (auto s = openrtb::ParseBidRequest(body, mapping_, &call->request); !s.ok()) {
    reply(ErrorResponse(s));
    return;
  }
  const auto& bid = call->request.bid;
  if (bid.slots().empty()) {  // Every impression was private (no deals here).
    const std::string_view reason =
        auction::NoBidReasonName(auction::NoBidReason::kNoEligibleCampaigns);
    reply(NoBid(core_->options.openrtb, bid.request_id(),
                absl::string_view(reason.data(), reason.size())));
    return;
  }
  call->catalog = core_->catalog_manager.Current();
  if (auto s = api::ValidateBidRequest(bid, call->catalog->model->d_model()); !s.ok()) {
    reply(ErrorResponse(InOpenRtbTerms(s)));
    return;
  }
  const int tmax = bid.tmax_ms() > 0 ? bid.tmax_ms() : core_->options.default_tmax_ms;
  call->arrived = arrived;
  call->deadline = arrived + absl::Milliseconds(tmax);
  call->now_ms = absl::ToUnixMillis(arrived);
  call->core = core_;
  call->response_options = &response_;
  call->caller = *std::move(caller);
  call->reply = std::move(reply);
  BidGatherer* gatherer = core_->gatherer.get();
  if (gatherer != nullptr &&
      call->catalog->ads.size() >= static_cast<size_t>(core_->options.shared_pass_min_ads)) {
    auto job = std::make_unique<BidGatherer::Job>();
    job->catalog = call->catalog;
    job->request = &call->request.bid;
    job->now_ms = call->now_ms;
    job->deadline = call->deadline;
    job->done = [c = call.release()](BidGatherer::Job& done) {
      c->Finish(done.result);
      delete c;
    };
    gatherer->Submit(std::move(job));
    return;
  }
  if (auto s = core_->bids->Submit(call.get()); !s.ok()) {
    call->reply(ErrorResponse(s));
    return;
  }
  call.release();  // Run deletes it.
}

}  // namespace attex::server
