#include "server/core.h"

#include <algorithm>
#include <utility>

#include "spdlog/spdlog.h"

namespace attex::server {

Core::Core(ServerOptions opts, std::unique_ptr<store::Store> st,
           std::shared_ptr<const attention::Model> model, std::string secret)
    : options(std::move(opts)),
      store(std::move(st)),
      catalog_manager(std::move(model), options.catalog),
      signer(std::move(secret)),
      billing(billing::BillingContext{
          .store = store.get(),
          .signer = &signer,
          .split = options.split,
          .reservations = &reservations,
          .budget = [this](const std::string& id) { return catalog_manager.Budget(id); },
          .accepted =
              [this](attex::v1::EventType type, uint64_t nonce, int64_t now_ms) {
                if (training_log == nullptr) return;
                if (type == attex::v1::EVENT_TYPE_CLICK) {
                  training_log->Click(nonce, now_ms);
                } else {
                  training_log->Impression(nonce, now_ms);
                }
              }}),
      queue(
          [this] {
            const int64_t now_ms = NowMs();
            CommitBilling(*this, now_ms);  // Before Publish and before any answer.
            CommitCampaignChanges(*this, now_ms);
            catalog_manager.Publish();
          },
          absl::Seconds(1), options.commit_gather) {
  options.auction.frequency = &frequency;
  const int threads = options.pass_threads >= 0 ? options.pass_threads : UsableCpus() - 1;
  if (threads > 0) {
    pass_workers = std::make_unique<attention::PassWorkers>(threads);
    options.auction.pass_workers = pass_workers.get();
    options.auction.pass_split_min_ads = options.pass_split_min_ads;
  }
}

void CommitBilling(Core& core, int64_t now_ms) {
  const billing::CommitSummary summary = core.billing.Commit(now_ms);
  if (summary.events > 0) core.metrics.LedgerCommit(summary);
  if (now_ms - core.last_frequency_sweep_ms >= 60'000) {
    core.frequency.Sweep(now_ms);
    core.last_frequency_sweep_ms = now_ms;
  }
}

void CommitCampaignChanges(Core& core, int64_t now_ms) {
  const CampaignCommitSummary summary = core.campaign_changes.Commit(now_ms);
  if (summary.changes > 0) {
    spdlog::debug("{} campaign changes ({} stored) committed in {}", summary.changes,
                  summary.stored, absl::FormatDuration(summary.latency));
  }
}

billing::Reporter ReporterOf(const Caller& caller) {
  return {.platform_id = caller.account_id, .is_operator = caller.role == attex::v1::ROLE_OPERATOR};
}

}  // namespace attex::server
