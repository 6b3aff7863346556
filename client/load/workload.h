// Realistic traffic for attex-load: campaigns with targeting and creative
// features drawn from feature vocabularies, and bid requests from
// Zipf-distributed users with stable interests, pages with keywords, 1 to 4
// slots and floors. Deterministic for a seed. Not thread-safe.
#ifndef ATTEX_CLIENT_LOAD_WORKLOAD_H_
#define ATTEX_CLIENT_LOAD_WORKLOAD_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "attex/v1/campaign.pb.h"
#include "attex/v1/exchange.pb.h"

namespace attex::load {

// Draws ranks 0..n-1 with P(k) proportional to 1 / (k + 1)^s.
class Zipf final {
 public:
  Zipf(int64_t n, double s);
  int64_t operator()(std::mt19937_64& rng) const;
  int64_t n() const { return static_cast<int64_t>(cdf_.size()); }

 private:
  std::vector<double> cdf_;
};

struct WorkloadOptions {
  uint64_t seed = 1;
  int64_t users = 1'000'000;  // Distinct user ids (Zipf, s = 1.05).
  int min_slots = 1;
  int max_slots = 4;
  int creatives_per_campaign = 4;
  bool test = true;  // Bid requests marked test (events are never charged).
};

class Workload final {
 public:
  explicit Workload(WorkloadOptions options);

  // The i-th campaign, owned by `advertiser_id` (may be empty for an
  // advertiser's own token): a bid, a budget large enough for a load test,
  // targeting on some countries / devices / interests, and creatives whose
  // features come from the vocabularies.
  attex::v1::Campaign MakeCampaign(int64_t i, const std::string& advertiser_id);
  // The next bid request.
  attex::v1::BidRequest MakeBidRequest();

  const WorkloadOptions& options() const { return options_; }

 private:
  const std::string& Pick(const std::vector<std::string>& vocabulary, const Zipf& zipf);

  WorkloadOptions options_;
  std::mt19937_64 rng_;
  std::vector<std::string> interests_, keywords_, sites_, brands_;
  Zipf interest_zipf_, keyword_zipf_, site_zipf_, brand_zipf_, user_zipf_;
  int64_t requests_ = 0;
};

}  // namespace attex::load

#endif  // ATTEX_CLIENT_LOAD_WORKLOAD_H_
