// Owns the compiled campaigns and publishes immutable catalogue snapshots
// for the bid path. Writers (the work queue) call Upsert and Publish; the
// bid path calls Current, which takes no lock.
//
// A publish costs what changed since the last one: when every campaign
// upserted since then was in the last snapshot and keeps its creatives'
// rows (auction::Patchable: a new bid, status other than archived, budget,
// schedule, targeting, frequency cap, markup), the new snapshot is the last
// one patched (auction::PatchCatalog), sharing its keys and ad layout;
// otherwise (a new or archived campaign, changed creatives, a new model)
// it is built whole (auction::BuildCatalog). Either way it equals what
// BuildCatalog makes of the same campaigns. Snapshots a publish replaces are
// freed by a later publish once no reader holds them, so that the bid path
// never pays for freeing one.
//
// A published catalogue of at least `ann_min_ads` ads gets an ANN index of
// its keys, built by a background thread of the manager's own (minutes for
// a million ads: never on the work queue or the bid path) and attached to
// that catalogue when ready; until then the exact scan serves it. A later
// catalogue with the same keys and bids (a pause, a budget or targeting
// changed) shares the index at once; one with other keys or bids gets a new
// build once the running one ends. While such updates arrive faster than a
// build takes, the exact scan serves.
#ifndef ATTEX_SERVER_CATALOG_MANAGER_H_
#define ATTEX_SERVER_CATALOG_MANAGER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "attention/model.h"
#include "attention/tiled_keys.h"
#include "attex/v1/campaign.pb.h"
#include "auction/catalog.h"

namespace attex::server {

struct CatalogOptions {
  // Storage of every published catalogue's tiled keys (--key_storage).
  attention::KeyFormat key_format = attention::KeyFormat::kFloat32;
  // Catalogues of at least this many ads get an ANN index (--ann_min_ads).
  // 0: never.
  int64_t ann_min_ads = 250'000;
  attention::AnnOptions ann;
  // Keep what each ad's key pooled (auction::CompileCampaign), for the
  // training log.
  bool keep_key_inputs = false;
  // Every campaign's budget reserves only within its budget slice
  // (auction::BudgetState::EnableSlices; a fleet with --redis_addr).
  bool budget_slices = false;
};

// How the snapshots published so far were made.
struct PublishCounts {
  int64_t builds = 0;   // Whole (auction::BuildCatalog), the first included.
  int64_t patches = 0;  // From the previous snapshot (auction::PatchCatalog).
  int64_t upserts = 0;  // Campaign changes they absorbed (Upsert calls).
};

class CatalogManager final {
 public:
  explicit CatalogManager(std::shared_ptr<const attention::Model> model,
                          CatalogOptions options = {});
  // Stops a build in progress (within 4,096 rows) and joins its thread.
  ~CatalogManager();
  CatalogManager(const CatalogManager&) = delete;
  CatalogManager& operator=(const CatalogManager&) = delete;

  // The latest snapshot; never null.
  std::shared_ptr<const auction::Catalog> Current() const { return current_.load(); }

  // Compiles (embeds) one campaign; visible after the next Publish.
  void Upsert(const attex::v1::Campaign& campaign);
  // Upsert, unless the manager already has this version of the campaign or
  // a later one (a change from another replica that this one has, or has
  // overtaken). Answers whether it upserted.
  bool UpsertIfNewer(const attex::v1::Campaign& campaign);
  // Builds and swaps in a new snapshot if anything changed (and, past
  // ann_min_ads, asks the background thread for its index).
  void Publish();
  // Re-embeds `campaigns` (every campaign, as the store has them: the
  // manager keeps no copy of the protos) with a new model, in place of
  // what was upserted, and publishes: BeginModelChange, PrepareModel and
  // InstallModel in one go, on the caller's thread.
  void SetModel(std::shared_ptr<const attention::Model> model,
                const std::vector<attex::v1::Campaign>& campaigns);

  // A model change in three steps, so that the re-embedding (seconds at a
  // million ads) runs off the work queue while the old model serves:
  //
  // BeginModelChange (any thread): from now on Upsert also keeps a copy of
  // each campaign it takes, so that changes made while the new model
  // embeds are not lost. Read the store's campaigns after it. False when a
  // change is already in progress.
  bool BeginModelChange();
  // What PrepareModel makes: every campaign compiled with the new model
  // and their catalogue, not yet serving.
  struct PreparedModel {
    std::shared_ptr<const attention::Model> model;
    std::map<std::pair<size_t, std::string>, std::shared_ptr<const auction::CompiledCampaign>>
        compiled;
    std::shared_ptr<const auction::Catalog> catalog;
  };
  // PrepareModel (any thread but the writers'; slow, takes no lock for
  // long): compiles `campaigns` with `model` and builds their catalogue.
  PreparedModel PrepareModel(std::shared_ptr<const attention::Model> model,
                             const std::vector<attex::v1::Campaign>& campaigns);
  // InstallModel (the writers' thread): compiles the campaigns upserted
  // since BeginModelChange with the new model, swaps the prepared catalogue
  // in atomically (Bid calls holding the old one finish on the old model)
  // and publishes those few changes on top (a patch where it can).
  void InstallModel(PreparedModel prepared);
  // Ends a change that will not be installed (the old model keeps serving).
  void AbandonModelChange();
  // The shared spend counters of a campaign (created on first use).
  std::shared_ptr<auction::BudgetState> Budget(const std::string& campaign_id);
  std::shared_ptr<const attention::Model> model() const;
  const CatalogOptions& options() const { return options_; }
  PublishCounts publish_counts() const;

 private:
  // Shares the previous snapshot's index with `next` if they have the same
  // keys and bids, else queues `next` for a build.
  void RequestIndex(const auction::Catalog* previous,
                    const std::shared_ptr<const auction::Catalog>& next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ann_mu_);
  // Makes `next` current (retiring `previous`) and, past ann_min_ads,
  // asks for its index. Under publish_mu_.
  void Swap(const std::shared_ptr<const auction::Catalog>& previous,
            std::shared_ptr<const auction::Catalog> next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(publish_mu_);
  // The background thread: builds the index of the latest queued snapshot.
  void IndexLoop();
  // A new campaign's budget state (with slices when the options say so).
  std::shared_ptr<auction::BudgetState> NewBudget() const;

  const CatalogOptions options_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const attention::Model> model_ ABSL_GUARDED_BY(mu_);
  // Ordered by numeric id, so snapshots list campaigns in creation order.
  std::map<std::pair<size_t, std::string>, std::shared_ptr<const auction::CompiledCampaign>>
      compiled_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<auction::BudgetState>> budgets_
      ABSL_GUARDED_BY(mu_);
  bool dirty_ ABSL_GUARDED_BY(mu_) = true;
  // Campaigns upserted since the last publish, and whether it must build
  // whole anyway (a new model).
  absl::flat_hash_set<std::string> changed_ ABSL_GUARDED_BY(mu_);
  bool rebuild_ ABSL_GUARDED_BY(mu_) = true;
  PublishCounts counts_ ABSL_GUARDED_BY(mu_);
  // Between BeginModelChange and InstallModel: the campaigns upserted
  // meanwhile, latest version each.
  bool changing_model_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, attex::v1::Campaign> upserted_during_change_
      ABSL_GUARDED_BY(mu_);
  // One publish at a time: each patches the snapshot the previous one made.
  absl::Mutex publish_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Replaced snapshots, freed by a later publish once unread.
  std::vector<std::shared_ptr<const auction::Catalog>> retired_ ABSL_GUARDED_BY(publish_mu_);
  std::atomic<std::shared_ptr<const auction::Catalog>> current_;

  absl::Mutex ann_mu_;
  absl::CondVar ann_cv_;
  // The latest snapshot waiting for an index; weak, so that a superseded
  // one is freed rather than indexed.
  std::weak_ptr<const auction::Catalog> ann_pending_ ABSL_GUARDED_BY(ann_mu_);
  bool ann_stop_ ABSL_GUARDED_BY(ann_mu_) = false;
  std::atomic<bool> ann_cancel_{false};  // Read by the build's progress callback.
  std::thread ann_thread_;               // Only with ann_min_ads > 0.
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_CATALOG_MANAGER_H_
