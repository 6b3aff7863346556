#include "server/exchange_service.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "api/validation.h"
#include "auction/reasons.h"
#include "spdlog/spdlog.h"

namespace attex::server {
namespace {

using attex::v1::Role;

// The deadline of a request: tmax from its arrival, or the gRPC deadline if
// sooner.
absl::Time RequestDeadline(const Core& core, const grpc::CallbackServerContext& ctx,
                           const attex::v1::BidRequest& request, absl::Time arrived) {
  const int tmax = request.tmax_ms() > 0 ? request.tmax_ms() : core.options.default_tmax_ms;
  return std::min(arrived + absl::Milliseconds(tmax), absl::FromChrono(ctx.deadline()));
}

// A Bid or Explain call that may be decided: its caller, and the catalogue
// snapshot it is decided on.
struct AcceptedBid {
  Caller caller;
  std::shared_ptr<const auction::Catalog> catalog;
};

// Authenticates a Bid or Explain call and validates its request against the
// catalogue snapshot it will be decided on. (Admission control, which
// comes first, is core.admission.Admit.)
absl::StatusOr<AcceptedBid> AcceptBid(Core& core, grpc::CallbackServerContext* ctx,
                                      const attex::v1::BidRequest& request) {
  auto caller = core.auth.Authorize(ctx, {Role::ROLE_PLATFORM, Role::ROLE_OPERATOR});
  if (!caller.ok()) return caller.status();
  AcceptedBid accepted{*std::move(caller), core.catalog_manager.Current()};
  if (auto s = api::ValidateBidRequest(request, accepted.catalog->model->d_model()); !s.ok()) {
    return s;
  }
  return accepted;
}

uint64_t Nonce() {
  thread_local absl::BitGen gen;
  return absl::Uniform<uint64_t>(gen);
}

}  // namespace

void CompleteBid(Core& core, const Caller& caller, const auction::Catalog& catalog,
                 const attex::v1::BidRequest& request, const auction::AuctionResult& result,
                 int64_t now_ms, absl::Time arrived, attex::v1::BidResponse* response) {
  response->set_request_id(request.request_id());
  const int64_t expires_ms = now_ms + core.options.billing_token_ttl_s * 1000;
  auction::BillingClaims claims;
  claims.platform_id = caller.account_id;
  claims.request_id = request.request_id();
  claims.user_key = result.user_restricted ? "" : request.user().id();
  claims.issued_ms = now_ms;
  claims.expires_ms = expires_ms;
  claims.test = request.test();
  const uint64_t user_key = auction::FrequencyUserKey(request);
  int floor_priced = 0;
  // Only with the user's consent (the auction did not restrict their data),
  // never for tests; the log does its I/O on its own thread.
  const bool log_training =
      core.training_log != nullptr && !result.user_restricted && !request.test();
  for (const auto& outcome : result.slots) {
    const auto ref = catalog.ads[outcome.ad];
    const auto& campaign = *catalog.campaigns[ref.campaign];
    const auto& creative = campaign.creatives[ref.creative];
    // Reserve the price before answering; a placement the budget can no
    // longer cover (other bids reserved it meanwhile) is left out.
    const int64_t price_micros = auction::ImpressionPriceMicros(outcome.price_cpm_micros);
    claims.nonce = Nonce();
    if (!request.test()) {
      if (!campaign.budget->TryReserve(price_micros, now_ms)) continue;
      // Within a budget slice the reservation is held for the slice's lease,
      // not the token's life: its impression is mostly reported to another
      // replica, which bills it without this one knowing, and a reservation
      // held for an hour would keep that money out of the slices twice (in
      // the billed spend and here). What is reported later still meets the
      // cap at billing.
      const int64_t held_until =
          campaign.budget->sliced()
              ? std::min(expires_ms, now_ms + absl::ToInt64Milliseconds(core.options.slices.lease))
              : expires_ms;
      core.reservations.Add({claims.nonce, price_micros, held_until, campaign.budget});
    }
    if (campaign.frequency_cap > 0 && user_key != 0) {
      core.frequency.Record(user_key, campaign.frequency_key, campaign.frequency_period_ms, now_ms);
    }
    const int64_t named_floor = request.slots(outcome.slot).floor_cpm_micros();
    floor_priced += outcome.price_cpm_micros ==
                    (named_floor > 0 ? named_floor : core.options.auction.default_floor_cpm_micros);
    auto* p = response->add_placements();
    p->set_slot_id(request.slots(outcome.slot).id());
    p->set_campaign_id(campaign.id);
    p->set_creative_id(creative.id);
    p->set_advertiser_id(campaign.advertiser_id);
    p->set_price_cpm_micros(outcome.price_cpm_micros);
    p->set_bid_cpm_micros(campaign.bid_cpm_micros);
    p->set_attention_weight(outcome.weight);
    p->set_markup(creative.markup);
    p->set_expires_at(expires_ms);
    claims.campaign_id = campaign.id;
    claims.creative_id = creative.id;
    claims.advertiser_id = campaign.advertiser_id;
    claims.slot_id = p->slot_id();
    claims.price_cpm_micros = outcome.price_cpm_micros;
    p->set_billing_token(core.signer.Sign(claims));
    if (log_training) {
      attex::v1::TrainingImpression record;
      record.set_impression_id(claims.nonce);
      record.set_served_ms(now_ms);
      record.set_user_hash(core.training_log->UserHash(request.user().id()));
      for (const auto& f : request.user().features()) record.add_features(f);
      for (const auto& f : request.context().features()) record.add_features(f);
      *record.mutable_recent() = request.user().recent();
      *record.mutable_user_embedding() = request.user().embedding();
      record.set_slot_format(request.slots(outcome.slot).format());
      record.set_slot_position(request.slots(outcome.slot).position());
      record.set_campaign_id(campaign.id);
      record.set_creative_id(creative.id);
      record.set_advertiser_id(campaign.advertiser_id);
      for (const auto& t : creative.tokens) record.add_ad_tokens(t);
      record.mutable_ad_embedding()->Add(creative.embedding.begin(), creative.embedding.end());
      record.set_bid_cpm_micros(campaign.bid_cpm_micros);
      record.set_price_cpm_micros(outcome.price_cpm_micros);
      record.set_attention_weight(outcome.weight);
      record.set_model_version(catalog.model->version());
      record.set_explore_propensity(outcome.explore_propensity);
      core.training_log->Served(std::move(record), expires_ms);
    }
  }
  // The auction had winners, yet none could reserve its price.
  response->set_no_bid_reason(
      std::string(response->placements_size() == 0 && result.no_bid_reason.empty()
                      ? auction::NoBidReasonName(auction::NoBidReason::kBudget)
                      : result.no_bid_reason));
  core.metrics.Bid(request.slots_size(), response->placements_size(), floor_priced,
                   response->no_bid_reason());
  response->set_processing_us(absl::ToInt64Microseconds(absl::Now() - arrived));
}

// A Bid call queued on core.bids; pooled by the service, so that a warm
// server does not allocate one per call.
class BidTask final : public BidQueue::Task {
 public:
  void Run(const absl::Status& status) override {
    if (status.ok()) {
      thread_local auction::AuctionResult result;
      auction::RunAuction(*catalog, core->options.auction, *request, now_ms, deadline, &result,
                          nullptr);
      CompleteBid(*core, caller, *catalog, *request, result, now_ms, arrived, response);
    }
    // Finish may free the request and response; the task goes back first.
    grpc::ServerUnaryReactor* const done = reactor;
    catalog.reset();  // A pooled task does not keep an old snapshot alive.
    service->Release(this);
    done->Finish(ToGrpc(status));
  }

  Core* core = nullptr;
  ExchangeService* service = nullptr;
  grpc::ServerUnaryReactor* reactor = nullptr;
  const attex::v1::BidRequest* request = nullptr;
  attex::v1::BidResponse* response = nullptr;
  Caller caller;
  std::shared_ptr<const auction::Catalog> catalog;
  int64_t now_ms = 0;
};

ExchangeService::ExchangeService(Core* core) : core_(core) {}

ExchangeService::~ExchangeService() = default;

BidTask* ExchangeService::Acquire() {
  absl::MutexLock lock(&pool_mu_);
  if (free_.empty()) {
    tasks_.push_back(std::make_unique<BidTask>());
    return tasks_.back().get();
  }
  BidTask* task = free_.back();
  free_.pop_back();
  return task;
}

void ExchangeService::Release(BidTask* task) {
  absl::MutexLock lock(&pool_mu_);
  free_.push_back(task);
}

grpc::ServerUnaryReactor* ExchangeService::Bid(grpc::CallbackServerContext* ctx,
                                               const attex::v1::BidRequest* request,
                                               attex::v1::BidResponse* response) {
  // The earliest moment this server sees the call: no reactor blocks (the
  // auctions run on core.bids, or here only while it is idle), so gRPC
  // hands a call to its handler as soon as it has read it, and tmax counts
  // from here.
  const absl::Time arrived = absl::Now();
  if (auto s = core_->admission.Admit(*ctx); !s.ok()) return Reply(ctx, s);
  auto accepted = AcceptBid(*core_, ctx, *request);
  if (!accepted.ok()) return Reply(ctx, accepted.status());
  const int64_t now_ms = absl::ToUnixMillis(arrived);
  const absl::Time deadline = RequestDeadline(*core_, *ctx, *request, arrived);
  BidGatherer* gatherer = core_->gatherer.get();
  if (gatherer != nullptr &&
      accepted->catalog->ads.size() >= static_cast<size_t>(core_->options.shared_pass_min_ads)) {
    // A shared pass, on the gatherer's thread; this reactor returns at once.
    auto* reactor = ctx->DefaultReactor();
    auto job = std::make_unique<BidGatherer::Job>();
    job->catalog = accepted->catalog;
    job->request = request;
    job->now_ms = now_ms;
    job->deadline = deadline;
    job->done = [core = core_, caller = std::move(accepted->caller), request, response, reactor,
                 arrived](BidGatherer::Job& done) {
      CompleteBid(*core, caller, *done.catalog, *request, done.result, done.now_ms, arrived,
                  response);
      reactor->Finish(grpc::Status::OK);
    };
    gatherer->Submit(std::move(job));
    return reactor;
  }
  BidTask* task = Acquire();
  task->arrived = arrived;
  task->deadline = deadline;
  task->core = core_;
  task->service = this;
  task->reactor = ctx->DefaultReactor();
  task->request = request;
  task->response = response;
  task->caller = std::move(accepted->caller);
  task->catalog = std::move(accepted->catalog);
  task->now_ms = now_ms;
  grpc::ServerUnaryReactor* reactor = task->reactor;
  if (core_->bids->TryRunInline(task)) return reactor;
  if (auto s = core_->bids->Submit(task); !s.ok()) {
    task->catalog.reset();
    Release(task);
    reactor->Finish(ToGrpc(s));
  }
  return reactor;
}

grpc::ServerUnaryReactor* ExchangeService::Explain(grpc::CallbackServerContext* ctx,
                                                   const attex::v1::BidRequest* request,
                                                   attex::v1::Explanation* response) {
  const absl::Time arrived = absl::Now();
  if (auto s = core_->admission.Admit(*ctx); !s.ok()) return Reply(ctx, s);
  auto accepted = AcceptBid(*core_, ctx, *request);
  if (!accepted.ok()) return Reply(ctx, accepted.status());
  const auto& catalog = accepted->catalog;
  auction::AuctionResult result;
  auction::RunAuction(*catalog, core_->options.auction, *request, absl::ToUnixMillis(arrived),
                      RequestDeadline(*core_, *ctx, *request, arrived), &result, response);
  response->set_request_id(request->request_id());
  response->set_processing_us(absl::ToInt64Microseconds(absl::Now() - arrived));
  return Reply(ctx, absl::OkStatus());
}

absl::StatusOr<attex::v1::EventOutcome> RecordEvent(Core& core, const Caller& caller,
                                                    const attex::v1::Event& event, int64_t now_ms) {
  attex::v1::EventOutcome outcome;
  auto status = std::make_shared<absl::Status>();
  core.billing.Add(ReporterOf(caller), event, now_ms, &outcome, status);
  CommitBilling(core, now_ms);
  if (!status->ok()) return *status;
  return outcome;
}

grpc::ServerUnaryReactor* ExchangeService::ReportEvents(
    grpc::CallbackServerContext* ctx, const attex::v1::ReportEventsRequest* request,
    attex::v1::ReportEventsResponse* response) {
  auto caller = core_->auth.Authorize(ctx, {Role::ROLE_PLATFORM, Role::ROLE_OPERATOR});
  if (!caller.ok()) return Reply(ctx, caller.status());
  if (auto s = api::ValidateReportEvents(*request); !s.ok()) return Reply(ctx, s);
  // Not Defer: the events join the work queue's batch, which commits them
  // all at once after the batch (CommitBilling); the answer waits for that.
  // Admission as in Defer: past capacity, or once the caller has given up,
  // nothing is recorded.
  if (auto s = core_->admission.Admit(*ctx); !s.ok()) return Reply(ctx, s);
  auto* reactor = ctx->DefaultReactor();
  const absl::Time deadline = absl::FromChrono(ctx->deadline());
  core_->queue.Submit([core = core_, reporter = ReporterOf(*caller), request, response, reactor,
                       deadline]() -> store::WorkQueue::Completion {
    auto status = std::make_shared<absl::Status>(core->admission.StillWanted(deadline));
    if (!status->ok()) return [reactor, status] { reactor->Finish(ToGrpc(*status)); };
    const int64_t now_ms = NowMs();
    for (const auto& event : request->events()) {
      core->billing.Add(reporter, event, now_ms, response->add_results(), status);
    }
    return [reactor, status] { reactor->Finish(ToGrpc(*status)); };
  });
  return reactor;
}

}  // namespace attex::server
