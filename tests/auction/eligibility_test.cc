// CampaignEligibility (the index's bitsets, 64 campaigns a word, blocked
// advertiser domains included) and
// BuildAdMask (rows of formats no slot asks for left unread, runs of one
// campaign's creatives of one shape filled whole) against the
// rules applied campaign by campaign and ad by ad, on random catalogues
// whose sizes are not multiples of 64, before and after PatchCatalog.
#include "auction/eligibility.h"

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "auction/catalog.h"
#include "gtest/gtest.h"

namespace attex::auction {
namespace {

constexpr int64_t kNowMs = 1'790'000'000'000;  // 2026-09-21 13:46 UTC.
constexpr int64_t kNowS = kNowMs / 1000;

const char* const kCountries[] = {"US", "DE", "FR"};
const char* const kDevices[] = {"mobile", "desktop"};
const char* const kFormats[] = {"banner", "native", "video"};
const char* const kCategories[] = {"", "sports", "travel"};
const char* const kBlockable[] = {"sports", "travel", "news"};

template <typename T, size_t N>
const T& Pick(std::mt19937& rng, const T (&options)[N]) {
  return options[rng() % N];
}

// A random campaign; `creatives` 0: 1 to 4 of them, else that many.
attex::v1::Campaign RandomCampaign(std::mt19937& rng, int index, int creatives) {
  attex::v1::Campaign c;
  c.set_id(absl::StrCat("cmp-", index));
  c.set_advertiser_id(absl::StrCat("acc-", rng() % 5));
  if (rng() % 3 == 0) c.add_adomain(rng() % 2 ? "Shoes.example" : "travel.example");
  c.set_status(rng() % 6 == 0 ? attex::v1::CAMPAIGN_STATUS_PAUSED
                              : attex::v1::CAMPAIGN_STATUS_ACTIVE);
  c.set_bid_cpm_micros(1'000'000 + rng() % 1'000'000);
  if (rng() % 8 == 0) c.mutable_schedule()->set_start(kNowS + (rng() % 2 ? 100 : -100));
  if (rng() % 8 == 0) c.mutable_schedule()->set_end(kNowS + (rng() % 2 ? 100 : -100));
  auto& t = *c.mutable_targeting();
  if (rng() % 3 == 0) t.add_countries(Pick(rng, kCountries));
  if (rng() % 4 == 0) t.add_countries(Pick(rng, kCountries));
  if (rng() % 3 == 0) t.add_device_types(Pick(rng, kDevices));
  if (rng() % 3 == 0) t.add_include_features(absl::StrCat("f", rng() % 6));
  if (rng() % 4 == 0) t.add_include_features(absl::StrCat("f", rng() % 6));
  if (rng() % 4 == 0) t.add_exclude_features(absl::StrCat("f", rng() % 6));
  if (rng() % 6 == 0) {
    for (int h = 0; h < 24; ++h) {
      if (rng() % 2) t.add_hours(h);
    }
  }
  const int n = creatives > 0 ? creatives : 1 + static_cast<int>(rng() % 4);
  for (int j = 0; j < n; ++j) {
    auto* cr = c.add_creatives();
    cr->set_id(absl::StrCat("cr-", j));
    cr->set_format(Pick(rng, kFormats));
    cr->set_category(Pick(rng, kCategories));
    cr->add_features(absl::StrCat("topic", rng() % 3));
    cr->set_markup("<a>ad</a>");
    // Sizes: a campaign's creatives of a format of one shape or of several.
    if (const int size = static_cast<int>(rng() % 3); size != 0) {
      cr->set_w(size == 1 ? 300 : 728);
      cr->set_h(size == 1 ? 250 : 90);
    }
  }
  return c;
}

struct Request {
  attex::v1::BidRequest proto;
  std::vector<std::string> tokens;
};

Request RandomRequest(std::mt19937& rng) {
  Request r;
  r.proto.set_request_id("req");
  if (rng() % 4 != 0) r.proto.mutable_context()->set_country(Pick(rng, kCountries));
  if (rng() % 4 != 0) r.proto.mutable_context()->set_device_type(Pick(rng, kDevices));
  for (int f = 0; f < 6; ++f) {
    if (rng() % 3 == 0) r.tokens.push_back(absl::StrCat("f", f));
  }
  if (rng() % 3 == 0) r.proto.add_blocked_advertisers(absl::StrCat("acc-", rng() % 5));
  if (rng() % 3 == 0) r.proto.add_blocked_domains("shoes.EXAMPLE");
  if (rng() % 3 == 0) r.proto.add_blocked_categories(Pick(rng, kBlockable));
  const int slots = 1 + static_cast<int>(rng() % 4);
  for (int k = 0; k < slots; ++k) {
    auto* slot = r.proto.add_slots();
    slot->set_id(absl::StrCat("s", k));
    slot->set_format(Pick(rng, kFormats));
    if (rng() % 3 == 0) {
      auto* size = slot->add_sizes();
      size->set_w(300);
      size->set_h(250);
    }
  }
  return r;
}

// The campaign-level rules, one campaign at a time, in Exclusion's order.
Exclusion Reference(const CompiledCampaign& c, const Request& r) {
  const auto& ctx = r.proto.context();
  auto has = [](const auto& list, const std::string& v) {
    return std::find(list.begin(), list.end(), v) != list.end();
  };
  if (c.status != attex::v1::CAMPAIGN_STATUS_ACTIVE) return Exclusion::kStatus;
  if ((c.start_s != 0 && kNowS < c.start_s) || (c.end_s != 0 && kNowS >= c.end_s)) {
    return Exclusion::kSchedule;
  }
  if (!c.countries.empty() && !has(c.countries, ctx.country())) return Exclusion::kCountry;
  if (!c.device_types.empty() && !has(c.device_types, ctx.device_type())) {
    return Exclusion::kDeviceType;
  }
  const bool included = std::any_of(r.tokens.begin(), r.tokens.end(),
                                    [&](const auto& t) { return c.include_features.contains(t); });
  if (!c.include_features.empty() && !included) return Exclusion::kIncludeFeatures;
  for (const auto& t : r.tokens) {
    if (c.exclude_features.contains(t)) return Exclusion::kExcludeFeatures;
  }
  const uint32_t hour_bit = 1u << ((kNowMs / 3'600'000) % 24);
  if (c.hours_mask != 0 && !(c.hours_mask & hour_bit)) return Exclusion::kHours;
  if (has(r.proto.blocked_advertisers(), c.advertiser_id)) return Exclusion::kBlockedAdvertiser;
  for (const auto& d : r.proto.blocked_domains()) {
    for (const auto& mine : c.adomain) {
      if (absl::AsciiStrToLower(d) == absl::AsciiStrToLower(mine)) {
        return Exclusion::kBlockedDomain;
      }
    }
  }
  return Exclusion::kCount;
}

// Checks eligibility and the mask of `catalog` for `r` against the reference.
void ExpectMatchesReference(const Catalog& catalog, const Request& r, EligibilityScratch& s,
                            const Parallel& parallel = {}) {
  const size_t n_campaigns = catalog.campaigns.size();
  const size_t n_ads = catalog.ads.size();
  std::vector<std::string_view> tokens(r.tokens.begin(), r.tokens.end());
  std::vector<uint8_t> ok(n_campaigns, 7);
  ExclusionCounts got{};
  const int64_t admitted =
      CampaignEligibility(catalog, r.proto, tokens, kNowMs, s, absl::MakeSpan(ok), got);
  ExclusionCounts want{};
  int64_t want_admitted = 0;
  for (size_t c = 0; c < n_campaigns; ++c) {
    const CompiledCampaign& campaign = *catalog.campaigns[c];
    const Exclusion why = Reference(campaign, r);
    const auto creatives = static_cast<int32_t>(campaign.creatives.size());
    ASSERT_EQ(ok[c], why == Exclusion::kCount ? 1 : 0) << "campaign " << c;
    if (why == Exclusion::kCount) {
      want_admitted += creatives;
    } else {
      want[static_cast<int>(why)] += creatives;
    }
  }
  EXPECT_EQ(admitted, want_admitted);

  std::vector<int> slot_class;
  SlotClasses(r.proto, slot_class);
  std::vector<uint16_t> mask(n_ads, 0xFFFF);
  BuildAdMask(catalog, r.proto, slot_class, ok, admitted, 0, s, absl::MakeSpan(mask), got,
              parallel);
  for (size_t i = 0; i < n_ads; ++i) {
    const AdRef ad = catalog.ads[i];
    const CompiledCreative& cr = catalog.campaigns[ad.campaign]->creatives[ad.creative];
    uint16_t bits = 0;
    bool asked = false;
    for (int k = 0; k < r.proto.slots_size(); ++k) {
      const attex::v1::Slot& slot = r.proto.slots(k);
      if (slot.format() != cr.format) continue;
      asked = true;
      bool fits = (cr.w | cr.h) == 0 || slot.sizes().empty();
      for (const auto& size : slot.sizes()) fits |= size.w() == cr.w && size.h() == cr.h;
      if (fits) bits |= 1u << slot_class[k];
    }
    const auto& blocked = r.proto.blocked_categories();
    const bool is_blocked = std::find(blocked.begin(), blocked.end(), cr.category) != blocked.end();
    uint16_t want_bits = 0;
    if (ok[ad.campaign] && is_blocked) {
      ++want[static_cast<int>(Exclusion::kBlockedCategory)];
    } else if (ok[ad.campaign] && !asked) {
      ++want[static_cast<int>(Exclusion::kFormat)];
    } else if (ok[ad.campaign] && bits == 0) {
      ++want[static_cast<int>(Exclusion::kSize)];
    } else if (ok[ad.campaign]) {
      want_bits = bits;
    }
    ASSERT_EQ(mask[i], want_bits) << "row " << i;
  }
  for (int e = 0; e < static_cast<int>(Exclusion::kCount); ++e) {
    EXPECT_EQ(got[e], want[e]) << ExclusionName(static_cast<Exclusion>(e));
  }
}

class EligibilityTest : public ::testing::TestWithParam<int> {};

TEST_P(EligibilityTest, BitsetsMatchTheRulesCampaignByCampaign) {
  std::mt19937 rng(GetParam());
  std::shared_ptr<const attention::Model> model = attention::Model::Default();
  // Every campaign with as many creatives (one count a word) or not.
  const int creatives = GetParam() % 2 == 0 ? 2 : 0;
  const int n = 1 + static_cast<int>(rng() % 700);
  std::vector<std::shared_ptr<const CompiledCampaign>> compiled;
  for (int c = 0; c < n; ++c) {
    compiled.push_back(CompileCampaign(RandomCampaign(rng, c, creatives), *model,
                                       std::make_shared<BudgetState>()));
  }
  std::shared_ptr<const Catalog> catalog = BuildCatalog(model, compiled);
  ASSERT_EQ(catalog->index.words.size(), (catalog->campaigns.size() + 63) / 64);
  EligibilityScratch scratch;
  for (int q = 0; q < 20; ++q) ExpectMatchesReference(*catalog, RandomRequest(rng), scratch);

  // Rules changed in place (the same creatives): the patched words too.
  std::vector<std::pair<int32_t, std::shared_ptr<const CompiledCampaign>>> changes;
  for (int k = 0; k < 30; ++k) {
    const auto c = static_cast<int32_t>(rng() % catalog->campaigns.size());
    attex::v1::Campaign next = RandomCampaign(rng, c, creatives);
    const CompiledCampaign& now = *catalog->campaigns[c];
    next.clear_creatives();
    for (const auto& cr : now.creatives) {
      auto* out = next.add_creatives();
      out->set_id(cr.id);
      out->set_format(cr.format);
      out->set_category(cr.category);
      out->set_markup(cr.markup);
      out->set_w(cr.w);
      out->set_h(cr.h);
    }
    auto patched = CompileCampaign(next, *model, std::make_shared<BudgetState>());
    // Patchable wants the same keys: keep the compiled ones.
    auto copy = std::make_shared<CompiledCampaign>(*patched);
    copy->creatives = now.creatives;
    changes.emplace_back(c, copy);
    catalog = PatchCatalog(*catalog, changes);
    changes.clear();
  }
  for (int q = 0; q < 20; ++q) ExpectMatchesReference(*catalog, RandomRequest(rng), scratch);
}

INSTANTIATE_TEST_SUITE_P(Seeds, EligibilityTest, ::testing::Range(1, 13));

TEST(EligibilitySplitTest, AMaskSplitAcrossWorkersInBlocksMatchesTheRules) {
  // Enough ads for several blocks a part, so that the parts interleave.
  std::mt19937 rng(99);
  std::shared_ptr<const attention::Model> model = attention::Model::Default();
  std::vector<std::shared_ptr<const CompiledCampaign>> compiled;
  for (int c = 0; c < 30'000; ++c) {
    compiled.push_back(
        CompileCampaign(RandomCampaign(rng, c, 0), *model, std::make_shared<BudgetState>()));
  }
  std::shared_ptr<const Catalog> catalog = BuildCatalog(model, compiled);
  ASSERT_GT(catalog->ads.size(), 4 * 16'384u);
  attention::PassWorkers workers(2);
  EligibilityScratch scratch;
  for (int q = 0; q < 10; ++q) {
    ExpectMatchesReference(*catalog, RandomRequest(rng), scratch, Parallel{&workers, 1});
  }
  EXPECT_GT(workers.split(), 0);
}

}  // namespace
}  // namespace attex::auction
