#include "server/billing.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "auction/billing_token.h"
#include "auction/revenue_split.h"
#include "server/core.h"
#include "spdlog/spdlog.h"

namespace attex::server {

void BillingBatch::Add(Core& core, const Caller& caller, const attex::v1::Event& event,
                       int64_t now_ms, attex::v1::EventOutcome* outcome,
                       std::shared_ptr<absl::Status> status) {
  outcome->set_event_id(event.event_id());
  auto claims = core.signer.Verify(event.billing_token());
  if (!claims.ok() ||
      (caller.role != attex::v1::ROLE_OPERATOR && claims->platform_id != caller.account_id)) {
    outcome->set_result(attex::v1::EVENT_RESULT_INVALID);
    return;
  }
  if (now_ms > claims->expires_ms) {
    outcome->set_result(attex::v1::EVENT_RESULT_EXPIRED);
    return;
  }
  Pending p{.outcome = outcome, .status = std::move(status), .nonce = claims->nonce};
  store::BillingEvent& record = p.record;
  record.token_hash = auction::Sha256Hex(event.billing_token());
  record.type = event.type();
  record.event_id = event.event_id();
  record.campaign_id = claims->campaign_id;
  record.platform_id = claims->platform_id;
  record.at_ms = now_ms;
  p.billed = event.type() == attex::v1::EVENT_TYPE_IMPRESSION && !claims->test;
  if (p.billed) {
    record.price_micros = auction::ImpressionPriceMicros(claims->price_cpm_micros);
    const auto split = auction::SplitPrice(record.price_micros, core.options.split);
    const std::string user =
        claims->user_key.empty() ? "user:anonymous" : absl::StrCat("user:", claims->user_key);
    record.entries = {
        {absl::StrCat("advertiser:", claims->advertiser_id), -record.price_micros},
        {absl::StrCat("platform:", claims->platform_id), split.platform_micros},
        {user, split.user_micros},
        {"exchange", split.exchange_micros},
    };
    p.budget = core.catalog.Budget(claims->campaign_id);
    // The hard cap at billing, with the campaign's current limits.
    record.enforce_budget = p.budget->limits_known();
    record.daily_budget_micros = p.budget->daily_limit();
    record.total_budget_micros = p.budget->total_limit();
  }
  pending_.push_back(std::move(p));
}

void BillingBatch::Commit(Core& core, int64_t now_ms) {
  if (!pending_.empty()) {
    records_.clear();
    for (const Pending& p : pending_) records_.push_back(p.record);
    const absl::Time commit_start = absl::Now();
    auto results = core.store->RecordEvents(records_);
    core.metrics.LedgerCommit(absl::Now() - commit_start);
    if (!results.ok()) {
      spdlog::error("recording {} events failed: {}", pending_.size(),
                    results.status().ToString());
    }
    for (size_t i = 0; i < pending_.size(); ++i) {
      Pending& p = pending_[i];
      const absl::Status error = !results.ok() ? results.status() : (*results)[i].status();
      if (!error.ok()) {
        if (results.ok()) spdlog::error("recording an event failed: {}", error.ToString());
        // Events recorded before are durable; a retry reports them duplicate.
        *p.status = absl::UnavailableError(
            "the ledger could not record an event; retry the request: recorded events "
            "answer duplicate");
        continue;
      }
      switch (*(*results)[i]) {
        case store::RecordResult::kAccepted:
          p.outcome->set_result(attex::v1::EVENT_RESULT_ACCEPTED);
          if (p.billed) {
            p.outcome->set_charged_micros(p.record.price_micros);
            p.budget->Charge(p.record.price_micros, now_ms);  // Before the release.
            core.metrics.Billed(p.record.price_micros);
          }
          core.counters.events_accepted.fetch_add(1, std::memory_order_relaxed);
          break;
        case store::RecordResult::kDuplicate:
          p.outcome->set_result(attex::v1::EVENT_RESULT_DUPLICATE);
          break;
        case store::RecordResult::kOverBudget:
          p.outcome->set_result(attex::v1::EVENT_RESULT_OVER_BUDGET);
          break;
      }
      if (p.billed) core.reservations.Settle(p.nonce);
    }
    pending_.clear();
  }
  core.reservations.Expire(now_ms);
  // Frequency windows that have passed are forgotten once a minute.
  if (now_ms - last_sweep_ms_ >= 60'000) {
    core.frequency.Sweep(now_ms);
    last_sweep_ms_ = now_ms;
  }
}

void CommitBilling(Core& core) { core.billing.Commit(core, NowMs()); }

}  // namespace attex::server
