// A replica's budget slices (docs/fleet.md#budget-slices): a thread of its
// own that leases, from Redis (store/redis_slices.h), a slice of every
// active campaign's remaining budget, renews each ahead of need, sizes it
// to the campaign's spend rate, and gives back on drain what is not still
// reserved. The bid path only reads the slice in the campaign's
// auction::BudgetState: no bid waits on the network to spend.
//
// Each round (every `tick`) it picks the campaigns whose slice needs
// renewing: none yet, a lease within a third of its time from expiry, or
// room below half of what the next slice would be. For those it reads the
// fleet's billed spend from the books (one query; the last one read while
// PostgreSQL is away, when nothing is being billed anyway), asks for
// reserved + want, where want is initial_slice for a campaign's first
// lease and then 2 x its spend rate x a third of the lease, between one
// impression at the bid and max_share of what remains, and installs the
// grants (never below what is reserved: store/redis_slices.h).
#ifndef ATTEX_SERVER_BUDGET_SLICER_H_
#define ATTEX_SERVER_BUDGET_SLICER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/catalog_manager.h"
#include "store/redis_slices.h"
#include "store/store.h"

namespace attex::server {

struct SliceOptions {
  std::string redis_addr;  // host:port; empty: no slices.
  std::string replica_id;  // This replica's field in every campaign's hash.
  absl::Duration lease = absl::Seconds(10);
  int64_t initial_slice_micros = 10'000;  // $0.01: a few impressions at a few dollars CPM.
  double max_share = 0.5;                 // Of the campaign's remaining budget.
  absl::Duration tick = absl::Milliseconds(100);
};

struct SliceStats {
  int64_t rounds = 0;
  int64_t leases = 0;          // Slices asked for (one per campaign and renewal).
  int64_t failures = 0;        // Rounds that could not reach Redis.
  int64_t granted_micros = 0;  // Sum of the slices held now.
  int64_t campaigns_held = 0;  // Campaigns with a slice now.
};

class BudgetSlicer final {
 public:
  BudgetSlicer(SliceOptions options, std::unique_ptr<store::RedisSlices> slices,
               CatalogManager* catalog, store::Store* store);
  ~BudgetSlicer();  // Stop.
  BudgetSlicer(const BudgetSlicer&) = delete;
  BudgetSlicer& operator=(const BudgetSlicer&) = delete;

  // One round now, on the caller's thread (Server::Start runs one before
  // serving, so that the first bids find slices).
  absl::Status Round(int64_t now_ms);
  // Runs rounds every tick on the slicer's thread.
  void Start();
  // Stops the thread and gives back every slice but what is reserved here
  // (its tokens may still be billed). Call once no Bid can reserve.
  void Stop();
  SliceStats stats() const;

 private:
  struct Held {
    int64_t granted = 0;
    int64_t expires_ms = 0;
    int64_t renewed_ms = 0;
    int64_t placed_at_renewal = 0;
    double rate_micros_per_ms = 0;  // Smoothed spend rate.
  };
  void Loop();

  const SliceOptions options_;
  std::unique_ptr<store::RedisSlices> slices_;
  CatalogManager* const catalog_;
  store::Store* const store_;
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  SliceStats stats_ ABSL_GUARDED_BY(mu_);
  // Rounds run on one thread at a time (Start's, or the caller's before).
  absl::Mutex round_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  absl::flat_hash_map<std::string, Held> held_ ABSL_GUARDED_BY(round_mu_);
  store::RedisOutageLog outage_log_ ABSL_GUARDED_BY(round_mu_);
  std::thread thread_;
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_BUDGET_SLICER_H_
