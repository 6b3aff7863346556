#include "server/bid_gatherer.h"

#include <algorithm>
#include <utility>

namespace attex::server {

BidGatherer::BidGatherer(const Options& options, const auction::AuctionConfig* config)
    : options_(options), config_(config) {
  for (int i = 0; i < std::max(1, options_.threads); ++i) threads_.emplace_back([this] { Loop(); });
}

BidGatherer::~BidGatherer() { Stop(); }

void BidGatherer::Submit(std::unique_ptr<Job> job) {
  job->arrived = absl::Now();
  absl::MutexLock lock(&mu_);
  queued_slots_ += job->request->slots_size();
  queue_.push_back(std::move(job));
}

void BidGatherer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

int64_t BidGatherer::passes() const {
  absl::MutexLock lock(&mu_);
  return passes_;
}

int64_t BidGatherer::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

bool BidGatherer::ReadyLocked() const { return stopping_ || queued_slots_ >= options_.max_slots; }

void BidGatherer::Loop() {
  std::vector<std::unique_ptr<Job>> batch;
  std::vector<auction::AuctionJob> jobs;
  for (;;) {
    batch.clear();
    jobs.clear();
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](BidGatherer* g)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return g->stopping_ || !g->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // Stopping, and nothing left.
      // Gather until the oldest job's window closes or a pass is full.
      mu_.AwaitWithDeadline(
          absl::Condition(this, &BidGatherer::ReadyLocked),
          queue_.empty() ? absl::Now() : queue_.front()->arrived + options_.window);
      if (queue_.empty()) continue;  // Another thread took them.
      // The oldest job and those after it on the same snapshot, up to a
      // pass's slots (a job of more slots than that runs alone).
      const auction::Catalog* snapshot = queue_.front()->catalog.get();
      int slots = 0;
      for (auto it = queue_.begin(); it != queue_.end();) {
        const int n = (*it)->request->slots_size();
        if ((*it)->catalog.get() != snapshot ||
            (!batch.empty() && slots + n > options_.max_slots)) {
          ++it;
          continue;
        }
        slots += n;
        queued_slots_ -= n;
        batch.push_back(std::move(*it));
        it = queue_.erase(it);
        if (slots >= options_.max_slots) break;
      }
      ++passes_;
      requests_ += static_cast<int64_t>(batch.size());
    }
    for (auto& job : batch) {
      jobs.push_back({job->request, job->now_ms, job->deadline, &job->result, nullptr});
    }
    auction::RunAuctions(*batch.front()->catalog, *config_, jobs);
    for (auto& job : batch) job->done(*job);
  }
}

}  // namespace attex::server
