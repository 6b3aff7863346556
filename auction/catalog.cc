#include "auction/catalog.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "absl/strings/str_join.h"
#include "attention/check.h"

namespace attex::auction {

const std::shared_ptr<const CampaignIndex::Postings>& CampaignIndex::NoPostings() {
  static const auto* const empty =
      new std::shared_ptr<const Postings>(std::make_shared<Postings>());
  return *empty;
}

std::shared_ptr<const attention::AnnIndex> AnnSlot::shared() const {
  absl::MutexLock lock(&mu_);
  return owner_;
}

bool AnnSlot::Set(std::shared_ptr<const attention::AnnIndex> index) {
  absl::MutexLock lock(&mu_);
  if (index == nullptr || owner_ != nullptr) return false;
  owner_ = std::move(index);
  // Release: a reader that sees the pointer sees the finished graph.
  index_.store(owner_.get(), std::memory_order_release);
  return true;
}

CampaignIndex::RuleWord CampaignIndex::RuleWordOf(const ChunkedArray<Entry>& entries, size_t w) {
  RuleWord word;
  const size_t begin = w * 64;
  const size_t end = std::min(entries.size(), begin + 64);
  for (size_t c = begin; c < end; ++c) {
    const Entry& e = entries[c];
    const uint64_t bit = uint64_t{1} << (c - begin);
    auto set = [&](uint64_t& bits, bool on) {
      if (on) bits |= bit;
    };
    set(word.active, e.flags & kActive);
    set(word.countries, e.flags & kCountries);
    set(word.devices, e.flags & kDevices);
    set(word.include, e.flags & kInclude);
    set(word.exclude, e.flags & kExclude);
    set(word.timed, e.start_s != 0 || e.end_s != 0 || e.hours_mask != 0);
    word.creatives = c == begin || word.creatives == e.creatives ? e.creatives : -1;
  }
  return word;
}

namespace {

using Postings = CampaignIndex::Postings;

CampaignIndex::Entry IndexEntry(const CompiledCampaign& c) {
  CampaignIndex::Entry e;
  e.bid_cpm_micros = c.bid_cpm_micros;
  e.start_s = c.start_s;
  e.end_s = c.end_s;
  e.budget = c.budget.get();
  e.hours_mask = c.hours_mask;
  e.creatives = static_cast<int32_t>(c.creatives.size());
  auto flag = [&](bool on, CampaignIndex::Flag f) {
    if (on) e.flags |= f;
  };
  flag(c.status == attex::v1::CAMPAIGN_STATUS_ACTIVE, CampaignIndex::kActive);
  flag(!c.countries.empty(), CampaignIndex::kCountries);
  flag(!c.device_types.empty(), CampaignIndex::kDevices);
  flag(!c.include_features.empty(), CampaignIndex::kInclude);
  flag(!c.exclude_features.empty(), CampaignIndex::kExclude);
  flag(c.pace_even, CampaignIndex::kPaceEven);
  flag(c.frequency_cap > 0, CampaignIndex::kFrequencyCap);
  return e;
}

// Every word of the rules of `entries`.
ChunkedArray<CampaignIndex::RuleWord> RuleWords(const ChunkedArray<CampaignIndex::Entry>& entries) {
  std::vector<CampaignIndex::RuleWord> words((entries.size() + 63) / 64);
  for (size_t w = 0; w < words.size(); ++w) words[w] = CampaignIndex::RuleWordOf(entries, w);
  return ChunkedArray<CampaignIndex::RuleWord>(std::move(words));
}

// The six targeting lists of a campaign, in CampaignIndex's order of maps.
constexpr int kPostingKinds = 6;

std::shared_ptr<const Postings> CampaignIndex::*const kPostingMaps[kPostingKinds] = {
    &CampaignIndex::countries,        &CampaignIndex::device_types,
    &CampaignIndex::include_features, &CampaignIndex::exclude_features,
    &CampaignIndex::advertisers,      &CampaignIndex::domains};

// Calls fn(kind, value) for every targeting value `c` posts.
template <typename Fn>
void ForEachPosted(const CompiledCampaign& c, Fn fn) {
  for (const auto& v : c.countries) fn(0, v);
  for (const auto& v : c.device_types) fn(1, v);
  for (const auto& v : c.include_features) fn(2, v);
  for (const auto& v : c.exclude_features) fn(3, v);
  fn(4, c.advertiser_id);
  for (const auto& v : c.domains) fn(5, v);
}

bool SamePosted(const CompiledCampaign& a, const CompiledCampaign& b, int kind) {
  switch (kind) {
    case 0:
      return a.countries == b.countries;
    case 1:
      return a.device_types == b.device_types;
    case 2:
      return a.include_features == b.include_features;
    case 3:
      return a.exclude_features == b.exclude_features;
    case 4:
      return a.advertiser_id == b.advertiser_id;
    default:
      return a.domains == b.domains;
  }
}

// A creative's category set as one string: its non-empty categories,
// sorted, each once, joined by a separator validation refuses in them.
std::string CategorySetKey(const CompiledCreative& creative, std::vector<std::string>* members) {
  members->clear();
  if (!creative.category.empty()) members->push_back(creative.category);
  for (const auto& c : creative.categories) members->push_back(c);
  std::sort(members->begin(), members->end());
  members->erase(std::unique(members->begin(), members->end()), members->end());
  return absl::StrJoin(*members, "\x1f");
}

bool SameRow(const CompiledCreative& a, const CompiledCreative& b) {
  return a.format == b.format && a.category == b.category && a.categories == b.categories &&
         a.w == b.w && a.h == b.h && a.mime == b.mime && a.duration_s == b.duration_s &&
         a.key == b.key;
}

// Per ad and head, the format's part of every score the ad gets: (W_Q f)_h
// . k_h / sqrt(d_head) for its creative's format f and its key k as stored
// in `key_format`, so that a slot's score is the request's part plus this.
class HeadBiases final {
 public:
  HeadBiases(const attention::Model& model, const std::vector<std::string>& formats,
             attention::KeyFormat key_format)
      : d_(model.d_model()),
        heads_(model.heads()),
        dh_(model.d_head()),
        scale_(1.0 / std::sqrt(static_cast<double>(dh_))),
        key_format_(key_format),
        format_queries_(formats.size() * d_),
        stored_(d_) {
    for (size_t f = 0; f < formats.size(); ++f) {
      model.FormatQuery(formats[f], absl::MakeSpan(format_queries_.data() + f * d_, d_));
    }
  }

  void Of(absl::Span<const float> key, uint16_t format, absl::Span<float> bias) {
    attention::TiledKeys::AsStored(key_format_, key, absl::MakeSpan(stored_));
    const float* q = format_queries_.data() + static_cast<size_t>(format) * d_;
    for (int h = 0; h < heads_; ++h) {
      double dot = 0.0;
      for (int j = h * dh_; j < (h + 1) * dh_; ++j) dot += static_cast<double>(q[j]) * stored_[j];
      bias[h] = static_cast<float>(dot * scale_);
    }
  }

 private:
  const int d_, heads_, dh_;
  const double scale_;
  const attention::KeyFormat key_format_;
  std::vector<float> format_queries_;
  std::vector<float> stored_;
};

// The rows as runs of one campaign within one format (Catalog::ad_runs).
std::vector<AdRun> AdRuns(const Catalog& catalog) {
  std::vector<AdRun> runs;
  const auto rows = static_cast<int32_t>(catalog.ads.size());
  for (size_t f = 0; f + 1 < catalog.format_rows.size(); ++f) {
    const auto end = static_cast<int32_t>(catalog.format_rows[f + 1]);
    for (auto row = static_cast<int32_t>(catalog.format_rows[f]); row < end; ++row) {
      const int32_t campaign = catalog.ads[row].campaign;
      const int32_t shape = catalog.ad_shape[row];
      const int32_t category = catalog.ad_category[row];
      if (runs.empty() || runs.back().begin < catalog.format_rows[f] ||
          runs.back().campaign != campaign) {
        runs.push_back({row, campaign, shape, category});
        continue;
      }
      if (runs.back().shape != shape) runs.back().shape = -1;
      if (runs.back().category != category) runs.back().category = -1;
    }
  }
  runs.push_back({rows, 0, -1, -1});
  return runs;
}

}  // namespace

std::shared_ptr<const Catalog> BuildCatalog(
    std::shared_ptr<const attention::Model> model,
    std::vector<std::shared_ptr<const CompiledCampaign>> campaigns,
    attention::KeyFormat key_format) {
  auto catalog = std::make_shared<Catalog>();
  const int d = model->d_model();
  const int heads = model->heads();
  catalog->model = std::move(model);
  // Ads are laid out by format (then campaign, then creative), so that a
  // tile of 16 ads is mostly of one format: the pass skips whole tiles of
  // formats a request does not ask for, and a slot's tiles hold only its
  // format's ads.
  absl::flat_hash_map<std::string, uint16_t> format_ids;
  std::vector<std::vector<AdRef>> by_format;
  Postings postings[kPostingKinds];
  std::vector<int32_t> row_begin{0};
  std::vector<std::shared_ptr<const CompiledCampaign>> kept;  // Not archived.
  std::vector<CampaignIndex::Entry> entries;
  for (auto& campaign : campaigns) {
    if (campaign->status == attex::v1::CAMPAIGN_STATUS_ARCHIVED) continue;
    const auto index = static_cast<int32_t>(kept.size());
    const bool active = campaign->status == attex::v1::CAMPAIGN_STATUS_ACTIVE;
    catalog->active_campaigns += active;
    catalog->active_ads += active ? static_cast<int64_t>(campaign->creatives.size()) : 0;
    for (size_t i = 0; i < campaign->creatives.size(); ++i) {
      const auto& creative = campaign->creatives[i];
      auto [format, new_format] =
          format_ids.try_emplace(creative.format, static_cast<uint16_t>(catalog->formats.size()));
      if (new_format) {
        if (catalog->formats.size() > std::numeric_limits<uint16_t>::max()) std::abort();
        catalog->formats.push_back(creative.format);
        by_format.emplace_back();
      }
      by_format[format->second].push_back({index, static_cast<int32_t>(i)});
    }
    row_begin.push_back(row_begin.back() + static_cast<int32_t>(campaign->creatives.size()));
    entries.push_back(IndexEntry(*campaign));
    // A value named twice by one campaign is posted once.
    ForEachPosted(*campaign, [&](int kind, const std::string& value) {
      auto& list = postings[kind][value];
      if (list.empty() || list.back() != index) list.push_back(index);
    });
    kept.push_back(std::move(campaign));
  }
  catalog->index.entries = ChunkedArray<CampaignIndex::Entry>(std::move(entries));
  catalog->index.words = RuleWords(catalog->index.entries);
  for (int kind = 0; kind < kPostingKinds; ++kind) {
    catalog->index.*kPostingMaps[kind] =
        std::make_shared<const Postings>(std::move(postings[kind]));
  }
  std::vector<AdRef> ads;
  std::vector<float> values;
  std::vector<uint16_t> ad_format;
  std::vector<int32_t> ad_shape;
  std::vector<int32_t> ad_category;
  std::vector<int32_t> campaign_rows(row_begin.back());
  absl::flat_hash_map<std::string, int32_t> mime_ids;
  absl::flat_hash_map<AdShape, int32_t> shape_ids;
  absl::flat_hash_map<std::string, int32_t> set_ids;
  std::vector<std::string> members;
  for (size_t f = 0; f < by_format.size(); ++f) {
    catalog->format_rows.push_back(catalog->format_rows.back() +
                                   static_cast<int64_t>(by_format[f].size()));
    for (const AdRef& ad : by_format[f]) {
      const CompiledCampaign& campaign = *kept[ad.campaign];
      const CompiledCreative& creative = campaign.creatives[ad.creative];
      campaign_rows[row_begin[ad.campaign] + ad.creative] = static_cast<int32_t>(ads.size());
      ads.push_back(ad);
      values.push_back(static_cast<float>(campaign.bid_cpm_micros));
      ad_format.push_back(static_cast<uint16_t>(f));
      AdShape shape{static_cast<uint16_t>(f), creative.w, creative.h, -1, creative.duration_s};
      if (!creative.mime.empty()) {
        auto [mime, new_mime] =
            mime_ids.try_emplace(creative.mime, static_cast<int32_t>(catalog->mimes.size()));
        if (new_mime) catalog->mimes.push_back(creative.mime);
        shape.mime = mime->second;
      }
      auto [known, new_shape] =
          shape_ids.try_emplace(shape, static_cast<int32_t>(catalog->shapes.size()));
      if (new_shape) catalog->shapes.push_back(shape);
      ad_shape.push_back(known->second);
      auto [set, new_set] =
          set_ids.try_emplace(CategorySetKey(creative, &members), catalog->category_set_count);
      if (new_set) {
        for (const auto& m : members) catalog->category_sets[m].push_back(set->second);
        ++catalog->category_set_count;
      }
      ad_category.push_back(set->second);
    }
  }
  catalog->campaigns = ChunkedArray<std::shared_ptr<const CompiledCampaign>>(std::move(kept));
  catalog->ads = SharedArray<AdRef>(std::move(ads));
  catalog->values = ChunkedArray<float>(std::move(values));
  catalog->ad_format = SharedArray<uint16_t>(std::move(ad_format));
  catalog->ad_shape = SharedArray<int32_t>(std::move(ad_shape));
  catalog->ad_category = SharedArray<int32_t>(std::move(ad_category));
  catalog->ad_runs = SharedArray<AdRun>(AdRuns(*catalog));
  catalog->campaign_row_begin = SharedArray<int32_t>(std::move(row_begin));
  catalog->campaign_rows = SharedArray<int32_t>(std::move(campaign_rows));
  HeadBiases biases(*catalog->model, catalog->formats, key_format);
  const Catalog& c = *catalog;
  catalog->tiled_keys = attention::TiledKeys(
      static_cast<int64_t>(c.ads.size()), d, heads, key_format, /*has_head_bias=*/true,
      [&](int64_t row, absl::Span<float> key, absl::Span<float> bias) {
        const absl::Span<const float> k = c.Key(row);
        std::copy_n(k.begin(), d, key.begin());
        biases.Of(k.subspan(0, d), c.ad_format[row], bias);
      });
  return catalog;
}

bool Patchable(const Catalog& catalog, int32_t index, const CompiledCampaign& next) {
  if (next.status == attex::v1::CAMPAIGN_STATUS_ARCHIVED) return false;
  const CompiledCampaign& now = *catalog.campaigns[index];
  if (now.creatives.size() != next.creatives.size()) return false;
  for (size_t j = 0; j < now.creatives.size(); ++j) {
    if (!SameRow(now.creatives[j], next.creatives[j])) return false;
  }
  return true;
}

std::shared_ptr<const Catalog> PatchCatalog(
    const Catalog& previous,
    absl::Span<const std::pair<int32_t, std::shared_ptr<const CompiledCampaign>>> changes) {
  auto next = std::make_shared<Catalog>(previous);
  std::shared_ptr<Postings> writable[kPostingKinds];  // Copied once a list changes.
  for (const auto& [c, campaign] : changes) {
    ATTEX_CHECK(c >= 0 && static_cast<size_t>(c) < next->campaigns.size() &&
                Patchable(*next, c, *campaign));
    const CompiledCampaign& old = *next->campaigns[c];
    const auto creatives = static_cast<int64_t>(campaign->creatives.size());
    const bool was_active = old.status == attex::v1::CAMPAIGN_STATUS_ACTIVE;
    const bool active = campaign->status == attex::v1::CAMPAIGN_STATUS_ACTIVE;
    next->active_campaigns += active - was_active;
    next->active_ads += (active - was_active) * creatives;
    if (old.bid_cpm_micros != campaign->bid_cpm_micros) {
      for (int32_t row : next->RowsOf(c)) {
        next->values.Mutable(row) = static_cast<float>(campaign->bid_cpm_micros);
      }
    }
    for (int kind = 0; kind < kPostingKinds; ++kind) {
      if (SamePosted(old, *campaign, kind)) continue;
      auto& map = writable[kind];
      if (map == nullptr) {
        map = std::make_shared<Postings>(*(next->index.*kPostingMaps[kind]));
        next->index.*kPostingMaps[kind] = map;
      }
      // Out of the lists of every value it named, into those it names now,
      // each ascending and once, as BuildCatalog posts them; a list left
      // empty goes, as BuildCatalog would not have made it.
      ForEachPosted(old, [&, c = c](int k, const std::string& value) {
        if (k != kind) return;
        auto it = map->find(value);
        if (it == map->end()) return;
        auto& list = it->second;
        auto pos = std::lower_bound(list.begin(), list.end(), c);
        if (pos != list.end() && *pos == c) list.erase(pos);
        if (list.empty()) map->erase(it);
      });
      ForEachPosted(*campaign, [&, c = c](int k, const std::string& value) {
        if (k != kind) return;
        auto& list = (*map)[value];
        auto pos = std::lower_bound(list.begin(), list.end(), c);
        if (pos == list.end() || *pos != c) list.insert(pos, c);
      });
    }
    next->index.entries.Mutable(c) = IndexEntry(*campaign);
    next->index.words.Mutable(c / 64) = CampaignIndex::RuleWordOf(next->index.entries, c / 64);
    next->campaigns.Mutable(c) = campaign;
  }
  return next;
}

absl::StatusOr<std::unique_ptr<attention::AnnIndex>> BuildAnnIndex(
    const Catalog& catalog, const attention::AnnOptions& options,
    const attention::AnnProgress& progress) {
  const int d = catalog.model->d_model();
  const size_t rows = catalog.ads.size();
  std::vector<float> augmented(rows * (d + 1));
  for (size_t i = 0; i < rows; ++i) {
    std::copy_n(catalog.Key(static_cast<int64_t>(i)).data(), d, augmented.data() + i * (d + 1));
    // Relative to 1 CPM, so that the column stays near the keys' scale and
    // the graph's neighbourhoods are still chosen by the keys.
    const double bid = std::max<double>(catalog.values[i], 1.0);
    augmented[i * (d + 1) + d] = static_cast<float>(std::log(bid / 1e6));
  }
  return attention::AnnIndex::Build(augmented, static_cast<int64_t>(rows), d + 1, options,
                                    progress);
}

}  // namespace attex::auction
