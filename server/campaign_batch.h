// Campaign changes, group-committed as billing events are (billing/
// billing_batch.h): UpdateCampaign and SetCampaignStatus add their change
// to the open batch on the work queue (store/work_queue.h); the queue's
// after-batch hook commits every change of the batch to the store in ONE
// transaction (one fsync, Store::UpdateCampaigns) and upserts the stored
// campaigns into the catalogue, which it then publishes; only then are the
// callers answered. So a call answered OK is durable and visible to Bid.
#ifndef ATTEX_SERVER_CAMPAIGN_BATCH_H_
#define ATTEX_SERVER_CAMPAIGN_BATCH_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "attex/v1/campaign.pb.h"
#include "server/catalog_manager.h"
#include "store/store.h"

namespace attex::server {

// What one Commit did, for metrics.
struct CampaignCommitSummary {
  int64_t changes = 0;     // Sent to the store in the commit (0: no commit).
  int64_t stored = 0;      // Of those, written (the rest were refused).
  absl::Duration latency;  // Of the store's transaction.
};

// Add and Commit on the work queue's thread only (or, in tests, one thread
// while the queue is idle); the counters from any thread.
class CampaignBatch final {
 public:
  // Neither is owned; both outlive the batch.
  CampaignBatch(store::Store* store, CatalogManager* catalog) : store_(store), catalog_(catalog) {}

  // Queues `update`; the next Commit fills *response with the stored
  // campaign, or sets *status (shared by the call) to the change's error.
  // response and status must stay valid until then.
  void Add(store::CampaignUpdate update, attex::v1::Campaign* response,
           std::shared_ptr<absl::Status> status);
  // Writes every queued change in one store transaction and upserts those
  // stored into the catalogue (published by the caller).
  CampaignCommitSummary Commit(int64_t now_ms);

  size_t pending() const { return pending_.size(); }
  int64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  int64_t changes() const { return changes_.load(std::memory_order_relaxed); }

 private:
  struct Pending {
    attex::v1::Campaign* response = nullptr;
    std::shared_ptr<absl::Status> status;
  };
  store::Store* const store_;
  CatalogManager* const catalog_;
  std::vector<store::CampaignUpdate> updates_;
  std::vector<Pending> pending_;
  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> changes_{0};
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_CAMPAIGN_BATCH_H_
