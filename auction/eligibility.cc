#include "auction/eligibility.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "absl/strings/ascii.h"
#include "api/limits.h"
#include "attention/check.h"

namespace attex::auction {
namespace {

using attex::v1::BidRequest;

template <typename T>
void GrowTo(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// Runs body(begin, end, counts) over [0, n) in blocks of kPartBlock items
// (smaller where n is small, so that each thread still has a few), on the
// workers when n is large enough and they are free, each block with its own
// exclusion counts, which are then added to `excluded`. The threads take
// the blocks one at a time (a request's work is often one format's run of
// rows: halves of [0, n) would leave one thread most of it). The blocks are
// the same whether or not the workers were free.
constexpr size_t kPartBlock = 16'384;

template <typename Body>
void ForParts(const Parallel& parallel, size_t n, EligibilityScratch& s, ExclusionCounts& excluded,
              Body body) {
  const bool split =
      parallel.workers != nullptr && static_cast<int64_t>(n) >= parallel.min_items && n > 1;
  size_t block = n;
  if (split) {
    const auto at_least = static_cast<size_t>(attention::PassWorkers::kPartsPerThread *
                                              parallel.workers->concurrency());
    block = std::min(kPartBlock, (n + at_least - 1) / at_least);
  }
  const int parts = split ? static_cast<int>((n + block - 1) / block) : 1;
  GrowTo(s.part_excluded, parts);
  auto run = [&](int p) {
    ExclusionCounts counts{};  // Local: the parts' counts share cache lines.
    const size_t begin = static_cast<size_t>(p) * block;
    body(begin, std::min(n, begin + block), counts);
    s.part_excluded[p] = counts;
  };
  if (parts == 1 || !parallel.workers->TryRun(parts, run)) {
    for (int p = 0; p < parts; ++p) run(p);
  }
  for (int p = 0; p < parts; ++p) {
    for (size_t e = 0; e < excluded.size(); ++e) excluded[e] += s.part_excluded[p][e];
  }
}

// Uniform in [0, 1): splitmix64 over a per-thread counter (no allocation,
// no lock).
double UnitRandom() {
  thread_local uint64_t state = reinterpret_cast<uintptr_t>(&state) * 0x9E3779B97F4A7C15ull;
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

using HitWord = EligibilityScratch::HitWord;
using RuleWord = CampaignIndex::RuleWord;

// Looks the request's strings up once in the index's posting lists, into
// one bit per campaign (EligibilityScratch::hits).
void MarkHits(const CampaignIndex& index, const BidRequest& req,
              absl::Span<const std::string_view> tokens, std::vector<HitWord>& hits) {
  const size_t n_words = index.words.size();
  GrowTo(hits, n_words);
  std::fill_n(hits.data(), n_words, HitWord{});
  HitWord* const words = hits.data();
  auto mark = [&](const CampaignIndex::Postings& postings, std::string_view value,
                  uint64_t HitWord::*field) {
    if (postings.empty()) return;
    const auto it = postings.find(absl::string_view(value.data(), value.size()));
    if (it == postings.end()) return;
    for (int32_t c : it->second) words[c >> 6].*field |= uint64_t{1} << (c & 63);
  };
  mark(*index.countries, req.context().country(), &HitWord::country);
  mark(*index.device_types, req.context().device_type(), &HitWord::device);
  for (std::string_view t : tokens) {
    mark(*index.include_features, t, &HitWord::include);
    mark(*index.exclude_features, t, &HitWord::exclude);
  }
  for (const auto& a : req.blocked_advertisers()) {
    mark(*index.advertisers, a, &HitWord::blocked_advertiser);
  }
  // Domains match ignoring ASCII case: the index posts them in lower case.
  char lower[api::kMaxTokenBytes];
  for (const auto& d : req.blocked_domains()) {
    if (d.size() > sizeof(lower)) continue;  // Longer than any campaign's.
    for (size_t i = 0; i < d.size(); ++i) lower[i] = absl::ascii_tolower(d[i]);
    mark(*index.domains, std::string_view(lower, d.size()), &HitWord::blocked_domain);
  }
}

// Whether `a` and `b` admit the same creatives (SlotClasses).
bool SameClass(const attex::v1::Slot& a, const attex::v1::Slot& b) {
  if (a.format() != b.format() || a.sizes_size() != b.sizes_size() ||
      a.mimes_size() != b.mimes_size() || a.min_duration_s() != b.min_duration_s() ||
      a.max_duration_s() != b.max_duration_s()) {
    return false;
  }
  for (int i = 0; i < a.sizes_size(); ++i) {
    if (a.sizes(i).w() != b.sizes(i).w() || a.sizes(i).h() != b.sizes(i).h()) return false;
  }
  for (int i = 0; i < a.mimes_size(); ++i) {
    if (a.mimes(i) != b.mimes(i)) return false;
  }
  return true;
}

// Of a shape that slot `slot` asks for by format: 0 when the slot admits
// it, else 1 + which of size (0), MIME type (1) and duration (2) it fails
// first.
int Misfit(const Catalog& catalog, const AdShape& shape, const attex::v1::Slot& slot) {
  if ((shape.w | shape.h) != 0 && !slot.sizes().empty()) {
    bool listed = false;
    for (const auto& size : slot.sizes()) listed |= size.w() == shape.w && size.h() == shape.h;
    if (!listed) return 1;
  }
  if (shape.mime >= 0 && !slot.mimes().empty()) {
    bool listed = false;
    for (const auto& mime : slot.mimes()) listed |= mime == catalog.mimes[shape.mime];
    if (!listed) return 2;
  }
  if (shape.duration_s != 0 &&
      ((slot.min_duration_s() != 0 && shape.duration_s < slot.min_duration_s()) ||
       (slot.max_duration_s() != 0 && shape.duration_s > slot.max_duration_s()))) {
    return 3;
  }
  return 0;
}

// The creatives of the campaigns of `bits` in the word of `rules` that
// starts at campaign `begin`.
int64_t CreativesOf(const CampaignIndex& index, const RuleWord& rules, size_t begin,
                    uint64_t bits) {
  if (rules.creatives >= 0) return int64_t{std::popcount(bits)} * rules.creatives;
  int64_t n = 0;
  for (; bits != 0; bits &= bits - 1) n += index.entries[begin + std::countr_zero(bits)].creatives;
  return n;
}

// The campaign-level reasons, in Exclusion's order of precedence.
constexpr Exclusion kOrder[] = {
    Exclusion::kStatus,     Exclusion::kSchedule,          Exclusion::kCountry,
    Exclusion::kDeviceType, Exclusion::kIncludeFeatures,   Exclusion::kExcludeFeatures,
    Exclusion::kHours,      Exclusion::kBlockedAdvertiser, Exclusion::kBlockedDomain};
constexpr int kReasons = static_cast<int>(std::size(kOrder));
static_assert([] {
  for (int i = 1; i < kReasons; ++i) {
    if (!(kOrder[i - 1] < kOrder[i])) return false;
  }
  return true;
}());

// Byte i of kSpread[x]: bit i of x, so that 8 bits become 8 bytes of 0 or 1.
constexpr std::array<uint64_t, 256> kSpread = [] {
  std::array<uint64_t, 256> table{};
  for (int x = 0; x < 256; ++x) {
    for (int i = 0; i < 8; ++i) table[x] |= static_cast<uint64_t>((x >> i) & 1) << (8 * i);
  }
  return table;
}();

}  // namespace

bool UserRestricted(const BidRequest& request) {
  const auto& consent = request.user().consent();
  return consent.coppa() || consent.limit_ad_tracking() ||
         (consent.gdpr_applies() && consent.tcf_consent().empty());
}

uint64_t FrequencyUserKey(const BidRequest& request) {
  if (UserRestricted(request) || request.user().id().empty()) return 0;
  return FrequencyCaps::UserKey(request.user().id()) | 1;  // Never 0.
}

// A word of campaigns at a time: the rules' bitsets against the request's
// hits, each reason's campaigns the ones that fail it and no earlier one.
int64_t CampaignEligibility(const Catalog& catalog, const BidRequest& req,
                            absl::Span<const std::string_view> tokens, int64_t now_ms,
                            EligibilityScratch& s, absl::Span<uint8_t> campaign_ok,
                            ExclusionCounts& excluded) {
  const CampaignIndex& index = catalog.index;
  const size_t n = index.entries.size();
  ATTEX_CHECK(campaign_ok.size() >= n && index.words.size() == (n + 63) / 64);
  MarkHits(index, req, tokens, s.hits);
  // Plain pointers: this Abseil is hardened, so Span's operator[] checks
  // bounds on every access.
  uint8_t* const ok = campaign_ok.data();
  const HitWord* const hits = s.hits.data();
  const int64_t now_s = now_ms / 1000;
  const uint32_t hour_bit = 1u << ((now_ms / 3'600'000) % 24);
  int64_t counts[kReasons] = {};
  int64_t admitted = 0;
  constexpr size_t kChunk = ChunkedArray<RuleWord>::kChunk;
  for (size_t k = 0; k < index.words.chunks(); ++k) {
    const RuleWord* const chunk = index.words.chunk(k).data();
    const size_t chunk_words = index.words.chunk(k).size();
    for (size_t j = 0; j < chunk_words; ++j) {
      const size_t w = k * kChunk + j;
      const RuleWord& r = chunk[j];
      const HitWord& h = hits[w];
      const size_t begin = w * 64;
      const size_t in_word = std::min<size_t>(64, n - begin);
      const uint64_t valid = in_word == 64 ? ~uint64_t{0} : (uint64_t{1} << in_word) - 1;
      // Schedules and hours are rare: those campaigns one by one.
      uint64_t schedule = 0, hours = 0;
      for (uint64_t t = r.timed; t != 0; t &= t - 1) {
        const int b = std::countr_zero(t);
        const CampaignIndex::Entry& e = index.entries[begin + b];
        const bool off_schedule =
            (e.start_s != 0 && now_s < e.start_s) || (e.end_s != 0 && now_s >= e.end_s);
        schedule |= static_cast<uint64_t>(off_schedule) << b;
        hours |= static_cast<uint64_t>(e.hours_mask != 0 && !(e.hours_mask & hour_bit)) << b;
      }
      const uint64_t fails[kReasons] = {~r.active,
                                        schedule,
                                        r.countries & ~h.country,
                                        r.devices & ~h.device,
                                        r.include & ~h.include,
                                        r.exclude & h.exclude,
                                        hours,
                                        h.blocked_advertiser,
                                        h.blocked_domain};
      uint64_t left = valid;
      for (int i = 0; i < kReasons; ++i) {
        const uint64_t first = fails[i] & left;
        if (first == 0) continue;
        counts[i] += CreativesOf(index, r, begin, first);
        left &= ~first;
      }
      admitted += CreativesOf(index, r, begin, left);
      uint8_t* const out = ok + begin;
      if (in_word == 64) {
        for (int b = 0; b < 8; ++b) {
          const uint64_t bytes = kSpread[(left >> (8 * b)) & 0xFF];
          std::memcpy(out + 8 * b, &bytes, sizeof(bytes));
        }
      } else {
        for (size_t b = 0; b < in_word; ++b) out[b] = (left >> b) & 1;
      }
    }
  }
  for (int i = 0; i < kReasons; ++i) {
    excluded[static_cast<int>(kOrder[i])] += static_cast<int32_t>(counts[i]);
  }
  return admitted;
}

// The catalogue's small ids (formats, categories) keep strings out of the
// per-ad loop.
Exclusion LateChecks::Check(int32_t c) {
  if (memo_[c] != 0) return static_cast<Exclusion>(memo_[c] - 1);
  const CampaignIndex::Entry& e = catalog_.index.entries[c];
  Exclusion why = Exclusion::kCount;
  // The most one impression can cost is the bid; what other bids have
  // reserved but not yet billed is not available.
  const int64_t available = e.budget->Available(now_ms_);
  if (available < e.bid_cpm_micros / 1000 || available <= 0) {
    why = Exclusion::kBudget;
  } else if ((e.flags & CampaignIndex::kFrequencyCap) && frequency_ != nullptr && user_key_ != 0) {
    const CompiledCampaign& campaign = *catalog_.campaigns[c];
    if (!frequency_->Allows(user_key_, campaign.frequency_key, campaign.frequency_cap,
                            campaign.frequency_period_ms, now_ms_)) {
      why = Exclusion::kFrequencyCap;
    }
  }
  // Even pacing sits out a share of auctions; only daily budgets are paced.
  if (why == Exclusion::kCount && (e.flags & CampaignIndex::kPaceEven) &&
      e.budget->daily_limit() > 0 && UnitRandom() >= e.budget->PacingThrottle(now_ms_)) {
    why = Exclusion::kPacing;
  }
  memo_[c] = static_cast<uint8_t>(static_cast<int>(why) + 1);
  if (why != Exclusion::kCount) excluded_[static_cast<int>(why)] += e.creatives;
  return why;
}

int SlotClasses(const BidRequest& req, std::vector<int>& slot_class) {
  slot_class.resize(req.slots_size());
  int first[api::kMaxSlots];  // The first slot of each class.
  int classes = 0;
  for (int k = 0; k < req.slots_size(); ++k) {
    int c = 0;
    while (c < classes && !SameClass(req.slots(k), req.slots(first[c]))) ++c;
    if (c == classes) {
      ATTEX_CHECK(classes < api::kMaxSlots);  // Validation bounds the slots.
      first[classes++] = k;
    }
    slot_class[k] = c;
  }
  return classes;
}

void BuildAdMask(const Catalog& catalog, const BidRequest& req, absl::Span<const int> slot_class,
                 absl::Span<const uint8_t> campaign_ok, int64_t admitted_ads, int slot_offset,
                 EligibilityScratch& s, absl::Span<uint16_t> mask, ExclusionCounts& excluded,
                 const Parallel& parallel) {
  const size_t n_formats = catalog.formats.size();
  ATTEX_CHECK(catalog.format_rows.size() == n_formats + 1 &&
              static_cast<size_t>(catalog.format_rows.back()) == catalog.ads.size());
  // Each slot class against each of the catalogue's shapes, once: which
  // slots ask for a shape's format, which admit it, and why the others do
  // not (the first of size, MIME type and duration that fails, over the
  // classes of its format).
  const size_t n_shapes = catalog.shapes.size();
  GrowTo(s.shape_asked, n_shapes);
  GrowTo(s.shape_slots, n_shapes);
  GrowTo(s.shape_misfit, n_shapes);
  GrowTo(s.format_asked, n_formats);
  std::fill_n(s.format_asked.data(), n_formats, uint16_t{0});
  for (size_t sh = 0; sh < n_shapes; ++sh) {
    const AdShape& shape = catalog.shapes[sh];
    const std::string& format = catalog.formats[shape.format];
    uint16_t asked = 0, admitted = 0;
    int misfit = 3;
    for (int k = 0, next = 0; k < req.slots_size(); ++k) {
      if (slot_class[k] != next) continue;  // Its class was compared.
      const auto bit = static_cast<uint16_t>(1u << (slot_offset + next++));
      const attex::v1::Slot& slot = req.slots(k);
      if (slot.format() != format) continue;
      asked |= bit;
      const int why = Misfit(catalog, shape, slot);
      if (why == 0) admitted |= bit;
      if (why != 0) misfit = std::min(misfit, why);
    }
    s.shape_asked[sh] = asked;
    s.format_asked[shape.format] |= asked;
    s.shape_slots[sh] = admitted;
    s.shape_misfit[sh] = static_cast<uint8_t>(misfit - 1);
  }
  GrowTo(s.blocked_category, static_cast<size_t>(catalog.category_set_count));
  s.blocked_ids.clear();
  for (const auto& category : req.blocked_categories()) {
    const auto it = catalog.category_sets.find(absl::string_view(category));
    if (it == catalog.category_sets.end()) continue;
    for (int32_t set : it->second) {
      if (s.blocked_category[set]) continue;
      s.blocked_category[set] = 1;
      s.blocked_ids.push_back(set);
    }
  }
  // The loop reads through plain pointers (unchecked, unlike the hardened
  // Span's operator[]) and counts in locals, so that its one store, to the
  // mask, leaves everything else in registers.
  const size_t n_ads = catalog.ads.size();
  ATTEX_CHECK(!catalog.ad_runs.empty() &&
              static_cast<size_t>(catalog.ad_runs.vec().back().begin) == n_ads);
  const uint8_t* ok = campaign_ok.data();
  uint16_t* out = mask.data();
  const AdRun* runs = catalog.ad_runs.data();
  const AdRun* const runs_end = runs + catalog.ad_runs.size() - 1;  // Before the sentinel.
  const int32_t* ad_category = catalog.ad_category.data();
  const int64_t* format_rows = catalog.format_rows.data();
  const int32_t* ad_shape = catalog.ad_shape.data();
  const uint8_t* blocked = s.blocked_category.data();
  const uint16_t* shape_asked = s.shape_asked.data();
  const uint16_t* shape_slots = s.shape_slots.data();
  const uint8_t* shape_misfit = s.shape_misfit.data();
  const bool first = slot_offset == 0;
  const bool any_blocked = !s.blocked_ids.empty();
  static_assert(static_cast<int>(Exclusion::kSize) + 1 == static_cast<int>(Exclusion::kMime) &&
                static_cast<int>(Exclusion::kMime) + 1 == static_cast<int>(Exclusion::kDuration));
  // Without blocked categories an ad of a format no slot asks for is
  // excluded for its format exactly when its campaign is eligible: those
  // rows are not read, and their count is what CampaignEligibility admitted
  // less the admitted ads of the rows read (kFormat starts at minus those).
  const bool skip_unasked = !any_blocked;
  const uint16_t* format_asked = s.format_asked.data();
  auto put = [out, first](size_t lo, size_t hi, uint16_t bits) {
    if (first) {
      std::fill(out + lo, out + hi, bits);
    } else if (bits != 0) {
      for (size_t i = lo; i < hi; ++i) out[i] = static_cast<uint16_t>(out[i] | bits);
    }
  };
  ForParts(parallel, n_ads, s, excluded, [=](size_t begin, size_t end, ExclusionCounts& counts) {
    int32_t n_blocked = 0, n_unformatted = 0, n_read_admitted = 0;
    int32_t n_misfit[3] = {};  // Size, MIME type, duration.
    for (size_t f = 0; f < n_formats; ++f) {
      const size_t lo = std::max<size_t>(begin, format_rows[f]);
      const size_t hi = std::min<size_t>(end, format_rows[f + 1]);
      if (lo >= hi) continue;
      if (skip_unasked && format_asked[f] == 0) {
        put(lo, hi, 0);
        continue;
      }
      // Run by run (a campaign's creatives of a format): the campaign's
      // verdict once, and a run of one shape filled without reading its rows.
      const AdRun* run =
          std::upper_bound(runs, runs_end, static_cast<int32_t>(lo),
                           [](int32_t row, const AdRun& r) { return row < r.begin; }) -
          1;
      for (; run < runs_end && static_cast<size_t>(run->begin) < hi; ++run) {
        const size_t a = std::max<size_t>(lo, run->begin);
        const size_t b = std::min<size_t>(hi, run[1].begin);
        const bool campaign_ok = ok[run->campaign] != 0;
        const int32_t shape = run->shape;
        if (shape >= 0 && (!any_blocked || run->category >= 0)) [[likely]] {
          // Branch-free: whether a campaign is ok varies run by run, and
          // most runs are one or two rows.
          const auto len = static_cast<int32_t>(b - a);
          const bool is_blocked = any_blocked && blocked[run->category];
          const bool admitted = campaign_ok & !is_blocked;
          const auto keep = static_cast<uint16_t>(-static_cast<int>(admitted));
          const bool asked = (shape_asked[shape] & keep) != 0;
          const uint16_t bits = shape_slots[shape] & keep;
          n_blocked += (campaign_ok & is_blocked) * len;
          n_read_admitted += admitted * len;
          n_unformatted += (admitted & !asked) * len;
          n_misfit[shape_misfit[shape]] += (asked & (bits == 0)) * len;
          for (size_t i = a; i < b; ++i)
            out[i] = first ? bits : static_cast<uint16_t>(out[i] | bits);
          continue;
        }
        if (!campaign_ok) {
          put(a, b, 0);
          continue;
        }
        // Creatives of several shapes or category sets: ad by ad,
        // branch-free, the category read only when the request blocks some.
        for (size_t i = a; i < b; ++i) {
          const bool is_blocked = any_blocked && blocked[ad_category[i]];
          const bool admitted = !is_blocked;
          const auto keep = static_cast<uint16_t>(-static_cast<int>(admitted));
          const int32_t ad = ad_shape[i];
          const bool asked = (shape_asked[ad] & keep) != 0;
          const uint16_t bits = shape_slots[ad] & keep;
          n_blocked += is_blocked;
          n_read_admitted += admitted;
          n_unformatted += admitted & !asked;
          n_misfit[shape_misfit[ad]] += asked & (bits == 0);
          out[i] = first ? bits : static_cast<uint16_t>(out[i] | bits);
        }
      }
    }
    counts[static_cast<int>(Exclusion::kBlockedCategory)] += n_blocked;
    counts[static_cast<int>(Exclusion::kFormat)] +=
        skip_unasked ? n_unformatted - n_read_admitted : n_unformatted;
    for (int m = 0; m < 3; ++m) counts[static_cast<int>(Exclusion::kSize) + m] += n_misfit[m];
  });
  if (skip_unasked) excluded[static_cast<int>(Exclusion::kFormat)] += admitted_ads;
  for (int32_t id : s.blocked_ids) s.blocked_category[id] = 0;
}

int32_t KeepAnnCandidates(const attention::AnnIndex& ann, int ann_candidates,
                          absl::Span<const float> queries, int slot_offset, int d, int heads,
                          EligibilityScratch& s, absl::Span<uint16_t> mask) {
  const size_t n_ads = mask.size();
  const size_t n_slots = queries.size() / d;
  uint16_t* bits_of = mask.data();  // Unchecked, unlike the hardened Span's [].
  // This request's bits of the (possibly shared) mask; other requests' bits
  // are left as they are.
  const auto own = static_cast<uint16_t>(((1u << n_slots) - 1) << slot_offset);
  const size_t ann_k = std::min<size_t>(std::clamp(ann_candidates, 0, kMaxAnnCandidates), n_ads);
  if (ann.rows() != static_cast<int64_t>(n_ads) || ann.dims() != d + 1 || ann_k == 0 ||
      n_slots == 0) {
    return 0;
  }
  const auto eligible =
      std::count_if(mask.begin(), mask.end(), [own](uint16_t bits) { return (bits & own) != 0; });
  if (static_cast<size_t>(eligible) <= n_slots * ann_k) return 0;

  // One search per head: the head's query scaled as the pass scales it,
  // and 1 against the bid column (see BuildAnnIndex), so that each search
  // ranks by the head's exp(score) x bid, its term of weight x bid.
  const int dh = d / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const size_t per_head = std::max<size_t>((ann_k + heads - 1) / heads, 1);
  GrowTo(s.ann_rows, per_head);
  GrowTo(s.ann_query, d + 1);
  s.ann_keep.clear();
  for (size_t k = 0; k < n_slots; ++k) {
    const float* q = queries.data() + k * d;
    for (int h = 0; h < heads; ++h) {
      std::fill(s.ann_query.begin(), s.ann_query.begin() + d, 0.0f);
      for (int j = h * dh; j < (h + 1) * dh; ++j) s.ann_query[j] = q[j] * scale;
      s.ann_query[d] = 1.0f;
      const int found = ann.Search(absl::MakeConstSpan(s.ann_query.data(), d + 1),
                                   absl::MakeSpan(s.ann_rows.data(), per_head));
      for (int j = 0; j < found; ++j) {
        const int64_t row = s.ann_rows[j];
        s.ann_keep.emplace_back(row, bits_of[row] & own);
      }
    }
  }
  // Sorted by row, the restore below walks the mask forwards.
  std::sort(s.ann_keep.begin(), s.ann_keep.end());
  s.ann_keep.erase(std::unique(s.ann_keep.begin(), s.ann_keep.end()), s.ann_keep.end());
  for (size_t i = 0; i < n_ads; ++i) bits_of[i] &= static_cast<uint16_t>(~own);
  for (const auto& [row, bits] : s.ann_keep) bits_of[row] |= bits;
  return static_cast<int32_t>(s.ann_keep.size());
}

}  // namespace attex::auction
