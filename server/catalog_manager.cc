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
// bids in the same rows.
bool SameAnnRows(const auction::Catalog& a, const auction::Catalog& b) {
  return a.keys == b.keys && a.values == b.values;
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
  if (!budget) budget = std::make_shared<auction::BudgetState>();
  return budget;
}

void CatalogManager::Upsert(const attex::v1::Campaign& campaign) {
  auto budget = Budget(campaign.id());  // CompileCampaign sets its limits.
  absl::MutexLock lock(&mu_);
  const auto key = OrderKey(campaign.id());
  protos_[key] = campaign;
  compiled_[key] = auction::CompileCampaign(campaign, *model_, std::move(budget));
  dirty_ = true;
}

void CatalogManager::SetModel(std::shared_ptr<const attention::Model> model) {
  {
    absl::MutexLock lock(&mu_);
    model_ = std::move(model);
    for (const auto& [key, proto] : protos_) {
      compiled_[key] = auction::CompileCampaign(proto, *model_, budgets_[proto.id()]);
    }
    dirty_ = true;
  }
  Publish();
}

void CatalogManager::Publish() {
  std::vector<std::shared_ptr<const auction::CompiledCampaign>> campaigns;
  std::shared_ptr<const attention::Model> model;
  {
    absl::MutexLock lock(&mu_);
    if (!dirty_) return;
    dirty_ = false;
    campaigns.reserve(compiled_.size());
    for (const auto& [key, compiled] : compiled_) campaigns.push_back(compiled);
    model = model_;
  }
  std::shared_ptr<const auction::Catalog> next =
      auction::BuildCatalog(std::move(model), std::move(campaigns), options_.key_format);
  if (options_.ann_min_ads <= 0) {
    current_.store(std::move(next));
    return;
  }
  // Under ann_mu_, so that a build finishing now either attaches to the
  // previous snapshot before RequestIndex looks or finds `next` current.
  absl::MutexLock lock(&ann_mu_);
  RequestIndex(current_.load().get(), next);
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
  // --bid_nice, 10 by default): on a small machine the build takes the idle
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
