#include "auction/auction.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include "attention/fused.h"
#include "attention/scorer.h"
#include "auction/pricing.h"

namespace attex::auction {
namespace {

using attex::v1::BidRequest;

constexpr size_t kMaxTokens = 1024;  // Validation bounds features well below.
// Candidates drawn per slot from the attention pass: the kernel ranks by
// weight x float(bid), the auction re-ranks them by weight x bid exactly.
constexpr int kCandidates = 8;

// One request's state between its preparation and its allocation; kept
// per thread in a pool so that a warm thread allocates nothing.
struct RequestScratch {
  std::vector<uint8_t> placed;  // Per campaign: placed in an earlier slot.
  std::vector<float> queries;   // slots x d, in request order.
  std::vector<int> order;       // Slots in order of position.
  int slot_offset = 0;          // Its first slot in the shared pass.
  bool wanted = true;           // False once its deadline passed unscored.
};

// Per-thread buffers, grown to the largest catalogue (and batch) seen and
// then reused.
struct Scratch {
  std::vector<uint8_t> campaign_ok;
  std::vector<uint8_t> hits;           // Per campaign: Hit bits.
  std::vector<uint16_t> mask;          // Per ad: bit s = eligible for pass slot s.
  std::vector<uint16_t> format_slots;  // Per format id: the pass slots asking for it.
  std::vector<uint8_t> blocked_category;
  std::vector<int32_t> blocked_ids;
  std::vector<float> u;
  std::vector<float> queries;  // The pass's slots x d.
  std::vector<RequestScratch> requests;
  // ANN path: one slot's retrieved rows, and every slot's with their mask
  // bits; at most kMaxPassSlots x kMaxAnnCandidates entries.
  std::vector<int64_t> ann_rows;
  std::vector<float> ann_query;
  std::vector<std::pair<int64_t, uint16_t>> ann_keep;
  attention::AttentionPass pass;
  std::array<attention::Candidate, kCandidates> candidates;
  std::array<std::string_view, kMaxTokens> tokens;
  std::array<std::string_view, kMaxTokens> recent;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

template <typename T>
void Resize(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
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

// What the request's strings select in the catalogue's posting lists, per
// campaign (Scratch::hits).
enum Hit : uint8_t {
  kHitCountry = 1,
  kHitDevice = 2,
  kHitInclude = 4,
  kHitExclude = 8,
  kHitBlockedAdvertiser = 16,
};

// Request-level eligibility of every campaign into s.campaign_ok, counting
// each excluded campaign's creatives under the first reason that excludes
// it (in Exclusion's order). The request's strings are looked up once in
// the index's posting lists; then one sequential pass over its dense
// entries, prefetching each campaign's budget counters ahead.
void CampaignEligibility(const Catalog& catalog, const AuctionConfig& config,
                         const BidRequest& req, absl::Span<const std::string_view> tokens,
                         int64_t now_ms, Scratch& s, AuctionResult* result) {
  const CampaignIndex& index = catalog.index;
  const size_t n = index.entries.size();
  Resize(s.hits, n);
  std::fill_n(s.hits.data(), n, 0);
  auto mark = [&](const CampaignIndex::Postings& postings, std::string_view value, uint8_t bit) {
    if (postings.empty()) return;
    const auto it = postings.find(absl::string_view(value.data(), value.size()));
    if (it == postings.end()) return;
    for (int32_t c : it->second) s.hits[c] |= bit;
  };
  mark(index.countries, req.context().country(), kHitCountry);
  mark(index.device_types, req.context().device_type(), kHitDevice);
  for (std::string_view t : tokens) {
    mark(index.include_features, t, kHitInclude);
    mark(index.exclude_features, t, kHitExclude);
  }
  for (const auto& a : req.blocked_advertisers()) mark(index.advertisers, a, kHitBlockedAdvertiser);

  // user_key 0: no user, or consent forbids keeping anything about them.
  const uint64_t user_key = FrequencyUserKey(req);
  const int64_t now_s = now_ms / 1000;
  const uint32_t hour_bit = 1u << ((now_ms / 3'600'000) % 24);
  constexpr size_t kAhead = 8;
  for (size_t c = 0; c < n; ++c) {
    if (c + kAhead < n) __builtin_prefetch(index.entries[c + kAhead].budget);
    const CampaignIndex::Entry& e = index.entries[c];
    const uint8_t hits = s.hits[c];
    Exclusion why = Exclusion::kCount;
    if (!(e.flags & CampaignIndex::kActive)) {
      why = Exclusion::kStatus;
    } else if ((e.start_s != 0 && now_s < e.start_s) || (e.end_s != 0 && now_s >= e.end_s)) {
      why = Exclusion::kSchedule;
    } else if ((e.flags & CampaignIndex::kCountries) && !(hits & kHitCountry)) {
      why = Exclusion::kCountry;
    } else if ((e.flags & CampaignIndex::kDevices) && !(hits & kHitDevice)) {
      why = Exclusion::kDeviceType;
    } else if ((e.flags & CampaignIndex::kInclude) && !(hits & kHitInclude)) {
      why = Exclusion::kIncludeFeatures;
    } else if ((e.flags & CampaignIndex::kExclude) && (hits & kHitExclude)) {
      why = Exclusion::kExcludeFeatures;
    } else if (e.hours_mask != 0 && !(e.hours_mask & hour_bit)) {
      why = Exclusion::kHours;
    } else if (hits & kHitBlockedAdvertiser) {
      why = Exclusion::kBlockedAdvertiser;
    } else {
      // The most one impression can cost is the bid; what other bids have
      // reserved but not yet billed is not available.
      const int64_t available = e.budget->Available(now_ms);
      if (available < e.bid_cpm_micros / 1000 || available <= 0) {
        why = Exclusion::kBudget;
      } else if ((e.flags & CampaignIndex::kFrequencyCap) && config.frequency != nullptr &&
                 user_key != 0) {
        const CompiledCampaign& campaign = *catalog.campaigns[c];
        if (!config.frequency->Allows(user_key, campaign.frequency_key, campaign.frequency_cap,
                                      campaign.frequency_period_ms, now_ms)) {
          why = Exclusion::kFrequencyCap;
        }
      }
      // Even pacing sits out a share of auctions; only daily budgets are paced.
      if (why == Exclusion::kCount && (e.flags & CampaignIndex::kPaceEven) &&
          e.budget->daily_limit() > 0 && UnitRandom() >= e.budget->PacingThrottle(now_ms)) {
        why = Exclusion::kPacing;
      }
    }
    s.campaign_ok[c] = why == Exclusion::kCount;
    if (why != Exclusion::kCount) result->excluded[static_cast<int>(why)] += e.creatives;
  }
}

// The ANN path: retrieves candidates for each slot from `ann` and clears the
// mask bits of every other ad, so that exact attention (which skips tiles
// without a bit) runs over the union of the candidates alone. Returns how
// many distinct ads were retrieved; 0, changing nothing, where the index
// does not fit the catalogue or no more ads are eligible than would be
// retrieved (scanning those is no more work, and retrieval could miss them).
// Allocates (hnswlib's search); the scratch grows to at most kMaxPassSlots x
// kMaxAnnCandidates entries.
int32_t KeepAnnCandidates(const attention::AnnIndex& ann, int ann_candidates, size_t n_ads,
                          size_t n_slots, int slot_offset, int d, int heads, Scratch& s) {
  // This request's bits of the (possibly shared) mask; other requests' bits
  // are left as they are.
  const auto own = static_cast<uint16_t>(((1u << n_slots) - 1) << slot_offset);
  const size_t ann_k =
      std::min<size_t>(std::clamp(ann_candidates, 0, kMaxAnnCandidates), n_ads);
  if (ann.rows() != static_cast<int64_t>(n_ads) || ann.dims() != d + 1 || ann_k == 0 ||
      n_slots == 0) {
    return 0;
  }
  const auto eligible = std::count_if(s.mask.begin(), s.mask.begin() + n_ads,
                                      [own](uint16_t bits) { return (bits & own) != 0; });
  if (static_cast<size_t>(eligible) <= n_slots * ann_k) return 0;

  // One search per head: the head's query scaled as the pass scales it,
  // and 1 against the bid column (see BuildAnnIndex), so that each search
  // ranks by the head's exp(score) x bid, its term of weight x bid.
  const int dh = d / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const size_t per_head = std::max<size_t>((ann_k + heads - 1) / heads, 1);
  Resize(s.ann_rows, per_head);
  Resize(s.ann_query, d + 1);
  s.ann_keep.clear();
  for (size_t k = 0; k < n_slots; ++k) {
    const float* q = s.queries.data() + (slot_offset + k) * d;
    for (int h = 0; h < heads; ++h) {
      std::fill(s.ann_query.begin(), s.ann_query.begin() + d, 0.0f);
      for (int j = h * dh; j < (h + 1) * dh; ++j) s.ann_query[j] = q[j] * scale;
      s.ann_query[d] = 1.0f;
      const int found = ann.Search(absl::MakeConstSpan(s.ann_query.data(), d + 1),
                                   absl::MakeSpan(s.ann_rows.data(), per_head));
      for (int j = 0; j < found; ++j) {
        const int64_t row = s.ann_rows[j];
        s.ann_keep.emplace_back(row, s.mask[row] & own);
      }
    }
  }
  // Sorted by row, the restore below walks the mask forwards.
  std::sort(s.ann_keep.begin(), s.ann_keep.end());
  s.ann_keep.erase(std::unique(s.ann_keep.begin(), s.ann_keep.end()), s.ann_keep.end());
  for (size_t i = 0; i < n_ads; ++i) s.mask[i] &= static_cast<uint16_t>(~own);
  for (const auto& [row, bits] : s.ann_keep) s.mask[row] |= bits;
  return static_cast<int32_t>(s.ann_keep.size());
}

struct Pick {
  int32_t ad = -1;
  int32_t campaign = -1;
  double score = -1.0;
};

}  // namespace

uint64_t FrequencyUserKey(const BidRequest& request) {
  if (UserRestricted(request) || request.user().id().empty()) return 0;
  return FrequencyCaps::UserKey(request.user().id()) | 1;  // Never 0.
}

bool UserRestricted(const BidRequest& request) {
  const auto& consent = request.user().consent();
  return consent.coppa() || consent.limit_ad_tracking() ||
         (consent.gdpr_applies() && consent.tcf_consent().empty());
}

namespace {

// Eligibility, the request's slot bits in the shared mask (from bit
// r.slot_offset; the first request of a pass overwrites the mask, later
// ones add their bits), its queries at the pass's slot r.slot_offset, and
// the order of its slots.
void Prepare(const Catalog& catalog, const AuctionConfig& config, const BidRequest& req,
             int64_t now_ms, AuctionResult* result, Scratch& s, RequestScratch& r) {
  const attention::Model& model = *catalog.model;
  const int d = model.d_model();
  const size_t n_ads = catalog.ads.size();
  const size_t n_campaigns = catalog.campaigns.size();
  result->slots.clear();
  result->no_bid_reason = {};
  result->excluded.fill(0);
  result->user_restricted = UserRestricted(req);
  result->ann_candidates = 0;

  // The request's tokens: context always, the user's only with consent.
  size_t n_tokens = 0, n_recent = 0;
  auto add = [&](const auto& list, auto& out, size_t& n) {
    for (const auto& t : list) {
      if (n < kMaxTokens) out[n++] = t;
    }
  };
  if (!result->user_restricted) {
    add(req.user().features(), s.tokens, n_tokens);
    add(req.user().recent(), s.recent, n_recent);
  }
  add(req.context().features(), s.tokens, n_tokens);
  const auto tokens = absl::MakeConstSpan(s.tokens.data(), n_tokens);

  // Request-level eligibility per campaign.
  Resize(s.campaign_ok, n_campaigns);
  Resize(r.placed, n_campaigns);
  std::fill_n(r.placed.data(), n_campaigns, 0);
  CampaignEligibility(catalog, config, req, tokens, now_ms, s, result);
  // Creative-level: blocked categories, and formats no slot asks for; the
  // same pass builds the per-ad slot mask from the catalogue's small ids.
  const size_t n_slots = static_cast<size_t>(req.slots_size());
  const size_t n_formats = catalog.formats.size();
  Resize(s.format_slots, n_formats);
  std::fill(s.format_slots.begin(), s.format_slots.begin() + n_formats, 0);
  for (size_t k = 0; k < n_slots; ++k) {
    const std::string& format = req.slots(static_cast<int>(k)).format();
    for (size_t f = 0; f < n_formats; ++f) {
      if (catalog.formats[f] == format) {
        s.format_slots[f] |= static_cast<uint16_t>(1u << (r.slot_offset + k));
      }
    }
  }
  Resize(s.blocked_category, catalog.category_ids.size());
  s.blocked_ids.clear();
  for (const auto& category : req.blocked_categories()) {
    const auto it = catalog.category_ids.find(absl::string_view(category));
    if (it == catalog.category_ids.end() || s.blocked_category[it->second]) continue;
    s.blocked_category[it->second] = 1;
    s.blocked_ids.push_back(it->second);
  }
  Resize(s.mask, n_ads);
  const bool first = r.slot_offset == 0;
  for (size_t i = 0; i < n_ads; ++i) {
    uint16_t bits = 0;
    if (s.campaign_ok[catalog.ads[i].campaign]) {
      if (s.blocked_category[catalog.ad_category[i]]) {
        ++result->excluded[static_cast<int>(Exclusion::kBlockedCategory)];
      } else {
        bits = s.format_slots[catalog.ad_format[i]];
        if (bits == 0) ++result->excluded[static_cast<int>(Exclusion::kFormat)];
      }
    }
    s.mask[i] = first ? bits : static_cast<uint16_t>(s.mask[i] | bits);
  }
  for (int32_t id : s.blocked_ids) s.blocked_category[id] = 0;

  // The query side: one pooled vector, one query per slot.
  Resize(s.u, d);
  Resize(r.queries, n_slots * d);
  Resize(s.queries, (r.slot_offset + n_slots) * d);
  const auto& user_embedding = req.user().embedding();
  attention::QueryInputs in;
  in.features = tokens;
  in.recent = absl::MakeConstSpan(s.recent.data(), n_recent);
  if (!result->user_restricted) {
    in.user_embedding = absl::MakeConstSpan(user_embedding.data(), user_embedding.size());
  }
  model.ContextVector(in, absl::MakeSpan(s.u.data(), d));
  for (size_t k = 0; k < n_slots; ++k) {
    const auto& slot = req.slots(static_cast<int>(k));
    model.SlotQuery(absl::MakeConstSpan(s.u.data(), d), slot.format(), slot.position(),
                    absl::MakeSpan(r.queries.data() + k * d, d));
  }
  std::copy_n(r.queries.data(), n_slots * d, s.queries.data() + r.slot_offset * d);

  // Large catalogues: only the ANN index's candidates stay eligible.
  if (const attention::AnnIndex* ann = catalog.ann.get(); ann != nullptr) {
    result->ann_candidates =
        KeepAnnCandidates(*ann, config.ann_candidates, n_ads, n_slots, r.slot_offset, d,
                          model.heads(), s);
  }

  // Slots in order of position, ties by order in the request.
  // (An insertion sort: std::stable_sort allocates a buffer on every call.)
  r.order.resize(req.slots_size());
  std::iota(r.order.begin(), r.order.end(), 0);
  for (size_t k = 1; k < r.order.size(); ++k) {
    const int slot = r.order[k];
    size_t j = k;
    for (; j > 0 && req.slots(r.order[j - 1]).position() > req.slots(slot).position(); --j) {
      r.order[j] = r.order[j - 1];
    }
    r.order[j] = slot;
  }
}

// Ranking, allocation and pricing of one request from the shared pass (its
// slots start at r.slot_offset there), and its explanation.
void Allocate(const Catalog& catalog, const AuctionConfig& config, const BidRequest& req,
              absl::Time deadline, bool pass_ran, Scratch& s, RequestScratch& r,
              AuctionResult* result, attex::v1::Explanation* explanation) {
  const attention::Model& model = *catalog.model;
  const int d = model.d_model();
  const int heads = model.heads();
  const size_t n_ads = catalog.ads.size();
  const bool first_price = IsFirstPrice(req.auction_type(), config.default_type);
  bool any_eligible = false, any_above_floor = false, timed_out = false;

  const attention::AttentionPass& pass = s.pass;
  auto bid_of = [&](int64_t row) {
    return catalog.campaigns[catalog.ads[row].campaign]->bid_cpm_micros;
  };
  // The exact ranking score, as it always was: float weight x bid.
  auto exact_score = [&](const attention::Candidate& c) {
    return static_cast<double>(c.weight) * static_cast<double>(bid_of(c.row));
  };
  // Re-ranks n candidates by the exact score (ties to the lower row).
  auto rerank = [&](attention::Candidate* c, int n) {
    for (int k = 0; k < n; ++k) c[k].score = exact_score(c[k]);
    std::sort(c, c + n, [](const attention::Candidate& a, const attention::Candidate& b) {
      return a.score != b.score ? a.score > b.score : a.row < b.row;
    });
  };

  for (int slot_index : r.order) {
    if (!pass_ran || absl::Now() > deadline) {
      timed_out = true;
      break;
    }
    const auto& slot = req.slots(slot_index);
    const int pass_slot = r.slot_offset + slot_index;
    const int64_t eligible = pass.eligible(pass_slot);
    const double context = pass.context(pass_slot);
    any_eligible |= eligible > 0;

    const int64_t floor = SlotFloor(slot.floor_cpm_micros(), config.default_floor_cpm_micros,
                                    config.reserve_rho, context);

    // Best and runner-up by weight x bid among unplaced campaigns at or above
    // the floor; the runner-up is of another campaign. The kernel's top list
    // holds both unless one campaign fills it, when a second scan excludes it.
    Pick best, second;
    auto to_pick = [&](const attention::Candidate& c) {
      return Pick{static_cast<int32_t>(c.row), catalog.ads[c.row].campaign, c.score};
    };
    attention::Candidate* cands = s.candidates.data();
    int n = pass.TopK(
        pass_slot,
        [&](int64_t row) {
          return !r.placed[catalog.ads[row].campaign] && bid_of(row) >= floor;
        },
        absl::MakeSpan(cands, kCandidates));
    rerank(cands, n);
    if (n > 0) best = to_pick(cands[0]);
    for (int k = 1; k < n && second.ad < 0; ++k) {
      if (catalog.ads[cands[k].row].campaign != best.campaign) second = to_pick(cands[k]);
    }
    if (best.ad >= 0 && second.ad < 0 && n == kCandidates) {
      n = pass.TopK(
          pass_slot,
          [&](int64_t row) {
            const int32_t c = catalog.ads[row].campaign;
            return c != best.campaign && !r.placed[c] && bid_of(row) >= floor;
          },
          absl::MakeSpan(cands, kCandidates));
      rerank(cands, n);
      if (n > 0) second = to_pick(cands[0]);
    }

    SlotOutcome outcome{slot_index};
    if (best.ad >= 0) {
      any_above_floor = true;
      const auto& winner = *catalog.campaigns[best.campaign];
      const double weight = pass.Weight(pass_slot, best.ad);
      const int64_t price =
          ClearingPrice(first_price, winner.bid_cpm_micros, weight,
                        second.ad >= 0 ? std::optional<double>(second.score) : std::nullopt, floor);
      outcome.ad = best.ad;
      outcome.price_cpm_micros = price;
      outcome.weight = weight;
      r.placed[best.campaign] = 1;
      result->slots.push_back(outcome);
    }

    if (explanation != nullptr) {
      auto* ex = explanation->add_slots();
      ex->set_slot_id(slot.id());
      const float* q = r.queries.data() + static_cast<size_t>(slot_index) * d;
      for (int j = 0; j < d; ++j) ex->add_query(q[j]);
      ex->set_scale(1.0 / std::sqrt(static_cast<double>(model.d_head())));
      for (double l : pass.log_normalisers(pass_slot)) ex->add_log_normalisers(l);
      ex->set_eligible(static_cast<int32_t>(eligible));
      ex->set_attention_price_cpm_micros(context);
      ex->set_floor_cpm_micros(floor);
      if (outcome.ad >= 0) {
        ex->set_winner_campaign_id(catalog.campaigns[best.campaign]->id);
        ex->set_price_cpm_micros(outcome.price_cpm_micros);
      }
      // The top candidates by weight x bid among all eligible ads.
      std::vector<attention::Candidate> top(std::max(config.explain_top, 0));
      top.resize(pass.TopK(pass_slot, absl::MakeSpan(top)));
      rerank(top.data(), static_cast<int>(top.size()));
      std::vector<double> head_scores(heads);
      const attention::KeyView keys{catalog.keys.data(), static_cast<int64_t>(n_ads), d, heads};
      for (const attention::Candidate& c : top) {
        const int64_t i = c.row;
        const AdRef ref = catalog.ads[i];
        const auto& campaign = *catalog.campaigns[ref.campaign];
        auto* cand = ex->add_candidates();
        cand->set_campaign_id(campaign.id);
        cand->set_creative_id(campaign.creatives[ref.creative].id);
        cand->set_advertiser_id(campaign.advertiser_id);
        cand->set_bid_cpm_micros(campaign.bid_cpm_micros);
        // The exact key: weights are always recomputed from it (narrow keys
        // only choose the candidates and the normalisers).
        const float* key = catalog.keys.data() + static_cast<size_t>(i) * d;
        cand->mutable_key()->Add(key, key + d);
        attention::HeadScores(keys, i, absl::MakeConstSpan(q, d), absl::MakeSpan(head_scores));
        for (double hs : head_scores) cand->add_head_scores(hs);
        cand->set_attention_weight(c.weight);
        cand->set_ranking_score(c.score);
        if (i == outcome.ad) {
          cand->set_winner(true);
        } else if (campaign.bid_cpm_micros < floor) {
          cand->set_lost_reason(std::string(LostReasonName(LostReason::kBelowFloor)));
        } else if (r.placed[ref.campaign] &&
                   (outcome.ad < 0 || catalog.ads[outcome.ad].campaign != ref.campaign)) {
          cand->set_lost_reason(
              std::string(LostReasonName(LostReason::kPlacedInEarlierSlot)));
        } else {
          cand->set_lost_reason(std::string(LostReasonName(LostReason::kOutranked)));
        }
      }
    }
  }

  if (result->slots.empty()) {
    result->no_bid_reason = NoBidReasonName(timed_out          ? NoBidReason::kTimeout
                                            : !any_eligible    ? NoBidReason::kNoEligibleCampaigns
                                            : !any_above_floor ? NoBidReason::kBelowFloor
                                                               : NoBidReason::kNoEligibleCampaigns);
  }
  if (explanation != nullptr) {
    for (int e = 0; e < static_cast<int>(Exclusion::kCount); ++e) {
      if (result->excluded[e] > 0) {
        (*explanation->mutable_excluded())[std::string(ExclusionName(static_cast<Exclusion>(e)))] =
            result->excluded[e];
      }
    }
    explanation->set_no_bid_reason(std::string(result->no_bid_reason));
    explanation->set_ann_candidates(result->ann_candidates);
    explanation->set_model_version(model.version());
    explanation->set_d_model(d);
    explanation->set_heads(heads);
  }
}

}  // namespace

void RunAuctions(const Catalog& catalog, const AuctionConfig& config,
                 absl::Span<const AuctionJob> jobs) {
  Scratch& s = ThreadScratch();
  const int d = catalog.model->d_model();
  const size_t n_ads = catalog.ads.size();
  if (s.requests.size() < jobs.size()) s.requests.resize(jobs.size());
  size_t begin = 0;
  while (begin < jobs.size()) {
    // As many requests as the pass's slot bits hold (each has 1 to 16).
    size_t end = begin;
    int slots = 0;
    bool any_wanted = false;
    for (; end < jobs.size(); ++end) {
      const int n = jobs[end].request->slots_size();
      if (end > begin && slots + n > attention::kMaxPassSlots) break;
      RequestScratch& r = s.requests[end];
      r.slot_offset = slots;
      slots += n;
      Prepare(catalog, config, *jobs[end].request, jobs[end].now_ms, jobs[end].result, s, r);
      r.wanted = n > 0 && absl::Now() <= jobs[end].deadline;
      any_wanted |= r.wanted;
    }
    if (any_wanted) {
      // A request whose deadline passed is not scored: its bits leave the mask.
      uint16_t keep = 0;
      for (size_t j = begin; j < end; ++j) {
        const int n = jobs[j].request->slots_size();
        if (s.requests[j].wanted) keep |= static_cast<uint16_t>(((1u << n) - 1) << s.requests[j].slot_offset);
      }
      if (keep != static_cast<uint16_t>((1u << slots) - 1)) {
        for (size_t i = 0; i < n_ads; ++i) s.mask[i] &= keep;
      }
      // With narrow (bf16, int8) tiled keys the row-major float keys re-rank
      // the few candidates exactly.
      s.pass.Run(catalog.tiled_keys, catalog.values, absl::MakeConstSpan(s.mask.data(), n_ads),
                 absl::MakeConstSpan(s.queries.data(), static_cast<size_t>(slots) * d), slots,
                 attention::BestIsa(), catalog.keys);
    }
    for (size_t j = begin; j < end; ++j) {
      Allocate(catalog, config, *jobs[j].request, jobs[j].deadline, s.requests[j].wanted, s,
               s.requests[j], jobs[j].result, jobs[j].explanation);
    }
    begin = end;
  }
}

void RunAuction(const Catalog& catalog, const AuctionConfig& config, const BidRequest& req,
                int64_t now_ms, absl::Time deadline, AuctionResult* result,
                attex::v1::Explanation* explanation) {
  const AuctionJob job{&req, now_ms, deadline, result, explanation};
  RunAuctions(catalog, config, absl::MakeConstSpan(&job, 1));
}

}  // namespace attex::auction
