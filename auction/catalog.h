// The catalogue the bid path reads: every live campaign compiled for fast
// eligibility checks, and every creative's key, built when campaigns change.
// A Catalog is immutable; writers build a new one and swap the pointer.
// Versions share what did not change between them: the tiled keys, the
// per-ad layout and the posting lists are held through shared pointers, so
// that a new version in which only campaigns' bids, status, budgets or
// targeting changed (PatchCatalog) costs those campaigns and a copy of the
// per-campaign arrays, not the keys.
#ifndef ATTEX_AUCTION_CATALOG_H_
#define ATTEX_AUCTION_CATALOG_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "attention/ann.h"
#include "attention/model.h"
#include "attention/tiled_keys.h"
#include "attex/v1/campaign.pb.h"
#include "auction/budget.h"
#include "auction/compiled_campaign.h"
#include "auction/shared_arrays.h"

namespace attex::auction {

// One ad: a creative of a campaign.
struct AdRef {
  int32_t campaign = 0;  // Index into Catalog::campaigns.
  int32_t creative = 0;  // Index into that campaign's creatives.
  friend bool operator==(const AdRef&, const AdRef&) = default;
};

// A run of consecutive rows of one campaign and one format (a campaign's
// creatives of a format sit side by side): the per-request ad mask reads a
// campaign's eligibility once a run, and fills a run of one shape and one
// category set without reading its rows.
struct AdRun {
  int32_t begin = 0;      // Its first row; it ends where the next run begins.
  int32_t campaign = 0;   // Index into Catalog::campaigns.
  int32_t shape = -1;     // The shape of every row of the run; -1: they differ.
  int32_t category = -1;  // The category set of every row; -1: they differ.
  friend bool operator==(const AdRun&, const AdRun&) = default;
};

// The campaigns' eligibility rules laid out for one sequential pass per
// request: a dense entry per campaign, and for each targeting value the
// campaigns that name it (posting lists), so that a request's strings are
// each looked up once instead of compared with every campaign's.
struct CampaignIndex {
  enum Flag : uint8_t {
    kActive = 1,
    kCountries = 2,  // Targets countries: eligible only in those named.
    kDevices = 4,
    kInclude = 8,   // Needs one of its include features.
    kExclude = 16,  // Has exclude features.
    kPaceEven = 32,
    kFrequencyCap = 64,
  };
  struct Entry {  // One campaign, in Catalog::campaigns order.
    int64_t bid_cpm_micros = 0;
    int64_t start_s = 0;
    int64_t end_s = 0;
    // Owned by the CompiledCampaign. Its limits and counters share one
    // cache line, which LateChecks reads for the campaigns that could win.
    BudgetState* budget = nullptr;
    uint32_t hours_mask = 0;
    int32_t creatives = 0;
    uint8_t flags = 0;
    friend bool operator==(const Entry&, const Entry&) = default;
  };
  // The rules again as bitsets, 64 campaigns a word (campaign c is bit c %
  // 64 of word c / 64), so that a request combines them with what its
  // strings select a word at a time (CampaignEligibility).
  struct RuleWord {
    uint64_t active = 0;     // kActive.
    uint64_t countries = 0;  // kCountries; and so on.
    uint64_t devices = 0;
    uint64_t include = 0;
    uint64_t exclude = 0;
    uint64_t timed = 0;  // A schedule or hours: checked one campaign at a time.
    // How many creatives each campaign of the word has, when they all have
    // as many; -1 when they differ.
    int32_t creatives = 0;
    friend bool operator==(const RuleWord&, const RuleWord&) = default;
  };
  // Word w of the rules of `entries` (RuleWords).
  static RuleWord RuleWordOf(const ChunkedArray<Entry>& entries, size_t w);
  // Value -> the campaigns (indices, ascending, each once) that name it.
  using Postings = absl::flat_hash_map<std::string, std::vector<int32_t>>;

  // One shared empty map: what an index without campaigns posts.
  static const std::shared_ptr<const Postings>& NoPostings();

  ChunkedArray<Entry> entries;
  ChunkedArray<RuleWord> words;  // (entries.size() + 63) / 64: RuleWordOf each.
  // Shared between catalogue versions until a campaign's targeting changes;
  // never null.
  std::shared_ptr<const Postings> countries = NoPostings();  // Country -> its campaigns.
  std::shared_ptr<const Postings> device_types = NoPostings();
  std::shared_ptr<const Postings> include_features = NoPostings();  // Feature -> its campaigns.
  std::shared_ptr<const Postings> exclude_features = NoPostings();
  std::shared_ptr<const Postings> advertisers = NoPostings();  // Advertiser id -> its campaigns.
  std::shared_ptr<const Postings> domains = NoPostings();  // Lower-case adomain -> its campaigns.
};

// What a slot's eligibility compares of a creative besides its category:
// its format, size, MIME type and duration. The catalogue keeps each
// distinct one once, so that a request compares its slots with these few
// instead of with every ad.
struct AdShape {
  uint16_t format = 0;  // Index into Catalog::formats.
  int32_t w = 0;        // 0 x 0: no size.
  int32_t h = 0;
  int32_t mime = -1;  // Index into Catalog::mimes; -1: none.
  int32_t duration_s = 0;
  friend bool operator==(const AdShape&, const AdShape&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const AdShape& s) {
    return H::combine(std::move(h), s.format, s.w, s.h, s.mime, s.duration_s);
  }
};

// The ANN index of one catalogue's keys, attached when a background build
// finishes (server/catalog_manager.h). Set at most once; read by the bid
// path with one atomic load, no lock. Thread-safe.
class AnnSlot final {
 public:
  AnnSlot() = default;
  // A copy starts empty: a copied catalogue is a new version, whose index
  // CatalogManager shares or builds (an index belongs to one version's
  // rows and bids).
  AnnSlot(const AnnSlot&) {}
  AnnSlot& operator=(const AnnSlot&) = delete;

  // The index, or null until one is attached. Lives as long as the slot.
  const attention::AnnIndex* get() const { return index_.load(std::memory_order_acquire); }
  // The owning pointer (null until attached), to share the index with a
  // later catalogue of the same keys and bids.
  std::shared_ptr<const attention::AnnIndex> shared() const;
  // Attaches `index` unless one is attached already; false then (or for
  // null). The caller guarantees it was built by BuildAnnIndex from this
  // catalogue's keys and bids (RunAuction ignores an index of other rows).
  bool Set(std::shared_ptr<const attention::AnnIndex> index);

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const attention::AnnIndex> owner_ ABSL_GUARDED_BY(mu_);
  std::atomic<const attention::AnnIndex*> index_{nullptr};
};

struct Catalog {
  std::shared_ptr<const attention::Model> model;
  // Chunked: a new version copies the chunks of the campaigns it changes.
  ChunkedArray<std::shared_ptr<const CompiledCampaign>> campaigns;
  // Every ad (row), grouped by its creative's format: see BuildCatalog.
  SharedArray<AdRef> ads;
  // Per ad: its bid, CPM micros. Chunked: a bid change copies the chunks
  // of its rows, not every ad's bid.
  ChunkedArray<float> values;
  // The keys in the attention kernels' tiled layout and storage format,
  // with each ad's head bias: its creative format's query term (see
  // attention::Model::SlotQuery), so that one query per request serves
  // every slot. What the auction decides with and Explain reports. The
  // keys as computed (float32) are the creatives' (Key).
  attention::TiledKeys tiled_keys;
  // Per ad: its creative's format, shape and categories as small ids, so
  // that the per-request masks are built without comparing strings.
  SharedArray<uint16_t> ad_format;   // Index into formats.
  SharedArray<int32_t> ad_shape;     // Index into shapes.
  SharedArray<int32_t> ad_category;  // Its category set: one of category_set_count.
  // The rows as runs of one campaign and format (AdRun), in row order, and
  // one more entry, {ads.size(), 0, -1, -1}, that ends the last.
  SharedArray<AdRun> ad_runs;
  std::vector<std::string> formats;
  // Rows of format f: [format_rows[f], format_rows[f + 1]) (the rows are
  // grouped by format); formats.size() + 1 entries.
  std::vector<int64_t> format_rows{0};
  std::vector<AdShape> shapes;     // Distinct, in order of first appearance.
  std::vector<std::string> mimes;  // Distinct creative MIME types.
  // A creative's category set is its category and categories (non-empty,
  // each once); the sets are numbered 0 .. category_set_count - 1, and
  // each category maps to the sets (ascending) that hold it.
  absl::flat_hash_map<std::string, std::vector<int32_t>> category_sets;
  int32_t category_set_count = 0;
  // Campaign c's rows, creative by creative: campaign_rows[campaign_row_begin[c] + j]
  // is the row of its creative j (RowsOf).
  SharedArray<int32_t> campaign_row_begin;  // campaigns.size() + 1 entries.
  SharedArray<int32_t> campaign_rows;       // ads.size() entries.
  int64_t active_campaigns = 0;
  int64_t active_ads = 0;
  CampaignIndex index;
  // Candidate retrieval over the keys and bids (BuildAnnIndex), once built;
  // the auction uses it when present. Mutable: the one part of a published catalogue that changes,
  // from null to an index, once.
  mutable AnnSlot ann;

  // The rows of campaign `c`'s creatives, in creative order.
  absl::Span<const int32_t> RowsOf(int32_t c) const {
    const int32_t begin = campaign_row_begin[c];
    return absl::MakeConstSpan(campaign_rows.data() + begin, campaign_row_begin[c + 1] - begin);
  }
  // The key of `row` as the model computed it (float32, d_model floats).
  absl::Span<const float> Key(int64_t row) const {
    const AdRef ad = ads[row];
    return campaigns[ad.campaign]->creatives[ad.creative].key;
  }
};

// Lays out the campaigns' keys side by side (tiled in `key_format`),
// grouped by format: the rows of format 0 (the first seen), then format
// 1's, each in campaign and creative order. Archived campaigns are left
// out. Aborts beyond 65,535 distinct creative formats.
std::shared_ptr<const Catalog> BuildCatalog(
    std::shared_ptr<const attention::Model> model,
    std::vector<std::shared_ptr<const CompiledCampaign>> campaigns,
    attention::KeyFormat key_format = attention::KeyFormat::kFloat32);

// Whether campaign `index` of `catalog` may become `next` by PatchCatalog:
// `next` is not archived and has the same creatives' rows (as many, each
// with the same format, categories, size, MIME type, duration and key; ids
// and markup may differ).
bool Patchable(const Catalog& catalog, int32_t index, const CompiledCampaign& next);

// A catalogue equal, field by field, to BuildCatalog of `previous`'s
// campaigns with campaigns[i] replaced by c for each (i, c) of `changes`
// (each Patchable), made from `previous` at the cost of the changed
// campaigns and a copy of the per-campaign arrays (campaigns, index
// entries), of the per-ad bids if a bid changed and of a posting map if a
// campaign's targeting changed it. It shares the rest with `previous`: the
// tiled keys, ads, formats, categories, the other posting maps. Aborts if
// a change is not Patchable.
std::shared_ptr<const Catalog> PatchCatalog(
    const Catalog& previous,
    absl::Span<const std::pair<int32_t, std::shared_ptr<const CompiledCampaign>>> changes);

// The ANN index the auction expects of `catalog`: one row per ad, its key
// (Catalog::Key) and one more column, log(bid / 1 CPM). RunAuction searches it once per
// slot and head with the head's scaled query and 1 in that column, so that
// the inner product is score_h + log(bid) - const: each search ranks ads
// by exp(score_h) x bid, the head's part of weight x bid (a query of the
// whole key would rank by the sum of head scores, without the bid, and
// miss the high bids attention ranks second). Slow for large catalogues:
// call it off the bid path. Errors as attention::AnnIndex::Build.
absl::StatusOr<std::unique_ptr<attention::AnnIndex>> BuildAnnIndex(
    const Catalog& catalog, const attention::AnnOptions& options = {},
    const attention::AnnProgress& progress = nullptr);

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_CATALOG_H_
