#include "server/catalog_manager.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace attex::server {
namespace {

// "cmp-12" sorts after "cmp-9": order by length, then text.
std::pair<size_t, std::string> OrderKey(const std::string& id) { return {id.size(), id}; }

// Whether an ANN index of one catalogue serves the other: the same keys and
// bids in the same rows (shared by a patched catalogue with its source).
bool SameAnnRows(const auction::Catalog& a, const auction::Catalog& b) {
  if (a.values != b.values) return false;  // Compares only the chunks they do not share.
  if (a.tiled_keys.SharesTiles(b.tiled_keys)) return true;
  if (a.ads.size() != b.ads.size()) return false;
  for (size_t i = 0; i < a.ads.size(); ++i) {
    const auto ka = a.Key(static_cast<int64_t>(i));
    const auto kb = b.Key(static_cast<int64_t>(i));
    if (!std::equal(ka.begin(), ka.end(), kb.begin(), kb.end())) return false;
  }
  return true;
}

// The position of campaign `id` in `catalog` (ordered by OrderKey), or -1.
int32_t FindCampaign(const auction::Catalog& catalog, const std::string& id) {
  const auto key = OrderKey(id);
  size_t lo = 0, hi = catalog.campaigns.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (OrderKey(catalog.campaigns[mid]->id) < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == catalog.campaigns.size() || catalog.campaigns[lo]->id != id) return -1;
  return static_cast<int32_t>(lo);
}

}  // namespace

CatalogManager::CatalogManager(std::shared_ptr<const attention::Model> model,
                               CatalogOptions options)
    : options_(options), model_(std::move(model)) {
  Publish();
  if (options_.ann_min_ads > 0) ann_thread_ = std::thread([this] { IndexLoop(); });
}

CatalogManager::~CatalogManager() {
  if (!ann_thread_.joinable()) return;
  {
    absl::MutexLock lock(&ann_mu_);
    ann_stop_ = true;
    ann_cancel_ = true;
    ann_cv_.Signal();
  }
  ann_thread_.join();
}

std::shared_ptr<const attention::Model> CatalogManager::model() const {
  absl::MutexLock lock(&mu_);
  return model_;
}

std::shared_ptr<auction::BudgetState> CatalogManager::Budget(const std::string& campaign_id) {
  absl::MutexLock lock(&mu_);
  auto& budget = budgets_[campaign_id];
  if (!budget) budget = NewBudget();
  return budget;
}

std::shared_ptr<auction::BudgetState> CatalogManager::NewBudget() const {
  auto budget = std::make_shared<auction::BudgetState>();
  if (options_.budget_slices) budget->EnableSlices();
  return budget;
}

void CatalogManager::Upsert(const attex::v1::Campaign& campaign) {
  auto budget = Budget(campaign.id());  // CompileCampaign sets its limits.
  absl::MutexLock lock(&mu_);
  const auto key = OrderKey(campaign.id());
  compiled_[key] =
      auction::CompileCampaign(campaign, *model_, std::move(budget), options_.keep_key_inputs);
  changed_.insert(campaign.id());
  if (changing_model_) upserted_during_change_[campaign.id()] = campaign;
  ++counts_.upserts;
  dirty_ = true;
}

bool CatalogManager::UpsertIfNewer(const attex::v1::Campaign& campaign) {
  {
    absl::MutexLock lock(&mu_);
    auto it = compiled_.find(OrderKey(campaign.id()));
    if (it != compiled_.end() && it->second->version >= campaign.version()) return false;
  }
  // Writers are the work queue alone, so nothing comes between the check
  // and the upsert.
  Upsert(campaign);
  return true;
}

PublishCounts CatalogManager::publish_counts() const {
  absl::MutexLock lock(&mu_);
  return counts_;
}

void CatalogManager::SetModel(std::shared_ptr<const attention::Model> model,
                              const std::vector<attex::v1::Campaign>& campaigns) {
  BeginModelChange();  // Or one in progress: what it kept is compiled again too.
  InstallModel(PrepareModel(std::move(model), campaigns));
}

bool CatalogManager::BeginModelChange() {
  absl::MutexLock lock(&mu_);
  if (changing_model_) return false;
  changing_model_ = true;
  upserted_during_change_.clear();
  return true;
}

void CatalogManager::AbandonModelChange() {
  absl::MutexLock lock(&mu_);
  changing_model_ = false;
  upserted_during_change_.clear();
}

CatalogManager::PreparedModel CatalogManager::PrepareModel(
    std::shared_ptr<const attention::Model> model,
    const std::vector<attex::v1::Campaign>& campaigns) {
  PreparedModel prepared;
  prepared.model = std::move(model);
  for (const auto& campaign : campaigns) {
    prepared.compiled[OrderKey(campaign.id())] = auction::CompileCampaign(
        campaign, *prepared.model, Budget(campaign.id()), options_.keep_key_inputs);
  }
  std::vector<std::shared_ptr<const auction::CompiledCampaign>> list;
  list.reserve(prepared.compiled.size());
  for (const auto& [key, compiled] : prepared.compiled) list.push_back(compiled);
  prepared.catalog = auction::BuildCatalog(prepared.model, std::move(list), options_.key_format);
  return prepared;
}

void CatalogManager::InstallModel(PreparedModel prepared) {
  bool dirty = false;
  {
    absl::MutexLock publish(&publish_mu_);
    {
      absl::MutexLock lock(&mu_);
      // Changes made while the model embedded: the prepared catalogue may
      // have read them from the store or not, so each is compiled again
      // with the new model (unless the store's was newer) and published on
      // top, as any upsert is.
      changed_.clear();
      for (auto& [id, campaign] : upserted_during_change_) {
        auto& compiled = prepared.compiled[OrderKey(id)];
        if (compiled == nullptr || compiled->version <= campaign.version()) {
          auto& budget = budgets_[id];
          if (!budget) budget = NewBudget();
          compiled =
              auction::CompileCampaign(campaign, *prepared.model, budget, options_.keep_key_inputs);
        }
        changed_.insert(id);
      }
      upserted_during_change_.clear();
      changing_model_ = false;
      model_ = prepared.model;
      compiled_ = std::move(prepared.compiled);
      rebuild_ = false;
      dirty_ = dirty = !changed_.empty();
      ++counts_.builds;
    }
    Swap(current_.load(), std::move(prepared.catalog));
  }
  if (dirty) Publish();
}

void CatalogManager::Publish() {
  absl::MutexLock publish(&publish_mu_);
  // Freed here, on the writer's thread, rather than by the last Bid that
  // read them (a snapshot of a million ads frees hundreds of MB). No reader
  // can take a new reference to a retired snapshot, so a count of 1 stays 1.
  std::erase_if(retired_, [](const auto& c) { return c.use_count() == 1; });
  const std::shared_ptr<const auction::Catalog> previous = current_.load();
  std::vector<std::pair<int32_t, std::shared_ptr<const auction::CompiledCampaign>>> changes;
  std::vector<std::shared_ptr<const auction::CompiledCampaign>> campaigns;
  std::shared_ptr<const attention::Model> model;
  bool whole = false;
  {
    absl::MutexLock lock(&mu_);
    if (!dirty_) return;
    dirty_ = false;
    model = model_;
    whole = rebuild_ || previous == nullptr || previous->model != model_;
    for (const std::string& id : changed_) {
      if (whole) break;
      const auto& compiled = compiled_.at(OrderKey(id));
      const int32_t index = FindCampaign(*previous, id);
      if (index < 0) {
        // Not in the snapshot: left out still if archived, else new.
        whole = compiled->status != attex::v1::CAMPAIGN_STATUS_ARCHIVED;
      } else if (auction::Patchable(*previous, index, *compiled)) {
        changes.emplace_back(index, compiled);
      } else {
        whole = true;
      }
    }
    changed_.clear();
    rebuild_ = false;
    if (whole) {
      changes.clear();
      campaigns.reserve(compiled_.size());
      for (const auto& [key, compiled] : compiled_) campaigns.push_back(compiled);
      ++counts_.builds;
    } else {
      ++counts_.patches;
    }
  }
  std::shared_ptr<const auction::Catalog> next =
      whole ? auction::BuildCatalog(std::move(model), std::move(campaigns), options_.key_format)
            : auction::PatchCatalog(*previous, changes);
  Swap(previous, std::move(next));
}

void CatalogManager::Swap(const std::shared_ptr<const auction::Catalog>& previous,
                          std::shared_ptr<const auction::Catalog> next) {
  if (previous != nullptr) retired_.push_back(previous);
  if (options_.ann_min_ads <= 0) {
    current_.store(std::move(next));
    return;
  }
  // Under ann_mu_, so that a build finishing now either attaches to the
  // previous snapshot before RequestIndex looks or finds `next` current.
  absl::MutexLock lock(&ann_mu_);
  RequestIndex(previous.get(), next);
  current_.store(std::move(next));
}

void CatalogManager::RequestIndex(const auction::Catalog* previous,
                                  const std::shared_ptr<const auction::Catalog>& next) {
  if (static_cast<int64_t>(next->ads.size()) < options_.ann_min_ads) {
    ann_pending_.reset();  // Nothing current to index.
    return;
  }
  // The index maps rows to keys and bids (auction::BuildAnnIndex): it stays
  // valid for the same in the same rows, whatever else (status, budgets,
  // targeting) changed.
  if (previous != nullptr && previous->ann.get() != nullptr && SameAnnRows(*previous, *next)) {
    next->ann.Set(previous->ann.shared());
    return;
  }
  ann_pending_ = next;
  ann_cv_.Signal();
}

void CatalogManager::IndexLoop() {
  // Below the bid path's priority (the reactors' 0, the Bid threads'
  // --bid_nice, 0 by default): on a small machine the build takes the idle
  // cycles rather than theirs.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
  while (true) {
    std::shared_ptr<const auction::Catalog> target;
    {
      absl::MutexLock lock(&ann_mu_);
      while (!ann_stop_ && ann_pending_.expired()) ann_cv_.Wait(&ann_mu_);
      if (ann_stop_) return;
      target = ann_pending_.lock();
      ann_pending_.reset();
    }
    if (target == nullptr || target->ann.get() != nullptr) continue;
    const int64_t rows = static_cast<int64_t>(target->ads.size());
    const int d = target->model->d_model();
    const absl::Time start = absl::Now();
    spdlog::info("ann: building the index of {} ads (d {}); the exact scan serves until ready",
                 rows, d);
    const int64_t step = std::max<int64_t>(rows / 10, 1);
    int64_t next_report = step;
    auto progress = [&](int64_t done) {
      if (done >= next_report && done < rows) {
        spdlog::info("ann: {} of {} ads indexed ({:.0f}%, {:.1f} s)", done, rows,
                     100.0 * done / rows, absl::ToDoubleSeconds(absl::Now() - start));
        while (next_report <= done) next_report += step;
      }
      return !ann_cancel_.load(std::memory_order_relaxed);
    };
    auto built = auction::BuildAnnIndex(*target, options_.ann, progress);
    if (!built.ok()) {
      if (built.status().code() != absl::StatusCode::kCancelled) {
        spdlog::error("ann: index build failed, the exact scan serves: {}",
                      built.status().ToString());
      }
      continue;
    }
    std::shared_ptr<const attention::AnnIndex> index = *std::move(built);
    bool serves = false;
    {
      absl::MutexLock lock(&ann_mu_);
      target->ann.Set(index);
      // A snapshot published during the build with the same keys serves
      // from it too (RequestIndex could not share what did not exist yet).
      auto current = Current();
      serves = current == target;
      if (!serves && SameAnnRows(*current, *target)) serves = current->ann.Set(index);
    }
    spdlog::info("ann: index of {} ads ready in {:.1f} s{}", rows,
                 absl::ToDoubleSeconds(absl::Now() - start),
                 serves ? "; candidates now come from it"
                        : " (the catalogue changed meanwhile; the next build follows)");
  }
}

}  // namespace attex::server
