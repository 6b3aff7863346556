#include "server/budget_slicer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "auction/budget.h"
#include "auction/revenue_split.h"
#include "spdlog/spdlog.h"

namespace attex::server {
namespace {

int64_t NowMillis() { return absl::ToUnixMillis(absl::Now()); }

bool Running(const auction::CompiledCampaign& c, int64_t now_ms) {
  return c.status == attex::v1::CAMPAIGN_STATUS_ACTIVE && c.budget->limits_known() &&
         (c.end_s == 0 || c.end_s * 1000 > now_ms);
}

}  // namespace

BudgetSlicer::BudgetSlicer(SliceOptions options, std::unique_ptr<store::RedisSlices> slices,
                           CatalogManager* catalog, store::Store* store)
    : options_(std::move(options)), slices_(std::move(slices)), catalog_(catalog), store_(store) {}

BudgetSlicer::~BudgetSlicer() { Stop(); }

void BudgetSlicer::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void BudgetSlicer::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    cv_.WaitWithTimeout(&mu_, options_.tick);
    if (stop_) break;
    mu_.Unlock();
    (void)Round(NowMillis());  // Failures are counted and logged there.
    mu_.Lock();
  }
}

absl::Status BudgetSlicer::Round(int64_t now_ms) {
  absl::MutexLock round(&round_mu_);
  const int64_t lease_ms = absl::ToInt64Milliseconds(options_.lease);
  const int64_t renew_ms = std::max<int64_t>(1, lease_ms / 3);
  const int64_t tick_ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.tick));
  struct Due {
    std::string id;
    std::shared_ptr<auction::BudgetState> budget;
    int64_t want = 0;
    int64_t billed_seen = 0;
  };
  std::vector<Due> due;
  absl::flat_hash_set<std::string> running;
  const auto catalog = catalog_->Current();
  for (const auto& c : catalog->campaigns) {
    if (!Running(*c, now_ms)) continue;
    running.insert(c->id);
    auction::BudgetState& budget = *c->budget;
    Held& held = held_[c->id];
    // The spend rate: the smoothed one, or the current interval's when it
    // runs faster (a campaign that has just started to win).
    double rate = held.rate_micros_per_ms;
    if (held.renewed_ms > 0 && now_ms - held.renewed_ms >= tick_ms) {
      rate = std::max(rate, static_cast<double>(budget.placed() - held.placed_at_renewal) /
                                static_cast<double>(now_ms - held.renewed_ms));
    }
    // At most max_share of what remains (a small budget is not all taken
    // by the first replica to ask), but at least one impression at the bid.
    const int64_t most = std::max<int64_t>(1, auction::ImpressionPriceMicros(c->bid_cpm_micros));
    const int64_t cap = std::max<int64_t>(
        most, static_cast<int64_t>(options_.max_share * budget.Remaining(now_ms)));
    // The first slice of a campaign is initial_slice; later ones follow
    // its spend rate here, down to one impression when it places nothing
    // (so that a replica the campaign's traffic does not reach holds little
    // of a small budget that others could place).
    int64_t want = held.renewed_ms == 0
                       ? options_.initial_slice_micros
                       : static_cast<int64_t>(2 * rate * static_cast<double>(renew_ms));
    want = std::clamp(want, most, cap);
    // In whole impressions at the bid (the most one costs), so that slices
    // do not each keep a fraction of one that none can place.
    want = (want + most - 1) / most * most;
    const int64_t room = budget.SliceRoom(now_ms);
    const bool none = held.granted <= 0 || now_ms >= held.expires_ms;
    bool renew;
    if (none) {
      // Nothing held (a new campaign, or none left to grant): ask again
      // every few ticks rather than every tick.
      renew = held.renewed_ms == 0 || now_ms - held.renewed_ms >= 4 * tick_ms;
    } else {
      renew = now_ms - held.renewed_ms >= renew_ms || room < want / 2;
    }
    if (renew) due.push_back({c->id, c->budget, want, 0});
  }
  // Slices of campaigns that stopped running go back (what is reserved
  // stays held until the lease runs out).
  std::vector<std::pair<std::string, int64_t>> gone;
  for (auto it = held_.begin(); it != held_.end();) {
    if (running.contains(it->first)) {
      ++it;
      continue;
    }
    if (it->second.granted > 0)
      gone.emplace_back(it->first, catalog_->Budget(it->first)->reserved());
    held_.erase(it++);
  }
  absl::Status status = slices_->Return(gone);
  {
    absl::MutexLock lock(&mu_);
    ++stats_.rounds;
  }
  if (!due.empty()) {
    // Billed spend read after each slice's billed counter: the spend counts
    // at least what the counter had.
    for (Due& d : due) d.billed_seen = d.budget->slice_billed();
    const int64_t day_start = now_ms / auction::kMillisPerDay * auction::kMillisPerDay;
    auto spend = store_->AllSpend(day_start);
    absl::flat_hash_map<std::string, store::SpendTotals> totals;
    if (spend.ok()) {
      for (auto& [id, t] : *spend) totals[id] = t;
    }
    std::vector<store::SliceRequest> requests;
    requests.reserve(due.size());
    for (Due& d : due) {
      auction::BudgetState& budget = *d.budget;
      int64_t remaining;
      if (spend.ok()) {
        const store::SpendTotals t = totals.contains(d.id) ? totals[d.id] : store::SpendTotals{};
        budget.Load(t.total_micros, t.today_micros, now_ms);  // The fleet's, not only ours.
        remaining = auction::RemainingBudget(budget.daily_limit(), budget.total_limit(),
                                             t.total_micros, t.today_micros);
      } else {
        // The books are away: nothing is billed meanwhile, so the last
        // spend read still holds; what was billed since stays in the slice.
        d.billed_seen = 0;
        remaining = budget.Remaining(now_ms);
      }
      const int64_t held = budget.reserved();
      requests.push_back({d.id, held + d.want, std::max<int64_t>(0, remaining), held});
    }
    const int64_t sent_ms = NowMillis();
    auto grants = slices_->Lease(requests);
    if (!grants.ok()) {
      status.Update(grants.status());
    } else {
      // The local lease ends a tenth early: Redis's clock started it later.
      const int64_t expires_ms = sent_ms + lease_ms - lease_ms / 10;
      for (size_t i = 0; i < due.size(); ++i) {
        const Due& d = due[i];
        const store::SliceGrant& g = (*grants)[i];
        d.budget->SetSlice(g.granted_micros, d.billed_seen, expires_ms);
        Held& held = held_[d.id];
        if (held.renewed_ms > 0 && now_ms > held.renewed_ms) {
          const double recent = static_cast<double>(d.budget->placed() - held.placed_at_renewal) /
                                static_cast<double>(now_ms - held.renewed_ms);
          held.rate_micros_per_ms = 0.5 * held.rate_micros_per_ms + 0.5 * recent;
        }
        held.granted = g.granted_micros;
        held.expires_ms = expires_ms;
        held.renewed_ms = now_ms;
        held.placed_at_renewal = d.budget->placed();
      }
    }
  }
  int64_t granted = 0, campaigns = 0;
  for (const auto& [id, held] : held_) {
    if (held.granted > 0 && now_ms < held.expires_ms) {
      granted += held.granted;
      ++campaigns;
    }
  }
  absl::MutexLock lock(&mu_);
  stats_.leases += static_cast<int64_t>(due.size());
  stats_.granted_micros = granted;
  stats_.campaigns_held = campaigns;
  if (!status.ok()) {
    ++stats_.failures;
    if (outage_log_.Due(now_ms)) {
      spdlog::warn("budget slices: {} (slices held run out at their lease's end)",
                   status.ToString());
    }
  }
  return status;
}

void BudgetSlicer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = stop_ = true;
    cv_.Signal();
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock round(&round_mu_);
  const auto catalog = catalog_->Current();
  std::vector<std::pair<std::string, int64_t>> keep;
  for (const auto& c : catalog->campaigns) {
    auto it = held_.find(c->id);
    if (it == held_.end() || it->second.granted <= 0) continue;
    keep.emplace_back(c->id, c->budget->reserved());
  }
  if (auto s = slices_->Return(keep); !s.ok()) {
    spdlog::warn("budget slices: could not give back {} slices ({}); they return after the lease",
                 keep.size(), s.ToString());
  } else if (!keep.empty()) {
    spdlog::info("budget slices: gave back {} slices, keeping what is reserved", keep.size());
  }
  held_.clear();
}

SliceStats BudgetSlicer::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace attex::server
