// Publishing patched catalogues: random sequences of campaign changes go
// through CatalogManager, and after every publish its snapshot must equal,
// field by field, a fresh auction::BuildCatalog of the same campaigns.
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attention/model.h"
#include "auction/catalog.h"
#include "gtest/gtest.h"
#include "server/catalog_manager.h"
#include "tests/testing/campaign_builder.h"

namespace attex::server {
namespace {

using attex::v1::Campaign;
using auction::Catalog;
using auction::CompiledCampaign;

void ExpectSameCampaign(const CompiledCampaign& a, const CompiledCampaign& b) {
  SCOPED_TRACE(a.id);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.advertiser_id, b.advertiser_id);
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.bid_cpm_micros, b.bid_cpm_micros);
  EXPECT_EQ(a.start_s, b.start_s);
  EXPECT_EQ(a.end_s, b.end_s);
  EXPECT_EQ(a.countries, b.countries);
  EXPECT_EQ(a.device_types, b.device_types);
  EXPECT_EQ(a.include_features, b.include_features);
  EXPECT_EQ(a.exclude_features, b.exclude_features);
  EXPECT_EQ(a.hours_mask, b.hours_mask);
  EXPECT_EQ(a.pace_even, b.pace_even);
  EXPECT_EQ(a.frequency_cap, b.frequency_cap);
  EXPECT_EQ(a.frequency_period_ms, b.frequency_period_ms);
  EXPECT_EQ(a.frequency_key, b.frequency_key);
  EXPECT_EQ(a.budget.get(), b.budget.get());
  EXPECT_EQ(a.adomain, b.adomain);
  EXPECT_EQ(a.domains, b.domains);
  ASSERT_EQ(a.creatives.size(), b.creatives.size());
  for (size_t j = 0; j < a.creatives.size(); ++j) {
    EXPECT_EQ(a.creatives[j].id, b.creatives[j].id);
    EXPECT_EQ(a.creatives[j].format, b.creatives[j].format);
    EXPECT_EQ(a.creatives[j].category, b.creatives[j].category);
    EXPECT_EQ(a.creatives[j].categories, b.creatives[j].categories);
    EXPECT_EQ(a.creatives[j].w, b.creatives[j].w);
    EXPECT_EQ(a.creatives[j].h, b.creatives[j].h);
    EXPECT_EQ(a.creatives[j].mime, b.creatives[j].mime);
    EXPECT_EQ(a.creatives[j].duration_s, b.creatives[j].duration_s);
    EXPECT_EQ(a.creatives[j].markup, b.creatives[j].markup);
    EXPECT_EQ(a.creatives[j].key, b.creatives[j].key);
  }
}

void ExpectSameCatalog(const Catalog& got, const Catalog& want) {
  EXPECT_EQ(got.model.get(), want.model.get());
  ASSERT_EQ(got.campaigns.size(), want.campaigns.size());
  for (size_t c = 0; c < got.campaigns.size(); ++c) {
    ExpectSameCampaign(*got.campaigns[c], *want.campaigns[c]);
  }
  EXPECT_TRUE(got.ads == want.ads);
  EXPECT_TRUE(got.values == want.values);
  EXPECT_TRUE(got.ad_format == want.ad_format);
  EXPECT_TRUE(got.ad_shape == want.ad_shape);
  EXPECT_TRUE(got.ad_category == want.ad_category);
  EXPECT_TRUE(got.ad_runs == want.ad_runs);
  EXPECT_EQ(got.formats, want.formats);
  EXPECT_EQ(got.shapes, want.shapes);
  EXPECT_EQ(got.mimes, want.mimes);
  EXPECT_EQ(got.category_sets, want.category_sets);
  EXPECT_EQ(got.category_set_count, want.category_set_count);
  EXPECT_TRUE(got.campaign_row_begin == want.campaign_row_begin);
  EXPECT_TRUE(got.campaign_rows == want.campaign_rows);
  EXPECT_EQ(got.active_campaigns, want.active_campaigns);
  EXPECT_EQ(got.active_ads, want.active_ads);
  EXPECT_TRUE(got.index.entries == want.index.entries);
  EXPECT_TRUE(got.index.words == want.index.words);
  EXPECT_EQ(got.format_rows, want.format_rows);
  EXPECT_EQ(*got.index.countries, *want.index.countries);
  EXPECT_EQ(*got.index.device_types, *want.index.device_types);
  EXPECT_EQ(*got.index.include_features, *want.index.include_features);
  EXPECT_EQ(*got.index.exclude_features, *want.index.exclude_features);
  EXPECT_EQ(*got.index.advertisers, *want.index.advertisers);
  EXPECT_EQ(*got.index.domains, *want.index.domains);
  const attention::TiledKeys& a = got.tiled_keys;
  const attention::TiledKeys& b = want.tiled_keys;
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.d_model(), b.d_model());
  EXPECT_EQ(a.heads(), b.heads());
  EXPECT_EQ(a.format(), b.format());
  EXPECT_EQ(a.bias_offset(), b.bias_offset());
  ASSERT_EQ(a.tile_bytes(), b.tile_bytes());
  ASSERT_EQ(a.tiles(), b.tiles());
  if (a.tiles() > 0) {
    EXPECT_EQ(std::memcmp(a.tile(0), b.tile(0), a.tiles() * a.tile_bytes()), 0);
  }
  EXPECT_EQ(std::vector<float>(a.head_norm_max().begin(), a.head_norm_max().end()),
            std::vector<float>(b.head_norm_max().begin(), b.head_norm_max().end()));
  EXPECT_EQ(std::vector<float>(a.head_bias_max().begin(), a.head_bias_max().end()),
            std::vector<float>(b.head_bias_max().begin(), b.head_bias_max().end()));
}

// The campaigns a test holds, and the random changes it makes to them.
class World {
 public:
  explicit World(uint32_t seed) : rng_(seed) {}

  Campaign NewCampaign() {
    const std::string id = absl::StrCat("cmp-", ++last_id_);
    attex::testing::CampaignBuilder b;
    b.Id(id)
        .Advertiser(Pick({"acc-1", "acc-2", "acc-3"}))
        .Name(id)
        .Status(attex::v1::CAMPAIGN_STATUS_ACTIVE)
        .BidCpm(Bid())
        .TotalBudget(100'000'000)
        .Version(1);
    const int creatives = Uniform(1, 3);
    for (int j = 0; j < creatives; ++j) {
      b.Creative(Pick({"banner", "native", "video"}))
          .CreativeId(absl::StrCat("cr-", j + 1))
          .Category(Pick({"", "sports", "food", "travel"}))
          .Features({Pick({"kw:a", "kw:b", "kw:c", "kw:d"}), absl::StrCat("kw:", id, "-", j)})
          .Markup(absl::StrCat("<a>", id, "</a>"));
      if (Uniform(0, 1)) b.Size(Uniform(0, 1) ? 300 : 728, Uniform(0, 1) ? 250 : 90);
      if (Uniform(0, 2) == 0)
        b.Mime(Pick({"video/mp4", "video/webm"})).DurationS(Uniform(0, 3) * 15);
      if (Uniform(0, 2) == 0) b.MoreCategories({Pick({"IAB1", "IAB2", "sports"})});
    }
    Campaign c = b.Build();
    Retarget(c);
    return c;
  }

  // One change to `c`. Sets *patchable to whether CatalogManager may patch
  // it (its creatives' rows stay).
  void Change(Campaign& c, bool* patchable) {
    *patchable = true;
    c.set_version(c.version() + 1);
    switch (Uniform(0, 11)) {
      case 0:
      case 1:
      case 2:
        c.set_bid_cpm_micros(Bid());
        break;
      case 3:
        c.set_status(c.status() == attex::v1::CAMPAIGN_STATUS_ACTIVE
                         ? attex::v1::CAMPAIGN_STATUS_PAUSED
                         : attex::v1::CAMPAIGN_STATUS_ACTIVE);
        break;
      case 4:
      case 5:
        Retarget(c);
        break;
      case 6:
        c.mutable_budget()->set_daily_micros(Uniform(0, 3) * 1'000'000);
        c.mutable_budget()->set_total_micros(Uniform(1, 9) * 10'000'000);
        c.set_pacing(Uniform(0, 1) ? attex::v1::PACING_EVEN : attex::v1::PACING_ASAP);
        break;
      case 7:
        c.mutable_schedule()->set_start(Uniform(0, 1) * 1'700'000'000);
        c.mutable_schedule()->set_end(Uniform(0, 1) * 1'800'000'000);
        c.mutable_frequency_cap()->set_impressions(Uniform(0, 3));
        c.mutable_frequency_cap()->set_period_s(Uniform(0, 2) * 3600);
        break;
      case 8: {
        auto* cr = c.mutable_creatives(Uniform(0, c.creatives_size() - 1));
        cr->set_markup(absl::StrCat("<b>", Uniform(0, 1000), "</b>"));
        cr->set_id(absl::StrCat("cr-x", Uniform(0, 1000)));
        break;
      }
      case 9: {  // A creative's key changes: rebuilt.
        auto* cr = c.mutable_creatives(Uniform(0, c.creatives_size() - 1));
        cr->add_features(absl::StrCat("kw:new-", Uniform(0, 1000)));
        *patchable = false;
        break;
      }
      case 10: {  // Its categories, size, MIME type or duration: rebuilt.
        auto* cr = c.mutable_creatives(Uniform(0, c.creatives_size() - 1));
        switch (Uniform(0, 3)) {
          case 0:
            cr->set_category(cr->category() == "music" ? "news" : "music");
            break;
          case 1:
            cr->add_categories(absl::StrCat("IAB", Uniform(3, 9)));
            break;
          case 2:
            cr->set_w(cr->w() == 300 ? 160 : 300);
            cr->set_h(600);
            break;
          default:
            cr->set_mime(cr->mime() == "video/mp4" ? "audio/mp4" : "video/mp4");
            cr->set_duration_s(cr->duration_s() + 5);
            break;
        }
        *patchable = false;
        break;
      }
      default: {  // One creative more: rebuilt.
        auto* cr = c.add_creatives();
        cr->set_id(absl::StrCat("cr-", c.creatives_size()));
        cr->set_format(Pick({"banner", "native", "audio"}));
        cr->add_features("kw:extra");
        *patchable = false;
        break;
      }
    }
  }

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

 private:
  int64_t Bid() { return Uniform(1, 90) * 100'000; }

  std::string Pick(std::initializer_list<const char*> options) {
    return *(options.begin() + Uniform(0, static_cast<int>(options.size()) - 1));
  }

  // New targeting, drawn from small pools so that campaigns share posting
  // lists (and now and then name a value twice).
  void Retarget(Campaign& c) {
    auto* t = c.mutable_targeting();
    t->Clear();
    for (int k = Uniform(0, 2); k > 0; --k) t->add_countries(Pick({"US", "CA", "DE"}));
    for (int k = Uniform(0, 1); k > 0; --k) t->add_device_types(Pick({"mobile", "desktop"}));
    for (int k = Uniform(0, 2); k > 0; --k) t->add_include_features(Pick({"kw:a", "kw:b", "x:1"}));
    for (int k = Uniform(0, 1); k > 0; --k) t->add_exclude_features(Pick({"kw:c", "x:2"}));
    for (int k = Uniform(0, 2); k > 0; --k) t->add_hours(Uniform(0, 23));
    c.clear_adomain();  // Posted as targeting is, and patched as it is.
    for (int k = Uniform(0, 2); k > 0; --k) c.add_adomain(Pick({"a.example", "B.example"}));
  }

  std::mt19937 rng_;
  int last_id_ = 0;
};

class CatalogPublishTest : public ::testing::TestWithParam<attention::KeyFormat> {};

TEST_P(CatalogPublishTest, EveryPublishedSnapshotEqualsAFreshBuildOfTheSameCampaigns) {
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    CatalogOptions options;
    options.key_format = GetParam();
    options.ann_min_ads = 0;
    const std::shared_ptr<const attention::Model> model = attention::Model::Default();
    CatalogManager manager(model, options);
    World world(seed);
    // Ordered as the manager orders them: by numeric id.
    std::map<std::pair<size_t, std::string>, Campaign> campaigns;
    auto upsert = [&](const Campaign& c) {
      campaigns[{c.id().size(), c.id()}] = c;
      manager.Upsert(c);
    };
    for (int i = 0; i < 12; ++i) upsert(world.NewCampaign());
    manager.Publish();

    int64_t patchable_publishes = 0;
    for (int step = 0; step < 60; ++step) {
      SCOPED_TRACE(absl::StrCat("step ", step));
      const auto before = manager.Current();
      const PublishCounts counts = manager.publish_counts();
      bool patchable = true;
      int upserts = 0;
      for (int k = world.Uniform(1, 4); k > 0; --k) {  // One batch of changes.
        const int op = world.Uniform(0, 19);
        if (op == 0) {
          upsert(world.NewCampaign());
          patchable = false;
          ++upserts;
          continue;
        }
        auto it = campaigns.begin();
        std::advance(it, world.Uniform(0, static_cast<int>(campaigns.size()) - 1));
        Campaign c = it->second;
        if (c.status() == attex::v1::CAMPAIGN_STATUS_ARCHIVED) continue;  // Final.
        if (op == 1) {
          c.set_status(attex::v1::CAMPAIGN_STATUS_ARCHIVED);
          c.set_version(c.version() + 1);
          patchable = false;
        } else {
          bool this_one = true;
          world.Change(c, &this_one);
          patchable &= this_one;
        }
        upsert(c);
        ++upserts;
      }
      manager.Publish();
      const auto got = manager.Current();
      std::vector<std::shared_ptr<const CompiledCampaign>> compiled;
      for (const auto& [key, c] : campaigns) {
        compiled.push_back(auction::CompileCampaign(c, *model, manager.Budget(c.id())));
      }
      const auto want = auction::BuildCatalog(model, std::move(compiled), GetParam());
      ExpectSameCatalog(*got, *want);
      const PublishCounts after = manager.publish_counts();
      if (upserts == 0) {  // Nothing changed (only archived ones were drawn): no publish.
        EXPECT_EQ(got.get(), before.get());
        EXPECT_EQ(after.builds + after.patches, counts.builds + counts.patches);
        continue;
      }
      EXPECT_EQ(after.builds + after.patches, counts.builds + counts.patches + 1);
      if (patchable) {
        // Patched, not rebuilt: the keys and ad layout are the last snapshot's.
        ++patchable_publishes;
        EXPECT_EQ(after.patches, counts.patches + 1);
        EXPECT_TRUE(got->tiled_keys.SharesTiles(before->tiled_keys));
        EXPECT_TRUE(got->ads.SharesWith(before->ads));
        EXPECT_TRUE(got->ad_format.SharesWith(before->ad_format));
        EXPECT_TRUE(got->campaign_rows.SharesWith(before->campaign_rows));
        EXPECT_TRUE(got->index.include_features == before->index.include_features ||
                    *got->index.include_features != *before->index.include_features);
      }
      if (::testing::Test::HasFailure()) return;
    }
    EXPECT_GT(patchable_publishes, 10);
    EXPECT_GT(manager.publish_counts().builds, 1);
  }
}

INSTANTIATE_TEST_SUITE_P(KeyFormats, CatalogPublishTest,
                         ::testing::Values(attention::KeyFormat::kFloat32,
                                           attention::KeyFormat::kInt8),
                         [](const auto& info) {
                           return std::string(attention::KeyFormatName(info.param));
                         });

TEST(CatalogPublishTest, ABidChangeCopiesItsChunkOfBidsAndSharesTheRest) {
  CatalogOptions options;
  options.ann_min_ads = 0;
  CatalogManager manager(attention::Model::Default(), options);
  World world(7);
  Campaign first = world.NewCampaign();
  manager.Upsert(first);
  // Enough ads (1 to 3 a campaign) for several chunks of bids.
  for (int i = 0; i < 2000; ++i) manager.Upsert(world.NewCampaign());
  manager.Publish();
  const auto before = manager.Current();
  const size_t chunks = before->values.chunks();
  ASSERT_GE(chunks, 3u);

  first.set_bid_cpm_micros(first.bid_cpm_micros() + 1);
  first.set_version(2);
  manager.Upsert(first);
  manager.Publish();
  const auto after = manager.Current();
  EXPECT_EQ(manager.publish_counts().patches, 1);
  std::set<size_t> changed;
  for (int32_t row : after->RowsOf(0)) {
    EXPECT_EQ(after->values[row], static_cast<float>(first.bid_cpm_micros()));
    EXPECT_EQ(before->values[row], static_cast<float>(first.bid_cpm_micros() - 1));
    changed.insert(static_cast<size_t>(row) >> auction::ChunkedArray<float>::kShift);
  }
  for (size_t k = 0; k < chunks; ++k) {
    EXPECT_EQ(after->values.SharesChunk(before->values, k), changed.count(k) == 0) << "chunk " << k;
    EXPECT_EQ(after->values.chunk_data()[k], after->values.chunk(k).data()) << "chunk " << k;
  }
  EXPECT_EQ(after->index.entries[0].bid_cpm_micros, first.bid_cpm_micros());
  EXPECT_EQ(after->index.countries.get(), before->index.countries.get());
  EXPECT_EQ(after->index.include_features.get(), before->index.include_features.get());
  // The previous snapshot is untouched.
  EXPECT_EQ(before->index.entries[0].bid_cpm_micros, first.bid_cpm_micros() - 1);
  EXPECT_EQ(before->campaigns[0]->version, 1);
}

TEST(CatalogPublishTest, ManyChangesBeforeOnePublishAreOnePatch) {
  CatalogOptions options;
  options.ann_min_ads = 0;
  CatalogManager manager(attention::Model::Default(), options);
  World world(8);
  std::vector<Campaign> campaigns;
  for (int i = 0; i < 20; ++i) {
    campaigns.push_back(world.NewCampaign());
    manager.Upsert(campaigns.back());
  }
  manager.Publish();
  const PublishCounts before = manager.publish_counts();
  for (int round = 0; round < 3; ++round) {  // The same campaign twice, too.
    for (auto& c : campaigns) {
      c.set_bid_cpm_micros(c.bid_cpm_micros() + 1000);
      c.set_version(c.version() + 1);
      manager.Upsert(c);
    }
  }
  manager.Publish();
  const PublishCounts after = manager.publish_counts();
  EXPECT_EQ(after.patches, before.patches + 1);
  EXPECT_EQ(after.builds, before.builds);
  const auto snapshot = manager.Current();
  for (size_t i = 0; i < campaigns.size(); ++i) {
    EXPECT_EQ(snapshot->campaigns[i]->bid_cpm_micros, campaigns[i].bid_cpm_micros());
  }
}

}  // namespace
}  // namespace attex::server
