#include "auction/auction.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "attention/scorer.h"

namespace attex::auction {
namespace {

using attex::v1::BidRequest;

constexpr size_t kMaxTokens = 1024;  // Validation bounds features well below.

// Per-thread buffers, grown to the largest catalogue seen and then reused.
struct Scratch {
  std::vector<uint8_t> campaign_ok;
  std::vector<uint8_t> placed;
  std::vector<uint8_t> mask;
  std::vector<float> weights;
  std::vector<float> u;
  std::vector<float> q;
  std::vector<double> log_norms;
  std::vector<int> order;
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

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

template <typename Repeated>
bool RepeatedContains(const Repeated& list, std::string_view value) {
  for (const auto& item : list) {
    if (item == value) return true;
  }
  return false;
}

// The first reason the campaign is not eligible for this request, or kCount.
Exclusion CheckCampaign(const CompiledCampaign& c, const BidRequest& req,
                        absl::Span<const std::string_view> tokens, int64_t now_ms) {
  const int64_t now_s = now_ms / 1000;
  if (c.status != attex::v1::CAMPAIGN_STATUS_ACTIVE) return Exclusion::kStatus;
  if ((c.start_s != 0 && now_s < c.start_s) || (c.end_s != 0 && now_s >= c.end_s)) {
    return Exclusion::kSchedule;
  }
  if (!c.countries.empty() && !Contains(c.countries, req.context().country())) {
    return Exclusion::kCountry;
  }
  if (!c.device_types.empty() && !Contains(c.device_types, req.context().device_type())) {
    return Exclusion::kDeviceType;
  }
  if (!c.include_features.empty() &&
      std::none_of(tokens.begin(), tokens.end(),
                   [&](std::string_view t) { return c.include_features.contains(absl::string_view(t.data(), t.size())); })) {
    return Exclusion::kIncludeFeatures;
  }
  if (!c.exclude_features.empty() &&
      std::any_of(tokens.begin(), tokens.end(),
                  [&](std::string_view t) { return c.exclude_features.contains(absl::string_view(t.data(), t.size())); })) {
    return Exclusion::kExcludeFeatures;
  }
  if (c.hours_mask != 0 && !(c.hours_mask & (1u << ((now_ms / 3'600'000) % 24)))) {
    return Exclusion::kHours;
  }
  if (RepeatedContains(req.blocked_advertisers(), c.advertiser_id)) {
    return Exclusion::kBlockedAdvertiser;
  }
  // The most one impression can cost is the bid.
  if (c.RemainingMicros(now_ms) < c.bid_cpm_micros / 1000 || c.RemainingMicros(now_ms) <= 0) {
    return Exclusion::kBudget;
  }
  return Exclusion::kCount;
}

struct Pick {
  int32_t ad = -1;
  int32_t campaign = -1;
  double score = -1.0;
};

}  // namespace

std::string_view ExclusionName(Exclusion e) {
  static constexpr std::string_view kNames[] = {
      "status",           "schedule",     "country",          "device_type",
      "include_features", "exclude_features", "hours",        "blocked_category",
      "blocked_advertiser", "format",     "budget"};
  return kNames[static_cast<int>(e)];
}

bool UserRestricted(const BidRequest& request) {
  const auto& consent = request.user().consent();
  return consent.coppa() || consent.limit_ad_tracking() ||
         (consent.gdpr_applies() && consent.tcf_consent().empty());
}

void RunAuction(const Catalog& catalog, const AuctionConfig& config, const BidRequest& req,
                int64_t now_ms, absl::Time deadline, AuctionResult* result,
                attex::v1::Explanation* explanation) {
  Scratch& s = ThreadScratch();
  const attention::Model& model = *catalog.model;
  const int d = model.d_model();
  const int heads = model.heads();
  const size_t n_ads = catalog.ads.size();
  const size_t n_campaigns = catalog.campaigns.size();
  result->slots.clear();
  result->no_bid_reason = {};
  result->excluded.fill(0);
  result->user_restricted = UserRestricted(req);

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
  Resize(s.placed, n_campaigns);
  for (size_t c = 0; c < n_campaigns; ++c) {
    Exclusion why = CheckCampaign(*catalog.campaigns[c], req, tokens, now_ms);
    s.campaign_ok[c] = why == Exclusion::kCount;
    s.placed[c] = 0;
    if (why != Exclusion::kCount) {
      result->excluded[static_cast<int>(why)] += catalog.campaigns[c]->creatives.size();
    }
  }
  // Creative-level: blocked categories, and formats no slot asks for.
  Resize(s.mask, n_ads);
  for (size_t i = 0; i < n_ads; ++i) {
    const AdRef ref = catalog.ads[i];
    if (!s.campaign_ok[ref.campaign]) continue;
    const auto& cr = catalog.campaigns[ref.campaign]->creatives[ref.creative];
    if (RepeatedContains(req.blocked_categories(), cr.category)) {
      ++result->excluded[static_cast<int>(Exclusion::kBlockedCategory)];
    } else if (std::none_of(req.slots().begin(), req.slots().end(),
                            [&](const auto& slot) { return slot.format() == cr.format; })) {
      ++result->excluded[static_cast<int>(Exclusion::kFormat)];
    }
  }

  // The query side: one pooled vector, one query per slot.
  Resize(s.u, d);
  Resize(s.q, d);
  Resize(s.weights, n_ads);
  Resize(s.log_norms, heads);
  const auto& user_embedding = req.user().embedding();
  attention::QueryInputs in;
  in.features = tokens;
  in.recent = absl::MakeConstSpan(s.recent.data(), n_recent);
  if (!result->user_restricted) {
    in.user_embedding = absl::MakeConstSpan(user_embedding.data(), user_embedding.size());
  }
  model.ContextVector(in, absl::MakeSpan(s.u.data(), d));
  const attention::KeyView keys{catalog.keys.data(), static_cast<int64_t>(n_ads), d, heads};

  // Slots in order of position, ties by order in the request.
  s.order.resize(req.slots_size());
  std::iota(s.order.begin(), s.order.end(), 0);
  std::stable_sort(s.order.begin(), s.order.end(), [&](int a, int b) {
    return req.slots(a).position() < req.slots(b).position();
  });
  const bool first_price = req.auction_type() == attex::v1::AUCTION_TYPE_FIRST_PRICE ||
                           (req.auction_type() == attex::v1::AUCTION_TYPE_UNSPECIFIED &&
                            config.default_type == attex::v1::AUCTION_TYPE_FIRST_PRICE);
  bool any_eligible = false, any_above_floor = false, timed_out = false;

  for (int slot_index : s.order) {
    if (absl::Now() > deadline) {
      timed_out = true;
      break;
    }
    const auto& slot = req.slots(slot_index);
    for (size_t i = 0; i < n_ads; ++i) {
      const AdRef ref = catalog.ads[i];
      const auto& cr = catalog.campaigns[ref.campaign]->creatives[ref.creative];
      s.mask[i] = s.campaign_ok[ref.campaign] && cr.format == slot.format() &&
                  !RepeatedContains(req.blocked_categories(), cr.category);
    }
    model.SlotQuery(absl::MakeConstSpan(s.u.data(), d), slot.format(), slot.position(),
                    absl::MakeSpan(s.q.data(), d));
    attention::SlotScores scores{absl::MakeSpan(s.weights.data(), n_ads),
                                 absl::MakeSpan(s.log_norms.data(), heads)};
    attention::ScoreSlot(keys, catalog.values, absl::MakeConstSpan(s.mask.data(), n_ads),
                         absl::MakeConstSpan(s.q.data(), d), &scores);
    any_eligible |= scores.eligible > 0;

    int64_t floor = slot.floor_cpm_micros() > 0 ? slot.floor_cpm_micros()
                                                : config.default_floor_cpm_micros;
    floor = std::max<int64_t>(floor, std::llround(config.reserve_rho * scores.context));

    // Best and runner-up by weight x bid; the runner-up is of another campaign.
    Pick best, second;
    for (size_t i = 0; i < n_ads; ++i) {
      if (!s.mask[i]) continue;
      const AdRef ref = catalog.ads[i];
      const auto& campaign = *catalog.campaigns[ref.campaign];
      if (s.placed[ref.campaign] || campaign.bid_cpm_micros < floor) continue;
      const Pick p{static_cast<int32_t>(i), ref.campaign,
                   s.weights[i] * static_cast<double>(campaign.bid_cpm_micros)};
      if (p.score > best.score) {
        if (p.campaign != best.campaign) second = best;
        best = p;
      } else if (p.score > second.score && p.campaign != best.campaign) {
        second = p;
      }
    }

    SlotOutcome outcome{slot_index};
    if (best.ad >= 0) {
      any_above_floor = true;
      const auto& winner = *catalog.campaigns[best.campaign];
      const double weight = s.weights[best.ad];
      int64_t price = winner.bid_cpm_micros;
      if (!first_price) {
        // The least bid that would have kept the rank: runner-up score / weight.
        price = second.ad >= 0 && weight > 0
                    ? static_cast<int64_t>(std::ceil(second.score / weight))
                    : floor;
        price = std::clamp<int64_t>(price, floor, winner.bid_cpm_micros);
      }
      outcome.ad = best.ad;
      outcome.price_cpm_micros = price;
      outcome.weight = weight;
      s.placed[best.campaign] = 1;
      result->slots.push_back(outcome);
    }

    if (explanation != nullptr) {
      auto* ex = explanation->add_slots();
      ex->set_slot_id(slot.id());
      for (int j = 0; j < d; ++j) ex->add_query(s.q[j]);
      ex->set_scale(1.0 / std::sqrt(static_cast<double>(model.d_head())));
      for (int h = 0; h < heads; ++h) ex->add_log_normalisers(s.log_norms[h]);
      ex->set_eligible(static_cast<int32_t>(scores.eligible));
      ex->set_attention_price_cpm_micros(scores.context);
      ex->set_floor_cpm_micros(floor);
      if (outcome.ad >= 0) {
        ex->set_winner_campaign_id(catalog.campaigns[best.campaign]->id);
        ex->set_price_cpm_micros(outcome.price_cpm_micros);
      }
      std::vector<int32_t> eligible;
      for (size_t i = 0; i < n_ads; ++i) {
        if (s.mask[i]) eligible.push_back(static_cast<int32_t>(i));
      }
      auto score_of = [&](int32_t i) {
        return s.weights[i] * catalog.campaigns[catalog.ads[i].campaign]->bid_cpm_micros;
      };
      const size_t top = std::min<size_t>(eligible.size(), config.explain_top);
      std::partial_sort(eligible.begin(), eligible.begin() + top, eligible.end(),
                        [&](int32_t a, int32_t b) {
                          return score_of(a) != score_of(b) ? score_of(a) > score_of(b) : a < b;
                        });
      std::vector<double> head_scores(heads);
      for (size_t k = 0; k < top; ++k) {
        const int32_t i = eligible[k];
        const AdRef ref = catalog.ads[i];
        const auto& campaign = *catalog.campaigns[ref.campaign];
        auto* cand = ex->add_candidates();
        cand->set_campaign_id(campaign.id);
        cand->set_creative_id(campaign.creatives[ref.creative].id);
        cand->set_advertiser_id(campaign.advertiser_id);
        cand->set_bid_cpm_micros(campaign.bid_cpm_micros);
        const float* key = catalog.keys.data() + static_cast<size_t>(i) * d;
        cand->mutable_key()->Add(key, key + d);
        attention::HeadScores(keys, i, absl::MakeConstSpan(s.q.data(), d),
                              absl::MakeSpan(head_scores));
        for (double hs : head_scores) cand->add_head_scores(hs);
        cand->set_attention_weight(s.weights[i]);
        cand->set_ranking_score(score_of(i));
        if (i == outcome.ad) {
          cand->set_winner(true);
        } else if (campaign.bid_cpm_micros < floor) {
          cand->set_lost_reason("below_floor");
        } else if (s.placed[ref.campaign] &&
                   (outcome.ad < 0 || catalog.ads[outcome.ad].campaign != ref.campaign)) {
          cand->set_lost_reason("placed_in_earlier_slot");
        } else {
          cand->set_lost_reason("outranked");
        }
      }
    }
  }

  if (result->slots.empty()) {
    result->no_bid_reason = timed_out          ? "timeout"
                            : !any_eligible    ? "no_eligible_campaigns"
                            : !any_above_floor ? "below_floor"
                                               : "no_eligible_campaigns";
  }
  if (explanation != nullptr) {
    for (int e = 0; e < static_cast<int>(Exclusion::kCount); ++e) {
      if (result->excluded[e] > 0) {
        (*explanation->mutable_excluded())[std::string(ExclusionName(static_cast<Exclusion>(e)))] =
            result->excluded[e];
      }
    }
    explanation->set_no_bid_reason(std::string(result->no_bid_reason));
    explanation->set_model_version(model.version());
    explanation->set_d_model(d);
    explanation->set_heads(heads);
  }
}

}  // namespace attex::auction
