// Per-account request rate limits: a token bucket for each account, with a
// rate per role and overrides per account.
#ifndef ATTEX_SERVER_RATE_LIMITER_H_
#define ATTEX_SERVER_RATE_LIMITER_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "attex/v1/operator.pb.h"

namespace attex::server {

struct RateLimit {
  double per_second = 0;  // 0: unlimited.
  double burst = 0;       // Bucket size; 0: one second's worth (at least 1).
};

struct RateLimitOptions {
  RateLimit platform;
  RateLimit advertiser;
  RateLimit op;                                          // Operators.
  absl::flat_hash_map<std::string, RateLimit> accounts;  // Overrides by account id.
};

// Parses "acc-2=5000,acc-7=100:200" (rate[:burst] per account).
absl::StatusOr<absl::flat_hash_map<std::string, RateLimit>> ParseRateOverrides(
    const std::string& text);

// Thread-safe. The clock is injectable for tests.
class RateLimiter final {
 public:
  explicit RateLimiter(RateLimitOptions options, absl::Time (*now)() = &absl::Now);

  // Takes one token of the account's bucket. When the bucket is empty,
  // returns false and sets *retry_after to when a token will be there.
  bool Admit(const std::string& account_id, attex::v1::Role role, absl::Duration* retry_after);
  // The share of every limit this replica admits (1: all; a fleet of n
  // replicas behind a balancer that spreads calls evenly: 1/n, so that the
  // fleet admits about the limit). Rate and burst are scaled, the burst to
  // at least one call.
  void SetShare(double share) { share_.store(std::clamp(share, 1e-6, 1.0)); }
  double share() const { return share_.load(); }

 private:
  struct Bucket {
    absl::Mutex mu;
    double tokens ABSL_GUARDED_BY(mu) = 0;
    absl::Time last ABSL_GUARDED_BY(mu);
    RateLimit limit;
  };
  Bucket* BucketFor(const std::string& account_id, attex::v1::Role role);

  const RateLimitOptions options_;
  absl::Time (*now_)();
  const bool enabled_;  // False when nothing is limited: Admit returns at once.
  std::atomic<double> share_{1.0};
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Bucket>> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_RATE_LIMITER_H_
