#include "auction/auction.h"

#include <algorithm>
#include <array>
#include <limits>
#include <numeric>
#include <optional>

#include "api/limits.h"
#include "attention/fused.h"
#include "attention/hashing.h"
#include "auction/eligibility.h"
#include "auction/explanation.h"
#include "auction/pricing.h"
#include "auction/ranking.h"

namespace attex::auction {
namespace {

using attex::v1::BidRequest;

// A validated request's tokens: user and context features, and recent ones.
constexpr size_t kMaxTokens = 2 * api::kMaxFeatures;

// One request's state between its preparation and its allocation; kept
// per thread in a pool so that a warm thread allocates nothing.
struct RequestScratch {
  std::vector<uint8_t> placed;  // Per campaign: placed in an earlier slot.
  std::vector<uint8_t> late;    // Per campaign: LateChecks' memo.
  std::vector<int> slot_class;  // Per slot: its class (SlotClasses).
  int classes = 0;              // How many: the request's slots in the pass.
  std::vector<float> queries;   // classes x d: each class's whole slot query.
  std::vector<int> order;       // Slots in order of position.
  int slot_offset = 0;          // Its first (class) slot in the shared pass.
  bool wanted = true;           // False once its deadline passed unscored.
};

// Per-thread buffers, grown to the largest catalogue (and batch) seen and
// then reused.
struct Scratch {
  std::vector<uint8_t> campaign_ok;
  std::vector<uint16_t> mask;  // Per ad: bit s = eligible for pass slot s.
  std::vector<float> u;
  std::vector<float> format_query;
  std::vector<float> effective_query;  // The user query as the pass scores it.
  std::vector<float> queries;          // The pass's requests x d: each request's user query.
  std::vector<int> request_slots;      // The pass's requests: how many slots each has.
  std::vector<RequestScratch> requests;
  EligibilityScratch eligibility;
  attention::AttentionPass pass;
  std::array<attention::Candidate, kRankCandidates> candidates;
  std::array<ClassCandidates, api::kMaxSlots> classes;  // Of the request being allocated.
  std::array<std::string_view, kMaxTokens> tokens;
  std::array<std::string_view, api::kMaxRecent> recent;
};

// On the heap, once per thread: a thread_local Scratch (60 KB of fixed
// arrays) would be static TLS, which glibc carves out of every thread's
// stack, including the 100 KB stacks of the metrics server's threads.
Scratch& ThreadScratch() {
  thread_local std::unique_ptr<Scratch> scratch = std::make_unique<Scratch>();
  return *scratch;
}

template <typename T>
void GrowTo(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

// The request's tokens, views into it held in the scratch.
struct Tokens {
  absl::Span<const std::string_view> features;  // The user's, then the context's.
  absl::Span<const std::string_view> recent;
};

// Context tokens always, the user's only with consent. Validation bounds
// the lists; more than the scratch holds are dropped.
Tokens GatherTokens(const BidRequest& req, bool user_restricted, Scratch& s) {
  size_t n_tokens = 0, n_recent = 0;
  auto add = [&](const auto& list, auto& out, size_t& n) {
    for (const auto& t : list) {
      if (n < out.size()) out[n++] = t;
    }
  };
  if (!user_restricted) {
    add(req.user().features(), s.tokens, n_tokens);
    add(req.user().recent(), s.recent, n_recent);
  }
  add(req.context().features(), s.tokens, n_tokens);
  return {absl::MakeConstSpan(s.tokens.data(), n_tokens),
          absl::MakeConstSpan(s.recent.data(), n_recent)};
}

// One pooled context vector and its query, the pass's query of the request
// (at s.queries[request]); each slot class's whole query (for Explain and
// the ANN index) adds its format's part, into r.queries.
void BuildQueries(const attention::Model& model, const attention::TiledKeys& keys,
                  const BidRequest& req, const Tokens& tokens, bool user_restricted, size_t request,
                  Scratch& s, RequestScratch& r) {
  const int d = model.d_model();
  GrowTo(s.u, d);
  GrowTo(s.format_query, d);
  GrowTo(s.effective_query, d);
  GrowTo(r.queries, static_cast<size_t>(r.classes) * d);
  GrowTo(s.queries, (request + 1) * d);
  const auto& user_embedding = req.user().embedding();
  attention::QueryInputs in;
  in.features = tokens.features;
  in.recent = tokens.recent;
  if (!user_restricted) {
    in.user_embedding = absl::MakeConstSpan(user_embedding.data(), user_embedding.size());
  }
  model.ContextVector(in, absl::MakeSpan(s.u.data(), d));
  float* const user_query = s.queries.data() + request * d;
  model.UserQuery(absl::MakeConstSpan(s.u.data(), d), absl::MakeSpan(user_query, d));
  // Each class's whole slot query, with the user's part as the pass scores
  // it (int8 keys: in int16), so that explanations recompute exactly.
  float* const effective = s.effective_query.data();
  std::copy_n(user_query, d, effective);
  attention::EffectiveQuery(keys, absl::MakeSpan(effective, d));
  for (int k = 0, next = 0; k < req.slots_size(); ++k) {
    if (r.slot_class[k] != next) continue;  // Its class has its query.
    model.FormatQuery(req.slots(k).format(), absl::MakeSpan(s.format_query.data(), d));
    float* q = r.queries.data() + static_cast<size_t>(next++) * d;
    for (int j = 0; j < d; ++j) q[j] = effective[j] + s.format_query[j];
  }
}

// Slots in order of position, ties by order in the request.
// (An insertion sort: std::stable_sort allocates a buffer on every call.)
void OrderSlots(const BidRequest& req, std::vector<int>& order) {
  order.resize(req.slots_size());
  std::iota(order.begin(), order.end(), 0);
  for (size_t k = 1; k < order.size(); ++k) {
    const int slot = order[k];
    size_t j = k;
    for (; j > 0 && req.slots(order[j - 1]).position() > req.slots(slot).position(); --j) {
      order[j] = order[j - 1];
    }
    order[j] = slot;
  }
}

// Eligibility, the request's slot bits in the shared mask (from bit
// r.slot_offset; the first request of a pass overwrites the mask, later
// ones add their bits), its query as the pass's `request`-th, and the order
// of its slots.
void Prepare(const Catalog& catalog, const AuctionConfig& config, const BidRequest& req,
             int64_t now_ms, size_t request, AuctionResult* result, Scratch& s, RequestScratch& r) {
  const attention::Model& model = *catalog.model;
  const size_t n_ads = catalog.ads.size();
  const size_t n_campaigns = catalog.campaigns.size();
  result->slots.clear();
  result->no_bid_reason = {};
  result->excluded.fill(0);
  result->user_restricted = UserRestricted(req);
  result->ann_candidates = 0;
  const Tokens tokens = GatherTokens(req, result->user_restricted, s);

  GrowTo(s.campaign_ok, n_campaigns);
  GrowTo(r.placed, n_campaigns);
  std::fill_n(r.placed.data(), n_campaigns, 0);
  GrowTo(r.late, n_campaigns);
  std::fill_n(r.late.data(), n_campaigns, 0);
  const auto campaign_ok = absl::MakeSpan(s.campaign_ok.data(), n_campaigns);
  const Parallel parallel{config.pass_workers, config.pass_split_min_ads};
  const int64_t admitted_ads = CampaignEligibility(catalog, req, tokens.features, now_ms,
                                                   s.eligibility, campaign_ok, result->excluded);
  GrowTo(s.mask, n_ads);
  const auto mask = absl::MakeSpan(s.mask.data(), n_ads);
  BuildAdMask(catalog, req, r.slot_class, campaign_ok, admitted_ads, r.slot_offset, s.eligibility,
              mask, result->excluded, parallel);

  BuildQueries(model, catalog.tiled_keys, req, tokens, result->user_restricted, request, s, r);
  // Large catalogues: only the ANN index's candidates stay eligible.
  if (const attention::AnnIndex* ann = catalog.ann.get(); ann != nullptr) {
    const size_t n_queries = static_cast<size_t>(r.classes) * model.d_model();
    result->ann_candidates = KeepAnnCandidates(
        *ann, config.ann_candidates, absl::MakeConstSpan(r.queries.data(), n_queries),
        r.slot_offset, model.d_model(), model.heads(), s.eligibility, mask);
  }
  OrderSlots(req, r.order);
}

// The slot of a request that explores (an index into its slots), or -1: a
// draw of config.explore_share by the hash of the request id.
int ExploreSlot(const AuctionConfig& config, const BidRequest& req) {
  if (!(config.explore_share > 0.0) || req.slots_size() == 0) return -1;
  const uint64_t h = attention::Mix64(attention::Fnv1a64(req.request_id(), 0x6578706c6f7265));
  // The top 53 bits as a uniform double in [0, 1).
  if (static_cast<double>(h >> 11) * 0x1.0p-53 >= config.explore_share) return -1;
  return static_cast<int>(attention::Mix64(h) % static_cast<uint64_t>(req.slots_size()));
}

// An ad drawn uniformly among those of `pass_slot` that its ranking could
// place (eligible in the pass, campaign not placed, bid at least `floor`),
// by `draw`; ad -1 when there is none. `from`: how many there were. Scans
// the mask over the rows of the slot's format (only explored slots pay for
// it; no other row has the slot's bit).
Pick ExploreAd(const Catalog& catalog, absl::Span<const uint16_t> mask, int pass_slot,
               const std::string& format, absl::Span<const uint8_t> placed, int64_t floor,
               uint64_t draw, int64_t* from) {
  *from = 0;
  const auto f = std::find(catalog.formats.begin(), catalog.formats.end(), format);
  if (f == catalog.formats.end()) return {};
  const size_t begin = catalog.format_rows[f - catalog.formats.begin()];
  const size_t end = catalog.format_rows[f - catalog.formats.begin() + 1];
  const uint16_t bit = static_cast<uint16_t>(1u << pass_slot);
  auto may_place = [&](size_t row) {
    if ((mask[row] & bit) == 0) return false;
    const int32_t c = catalog.ads[row].campaign;
    return !placed[c] && catalog.campaigns[c]->bid_cpm_micros >= floor;
  };
  int64_t n = 0;
  for (size_t row = begin; row < end; ++row) n += may_place(row);
  *from = n;
  if (n == 0) return {};
  int64_t k = static_cast<int64_t>(draw % static_cast<uint64_t>(n));
  for (size_t row = begin; row < end; ++row) {
    if (may_place(row) && k-- == 0) {
      return Pick{static_cast<int32_t>(row), catalog.ads[row].campaign, -1.0};
    }
  }
  return {};
}

NoBidReason WhyNoBid(bool timed_out, bool any_eligible, bool any_above_floor, bool late_excluded) {
  if (timed_out) return NoBidReason::kTimeout;
  if (any_eligible && !any_above_floor && !late_excluded) return NoBidReason::kBelowFloor;
  return NoBidReason::kNoEligibleCampaigns;
}

// Ranking, allocation and pricing of one request from the shared pass (its
// slots start at r.slot_offset there), slot by slot in order of position,
// and its explanation.
void Allocate(const Catalog& catalog, const AuctionConfig& config, const BidRequest& req,
              int64_t now_ms, absl::Time deadline, bool pass_ran, Scratch& s, RequestScratch& r,
              AuctionResult* result, attex::v1::Explanation* explanation) {
  const int d = catalog.model->d_model();
  const bool first_price = IsFirstPrice(req.auction_type(), config.default_type);
  const auto placed = absl::MakeConstSpan(r.placed.data(), catalog.campaigns.size());
  const attention::AttentionPass& pass = s.pass;
  bool any_eligible = false, any_above_floor = false, timed_out = false, late_excluded = false;
  LateChecks late(catalog, config.frequency, FrequencyUserKey(req), now_ms,
                  absl::MakeSpan(r.late.data(), catalog.campaigns.size()), result->excluded);
  // Each slot's floor; a class of several slots draws its candidates once.
  std::array<int64_t, api::kMaxSlots> floors;
  std::array<int, api::kMaxSlots> class_slots{};
  for (int c = 0; c < r.classes; ++c) {
    s.classes[c].count = -1;
    s.classes[c].min_floor = std::numeric_limits<int64_t>::max();
  }
  for (int k = 0; k < req.slots_size() && pass_ran; ++k) {
    const int c = r.slot_class[k];
    floors[k] = SlotFloor(req.slots(k).floor_cpm_micros(), config.default_floor_cpm_micros,
                          config.reserve_rho, pass.context(r.slot_offset + c));
    s.classes[c].min_floor = std::min(s.classes[c].min_floor, floors[k]);
    ++class_slots[c];
  }
  const int explore_slot = ExploreSlot(config, req);
  for (int c = 0; c < r.classes; ++c) {
    s.classes[c].capacity =
        class_slots[c] > 1 ? std::min(kRankCandidates * (class_slots[c] + 1), kMaxClassCandidates)
                           : 0;
  }
  for (int slot_index : r.order) {
    if (!pass_ran || absl::Now() > deadline) {
      timed_out = true;
      break;
    }
    const int slot_class = r.slot_class[slot_index];
    const int pass_slot = r.slot_offset + slot_class;
    any_eligible |= pass.eligible(pass_slot) > 0;
    const auto& slot = req.slots(slot_index);
    const int64_t floor = floors[slot_index];
    ClassCandidates* shared = s.classes[slot_class].capacity > 0 ? &s.classes[slot_class] : nullptr;
    const SlotRanking ranking =
        RankSlot(catalog, pass, pass_slot, placed, floor, late, s.candidates, shared);
    late_excluded |= ranking.late_excluded;
    SlotOutcome outcome{slot_index};
    if (const Pick& best = ranking.best; best.ad >= 0) {
      any_above_floor = true;
      const Pick& second = ranking.runner_up;
      outcome.ad = best.ad;
      outcome.weight = pass.Weight(pass_slot, best.ad);
      outcome.price_cpm_micros = ClearingPrice(
          first_price, catalog.campaigns[best.campaign]->bid_cpm_micros, outcome.weight,
          second.ad >= 0 ? std::optional<double>(second.score) : std::nullopt, floor);
      if (slot_index == explore_slot) {
        int64_t from = 0;
        const uint64_t draw = attention::Mix64(attention::Fnv1a64(req.request_id(), 0x736c6f74) +
                                               static_cast<uint64_t>(slot_index));
        const Pick pick =
            ExploreAd(catalog, absl::MakeConstSpan(s.mask.data(), catalog.ads.size()), pass_slot,
                      req.slots(slot_index).format(), placed, floor, draw, &from);
        if (pick.ad >= 0 && late.Check(pick.campaign) == Exclusion::kCount) {
          outcome.ad = pick.ad;
          outcome.weight = pass.Weight(pass_slot, pick.ad);
          outcome.price_cpm_micros = floor;
          outcome.explore_propensity = 1.0 / static_cast<double>(from);
        }
      }
      r.placed[catalog.ads[outcome.ad].campaign] = 1;
      result->slots.push_back(outcome);
    }
    if (explanation != nullptr) {
      const SlotDecision decision{
          pass_slot, absl::MakeConstSpan(r.queries.data() + static_cast<size_t>(slot_class) * d, d),
          floor,     outcome,
          placed,    &late};
      ExplainSlot(catalog, pass, slot, decision, config.explain_top, explanation->add_slots());
    }
  }
  if (result->slots.empty()) {
    result->no_bid_reason =
        NoBidReasonName(WhyNoBid(timed_out, any_eligible, any_above_floor, late_excluded));
  }
  if (explanation != nullptr) ExplainRequest(catalog, *result, explanation);
}

// Clears the mask bits of the pass's requests [begin, end) whose deadline
// passed before the pass: they are not scored.
void DropUnwanted(absl::Span<const AuctionJob> jobs, size_t begin, size_t end, int slots,
                  size_t n_ads, Scratch& s) {
  uint16_t keep = 0;
  for (size_t j = begin; j < end; ++j) {
    const int n = s.requests[j].classes;
    if (s.requests[j].wanted) {
      keep |= static_cast<uint16_t>(((1u << n) - 1) << s.requests[j].slot_offset);
    }
  }
  if (keep != static_cast<uint16_t>((1u << slots) - 1)) {
    for (size_t i = 0; i < n_ads; ++i) s.mask[i] &= keep;
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
    s.request_slots.clear();
    for (; end < jobs.size(); ++end) {
      RequestScratch& r = s.requests[end];
      r.classes = SlotClasses(*jobs[end].request, r.slot_class);
      const int n = r.classes;
      if (end > begin && slots + n > attention::kMaxPassSlots) break;
      r.slot_offset = slots;
      slots += n;
      Prepare(catalog, config, *jobs[end].request, jobs[end].now_ms, end - begin, jobs[end].result,
              s, r);
      r.wanted = n > 0 && absl::Now() <= jobs[end].deadline;
      any_wanted |= r.wanted;
      s.request_slots.push_back(n);  // At least 1: validation refuses no slots.
    }
    if (any_wanted) {
      DropUnwanted(jobs, begin, end, slots, n_ads, s);
      s.pass.set_workers(config.pass_workers, config.pass_split_min_ads);
      const attention::ValueChunks values{catalog.values.chunk_data(), ChunkedArray<float>::kShift,
                                          static_cast<int64_t>(n_ads)};
      s.pass.Run(catalog.tiled_keys, values, absl::MakeConstSpan(s.mask.data(), n_ads),
                 absl::MakeConstSpan(s.queries.data(), s.request_slots.size() * d),
                 s.request_slots);
    }
    for (size_t j = begin; j < end; ++j) {
      Allocate(catalog, config, *jobs[j].request, jobs[j].now_ms, jobs[j].deadline,
               s.requests[j].wanted, s, s.requests[j], jobs[j].result, jobs[j].explanation);
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
