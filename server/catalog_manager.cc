#include "server/catalog_manager.h"

#include <vector>

namespace attex::server {
namespace {

// "cmp-12" sorts after "cmp-9": order by length, then text.
std::pair<size_t, std::string> OrderKey(const std::string& id) { return {id.size(), id}; }

}  // namespace

CatalogManager::CatalogManager(std::shared_ptr<const attention::Model> model)
    : model_(std::move(model)) {
  Publish();
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
  auto budget = Budget(campaign.id());
  budget->SetLimits(campaign.budget().daily_micros(), campaign.budget().total_micros());
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
  current_.store(auction::BuildCatalog(std::move(model), std::move(campaigns)));
}

}  // namespace attex::server
