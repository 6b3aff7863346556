#include "server/rate_limiter.h"

#include <algorithm>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace attex::server {

absl::StatusOr<absl::flat_hash_map<std::string, RateLimit>> ParseRateOverrides(
    const std::string& text) {
  absl::flat_hash_map<std::string, RateLimit> out;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<absl::string_view> kv = absl::StrSplit(item, '=');
    std::vector<absl::string_view> rate =
        kv.size() == 2 ? absl::StrSplit(kv[1], ':') : std::vector<absl::string_view>{};
    RateLimit limit;
    if (kv.size() != 2 || kv[0].empty() || rate.empty() || rate.size() > 2 ||
        !absl::SimpleAtod(rate[0], &limit.per_second) || limit.per_second < 0 ||
        (rate.size() == 2 && (!absl::SimpleAtod(rate[1], &limit.burst) || limit.burst < 0))) {
      return absl::InvalidArgumentError(
          absl::StrCat("--rate_limit_accounts: \"", item, "\" is not ACCOUNT=RATE[:BURST]"));
    }
    out[std::string(kv[0])] = limit;
  }
  return out;
}

RateLimiter::RateLimiter(RateLimitOptions options, absl::Time (*now)())
    : options_(std::move(options)),
      now_(now),
      enabled_(options_.platform.per_second > 0 || options_.advertiser.per_second > 0 ||
               options_.op.per_second > 0 || !options_.accounts.empty()) {}

RateLimiter::Bucket* RateLimiter::BucketFor(const std::string& account_id, attex::v1::Role role) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = buckets_.find(account_id);
    if (it != buckets_.end()) return it->second.get();
  }
  absl::MutexLock lock(&mu_);
  auto& bucket = buckets_[account_id];
  if (!bucket) {
    bucket = std::make_unique<Bucket>();
    auto it = options_.accounts.find(account_id);
    bucket->limit = it != options_.accounts.end()        ? it->second
                    : role == attex::v1::ROLE_PLATFORM   ? options_.platform
                    : role == attex::v1::ROLE_ADVERTISER ? options_.advertiser
                                                         : options_.op;
    if (bucket->limit.burst <= 0) bucket->limit.burst = std::max(1.0, bucket->limit.per_second);
    absl::MutexLock bucket_lock(&bucket->mu);
    bucket->tokens = bucket->limit.burst;
    bucket->last = now_();
  }
  return bucket.get();
}

bool RateLimiter::Admit(const std::string& account_id, attex::v1::Role role,
                        absl::Duration* retry_after) {
  if (!enabled_) return true;
  Bucket* bucket = BucketFor(account_id, role);
  if (bucket->limit.per_second <= 0) return true;
  const double share = share_.load(std::memory_order_relaxed);
  const double rate = bucket->limit.per_second * share;
  const double burst = std::max(1.0, bucket->limit.burst * share);
  absl::MutexLock lock(&bucket->mu);
  const absl::Time now = now_();
  const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket->last));
  bucket->tokens = std::min(burst, bucket->tokens + elapsed * rate);
  bucket->last = now;
  if (bucket->tokens >= 1.0) {
    bucket->tokens -= 1.0;
    return true;
  }
  *retry_after = absl::Seconds((1.0 - bucket->tokens) / rate);
  return false;
}

}  // namespace attex::server
