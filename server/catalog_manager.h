// Owns the compiled campaigns and publishes immutable catalogue snapshots
// for the bid path. Writers (the work queue) call Upsert and Publish; the
// bid path calls Current, which takes no lock.
#ifndef ATTEX_SERVER_CATALOG_MANAGER_H_
#define ATTEX_SERVER_CATALOG_MANAGER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "attention/model.h"
#include "attex/v1/campaign.pb.h"
#include "auction/catalog.h"

namespace attex::server {

class CatalogManager final {
 public:
  explicit CatalogManager(std::shared_ptr<const attention::Model> model);

  // The latest snapshot; never null.
  std::shared_ptr<const auction::Catalog> Current() const { return current_.load(); }

  // Compiles (embeds) one campaign; visible after the next Publish.
  void Upsert(const attex::v1::Campaign& campaign);
  // Builds and swaps in a new snapshot if anything changed.
  void Publish();
  // Re-embeds every campaign with a new model and publishes.
  void SetModel(std::shared_ptr<const attention::Model> model);
  // The shared spend counters of a campaign (created on first use).
  std::shared_ptr<auction::BudgetState> Budget(const std::string& campaign_id);
  std::shared_ptr<const attention::Model> model() const;

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const attention::Model> model_ ABSL_GUARDED_BY(mu_);
  // Ordered by numeric id, so snapshots list campaigns in creation order.
  std::map<std::pair<size_t, std::string>, attex::v1::Campaign> protos_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<size_t, std::string>, std::shared_ptr<const auction::CompiledCampaign>>
      compiled_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<auction::BudgetState>> budgets_
      ABSL_GUARDED_BY(mu_);
  bool dirty_ ABSL_GUARDED_BY(mu_) = true;
  std::atomic<std::shared_ptr<const auction::Catalog>> current_;
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_CATALOG_MANAGER_H_
