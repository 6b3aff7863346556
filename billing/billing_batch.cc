#include "billing/billing_batch.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace attex::billing {

void BillingBatch::Add(const Reporter& reporter, const attex::v1::Event& event, int64_t now_ms,
                       attex::v1::EventOutcome* outcome, std::shared_ptr<absl::Status> status,
                       int64_t max_price_cpm_micros) {
  outcome->set_event_id(event.event_id());
  auto claims = context_.signer->Verify(event.billing_token());
  if (!claims.ok() || (!reporter.is_operator && claims->platform_id != reporter.platform_id)) {
    outcome->set_result(attex::v1::EVENT_RESULT_INVALID);
    return;
  }
  if (now_ms > claims->expires_ms) {
    outcome->set_result(attex::v1::EVENT_RESULT_EXPIRED);
    return;
  }
  Pending p;
  p.outcome = outcome;
  p.status = std::move(status);
  p.nonce = claims->nonce;
  store::BillingEvent& record = p.record;
  record.token_hash = auction::Sha256Hex(event.billing_token());
  record.type = event.type();
  record.event_id = event.event_id();
  record.campaign_id = claims->campaign_id;
  record.platform_id = claims->platform_id;
  record.at_ms = now_ms;
  p.billed = event.type() == attex::v1::EVENT_TYPE_IMPRESSION && !claims->test;
  if (p.billed) {
    const int64_t cpm = max_price_cpm_micros >= 0
                            ? std::min(max_price_cpm_micros, claims->price_cpm_micros)
                            : claims->price_cpm_micros;
    record.price_micros = auction::ImpressionPriceMicros(cpm);
    const auto split = auction::SplitPrice(record.price_micros, context_.split);
    const std::string user =
        claims->user_key.empty() ? "user:anonymous" : absl::StrCat("user:", claims->user_key);
    record.entries = {
        {absl::StrCat("advertiser:", claims->advertiser_id), -record.price_micros},
        {absl::StrCat("platform:", claims->platform_id), split.platform_micros},
        {user, split.user_micros},
        {"exchange", split.exchange_micros},
    };
    p.budget = context_.budget(claims->campaign_id);
    // The hard cap at billing, with the campaign's current limits.
    record.enforce_budget = p.budget->limits_known();
    record.daily_budget_micros = p.budget->daily_limit();
    record.total_budget_micros = p.budget->total_limit();
  }
  pending_.push_back(std::move(p));
}

CommitSummary BillingBatch::Commit(int64_t now_ms) {
  CommitSummary summary;
  if (!pending_.empty()) {
    records_.clear();
    for (const Pending& p : pending_) records_.push_back(p.record);
    const absl::Time commit_start = absl::Now();
    auto results = context_.store->RecordEvents(records_);
    summary.events = static_cast<int64_t>(records_.size());
    summary.latency = absl::Now() - commit_start;
    if (!results.ok()) {
      spdlog::error("recording {} events failed: {}", pending_.size(), results.status().ToString());
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
            summary.billed_micros += p.record.price_micros;
          }
          ++summary.accepted;
          if (context_.accepted && (p.billed || p.record.type == attex::v1::EVENT_TYPE_CLICK)) {
            context_.accepted(p.record.type, p.nonce, now_ms);
          }
          break;
        case store::RecordResult::kDuplicate:
          p.outcome->set_result(attex::v1::EVENT_RESULT_DUPLICATE);
          break;
        case store::RecordResult::kOverBudget:
          p.outcome->set_result(attex::v1::EVENT_RESULT_OVER_BUDGET);
          break;
      }
      if (p.billed) context_.reservations->Settle(p.nonce);
    }
    pending_.clear();
  }
  context_.reservations->Expire(now_ms);
  return summary;
}

}  // namespace attex::billing
