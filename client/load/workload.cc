#include "client/load/workload.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace attex::load {
namespace {

constexpr const char* kTopics[] = {
    "running", "coffee",  "travel", "cooking", "gaming", "finance", "music", "fitness",
    "fashion", "cars",    "movies", "books",   "pets",   "garden",  "tech",  "parenting",
    "beauty",  "cycling", "hiking", "wine",    "soccer", "tennis",  "golf",  "photography"};
constexpr const char* kFormats[] = {"banner", "native"};

struct Weighted {
  const char* value;
  double weight;
};
constexpr Weighted kCountries[] = {{"US", 0.35}, {"GB", 0.1},  {"DE", 0.1},
                                   {"FR", 0.08}, {"CA", 0.07}, {"IN", 0.1},
                                   {"BR", 0.08}, {"JP", 0.07}, {"", 0.05}};
constexpr Weighted kDevices[] = {
    {"mobile", 0.6}, {"desktop", 0.3}, {"tablet", 0.07}, {"ctv", 0.03}};

template <size_t N>
const char* PickWeighted(const Weighted (&table)[N], std::mt19937_64& rng) {
  double x = std::uniform_real_distribution<double>(0, 1)(rng);
  for (const auto& w : table) {
    if ((x -= w.weight) <= 0) return w.value;
  }
  return table[N - 1].value;
}

// "interest:running", then "interest:running-2" ... for vocabularies larger
// than the named topics.
std::vector<std::string> Vocabulary(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    const int round = i / static_cast<int>(std::size(kTopics));
    std::string word = kTopics[i % std::size(kTopics)];
    if (round > 0) absl::StrAppend(&word, "-", round + 1);
    out.push_back(absl::StrCat(prefix, word));
  }
  return out;
}

}  // namespace

Zipf::Zipf(int64_t n, double s) {
  cdf_.resize(std::max<int64_t>(n, 1));
  double sum = 0;
  for (size_t k = 0; k < cdf_.size(); ++k) cdf_[k] = sum += 1.0 / std::pow(k + 1.0, s);
  for (double& c : cdf_) c /= sum;
}

int64_t Zipf::operator()(std::mt19937_64& rng) const {
  const double x = std::uniform_real_distribution<double>(0, 1)(rng);
  return std::min<int64_t>(std::lower_bound(cdf_.begin(), cdf_.end(), x) - cdf_.begin(), n() - 1);
}

Workload::Workload(WorkloadOptions options)
    : options_(options),
      rng_(options.seed),
      interests_(Vocabulary("interest:", 96)),
      keywords_(Vocabulary("kw:", 480)),
      sites_(Vocabulary("site:", 240)),
      brands_(Vocabulary("brand:", 960)),
      interest_zipf_(96, 0.9),
      keyword_zipf_(480, 1.0),
      site_zipf_(240, 1.1),
      brand_zipf_(960, 0.8),
      user_zipf_(std::min<int64_t>(options.users, 2'000'000), 1.05) {}

const std::string& Workload::Pick(const std::vector<std::string>& vocabulary, const Zipf& zipf) {
  return vocabulary[zipf(rng_)];
}

attex::v1::Campaign Workload::MakeCampaign(int64_t i, const std::string& advertiser_id) {
  std::uniform_real_distribution<double> unit(0, 1);
  attex::v1::Campaign c;
  c.set_advertiser_id(advertiser_id);
  const std::string& brand = brands_[i % brands_.size()];
  c.set_name(absl::StrCat("load ", brand, " #", i));
  c.set_status(attex::v1::CAMPAIGN_STATUS_ACTIVE);
  // Bids log-normal around 2 CPM (0.5 to 8 mostly).
  const double bid = 2.0 * std::exp(std::normal_distribution<double>(0, 0.6)(rng_));
  c.set_bid_cpm_micros(static_cast<int64_t>(bid * 1e6));
  c.mutable_budget()->set_daily_micros(1'000'000'000'000);
  c.mutable_budget()->set_total_micros(100'000'000'000'000);
  c.set_pacing(unit(rng_) < 0.7 ? attex::v1::PACING_ASAP : attex::v1::PACING_EVEN);
  auto* t = c.mutable_targeting();
  if (unit(rng_) < 0.4) {
    for (int k = 0; k < 3; ++k) {
      const char* country = PickWeighted(kCountries, rng_);
      if (*country != '\0' && std::find(t->countries().begin(), t->countries().end(), country) ==
                                  t->countries().end()) {
        t->add_countries(country);
      }
    }
  }
  if (unit(rng_) < 0.2) t->add_device_types(unit(rng_) < 0.7 ? "mobile" : "desktop");
  const std::string& topic = Pick(interests_, interest_zipf_);
  if (unit(rng_) < 0.3) t->add_include_features(topic);
  for (int k = 0; k < options_.creatives_per_campaign; ++k) {
    auto* cr = c.add_creatives();
    cr->set_id(absl::StrCat("cr-", k + 1));
    cr->set_format(kFormats[k % std::size(kFormats)]);
    cr->set_category(absl::StrCat("IAB", 1 + i % 26));
    cr->add_features(topic);
    cr->add_features(brand);
    const int extra = 2 + static_cast<int>(rng_() % 4);
    for (int f = 0; f < extra; ++f) cr->add_features(Pick(keywords_, keyword_zipf_));
    cr->set_markup(absl::StrCat("<a href=\"https://ads.example/", i, "/", k, "\">", brand, "</a>"));
  }
  return c;
}

attex::v1::BidRequest Workload::MakeBidRequest() {
  std::uniform_real_distribution<double> unit(0, 1);
  attex::v1::BidRequest r;
  r.set_request_id(absl::StrCat("load-", options_.seed, "-", requests_++));
  // A user's interests are stable: drawn from a generator seeded by the user.
  const int64_t user = user_zipf_(rng_);
  auto* u = r.mutable_user();
  std::mt19937_64 user_rng(user * 0x9E3779B97F4A7C15ull + 17);
  std::swap(rng_, user_rng);
  if (unit(rng_) < 0.9) u->set_id(absl::StrCat("u", user));
  const int interests = 2 + static_cast<int>(rng_() % 5);
  for (int k = 0; k < interests; ++k) u->add_features(Pick(interests_, interest_zipf_));
  std::swap(rng_, user_rng);
  const int recent = static_cast<int>(rng_() % 5);
  for (int k = 0; k < recent; ++k) u->add_recent(Pick(keywords_, keyword_zipf_));
  if (unit(rng_) < 0.05) u->mutable_consent()->set_limit_ad_tracking(true);
  auto* ctx = r.mutable_context();
  ctx->add_features(Pick(sites_, site_zipf_));
  const int kws = 1 + static_cast<int>(rng_() % 4);
  for (int k = 0; k < kws; ++k) ctx->add_features(Pick(keywords_, keyword_zipf_));
  ctx->set_country(PickWeighted(kCountries, rng_));
  ctx->set_device_type(PickWeighted(kDevices, rng_));
  const int span = std::max(0, options_.max_slots - options_.min_slots);
  const int slots = options_.min_slots + static_cast<int>(rng_() % (span + 1));
  for (int k = 0; k < slots; ++k) {
    auto* s = r.add_slots();
    s->set_id(absl::StrCat("s", k + 1));
    s->set_format(kFormats[(k == 0 || unit(rng_) < 0.6) ? 0 : 1]);
    s->set_position(k);
    // Half the slots use the platform's floor; the rest name 0.2 to 3 CPM.
    if (unit(rng_) < 0.5) {
      s->set_floor_cpm_micros(static_cast<int64_t>(
          1e6 * 0.8 * std::exp(std::normal_distribution<double>(0, 0.6)(rng_))));
    }
  }
  r.set_test(options_.test);
  return r;
}

}  // namespace attex::load
