#include "server/campaign_batch.h"

#include <utility>

#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace attex::server {

void CampaignBatch::Add(store::CampaignUpdate update, attex::v1::Campaign* response,
                        std::shared_ptr<absl::Status> status) {
  updates_.push_back(std::move(update));
  pending_.push_back({.response = response, .status = std::move(status)});
}

CampaignCommitSummary CampaignBatch::Commit(int64_t now_ms) {
  CampaignCommitSummary summary;
  if (pending_.empty()) return summary;
  summary.changes = static_cast<int64_t>(pending_.size());
  const absl::Time start = absl::Now();
  auto results = store_->UpdateCampaigns(std::move(updates_), now_ms);
  summary.latency = absl::Now() - start;
  updates_.clear();  // Moved from: made empty and usable again.
  commits_.fetch_add(1, std::memory_order_relaxed);
  changes_.fetch_add(summary.changes, std::memory_order_relaxed);
  if (!results.ok()) {
    // Nothing of the group was written: every call fails, none is upserted.
    spdlog::error("storing {} campaign changes failed: {}", pending_.size(),
                  results.status().ToString());
    for (Pending& p : pending_) *p.status = results.status();
  } else {
    for (size_t i = 0; i < pending_.size(); ++i) {
      Pending& p = pending_[i];
      absl::StatusOr<attex::v1::Campaign>& stored = (*results)[i];
      if (!stored.ok()) {
        *p.status = stored.status();
        continue;
      }
      catalog_->Upsert(*stored);
      *p.response = *std::move(stored);
      ++summary.stored;
    }
  }
  pending_.clear();
  return summary;
}

}  // namespace attex::server
