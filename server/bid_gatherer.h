// Shared passes for Bid: concurrent bid requests are gathered for a short
// window (a few hundred microseconds at most) so that one pass over the
// catalogue's keys scores them all (auction::RunAuctions). In a large
// catalogue the pass is bounded by reading the keys, so several requests
// cost little more than one; the price is up to `window` of added latency.
// Requests are gathered until the window of the oldest closes or their slots
// fill a pass; only requests decided on the same catalogue snapshot share a
// pass. The auctions run on the gatherer's own threads, never on a gRPC
// reactor; each job's completion (reservation, billing tokens, Finish) runs
// there too. Thread-safe.
#ifndef ATTEX_SERVER_BID_GATHERER_H_
#define ATTEX_SERVER_BID_GATHERER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "attex/v1/exchange.pb.h"
#include "auction/auction.h"
#include "auction/catalog.h"

namespace attex::server {

class BidGatherer final {
 public:
  struct Options {
    absl::Duration window = absl::Microseconds(200);
    int threads = 1;
    int max_slots = 16;  // Slots a pass holds (auction::RunAuctions).
  };

  // One gathered bid. `request` must stay valid until `done` has run.
  struct Job {
    std::shared_ptr<const auction::Catalog> catalog;
    const attex::v1::BidRequest* request = nullptr;
    int64_t now_ms = 0;
    absl::Time deadline;
    auction::AuctionResult result;
    // Runs on a gatherer thread once `result` is decided.
    std::function<void(Job&)> done;
    absl::Time arrived;  // Set by Submit.
  };

  // `config` must outlive the gatherer.
  BidGatherer(const Options& options, const auction::AuctionConfig* config);
  ~BidGatherer();  // Decides what is queued, then joins.
  BidGatherer(const BidGatherer&) = delete;
  BidGatherer& operator=(const BidGatherer&) = delete;

  void Submit(std::unique_ptr<Job> job);
  // Decides every queued job and stops the threads. Idempotent.
  void Stop();

  // Passes run and requests decided so far (for metrics and tests).
  int64_t passes() const;
  int64_t requests() const;

 private:
  void Loop();
  bool ReadyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const auction::AuctionConfig* const config_;
  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<Job>> queue_ ABSL_GUARDED_BY(mu_);
  int queued_slots_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t passes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t requests_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_BID_GATHERER_H_
