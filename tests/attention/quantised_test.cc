// bf16 and int8 keys against float32 keys on the default model's own
// embeddings of a large synthetic catalogue: the top 10 by weight x bid must
// agree on at least 99% (bf16) and 95% (int8) of places.
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attention/fused.h"
#include "attention/model.h"
#include "gtest/gtest.h"

namespace attex::attention {
namespace {

struct Catalogue {
  int64_t rows = 0;
  std::vector<float> keys;
  std::vector<float> values;
  std::vector<uint16_t> mask;
};

// Ads described like compiled creatives: keywords, interests, a category and
// an advertiser, drawn from vocabularies large enough for distinct keys.
Catalogue SyntheticCatalogue(const Model& model, int64_t rows) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> word(0, 4999), interest(0, 299), category(0, 49),
      advertiser(0, 999), bid(100, 5000);
  Catalogue c;
  c.rows = rows;
  const int d = model.d_model();
  c.keys.resize(rows * d);
  std::vector<std::string> tokens(5);
  std::vector<std::string_view> views(5);
  for (int64_t i = 0; i < rows; ++i) {
    tokens[0] = absl::StrCat("kw:w", word(rng));
    tokens[1] = absl::StrCat("kw:w", word(rng));
    tokens[2] = absl::StrCat("interest:i", interest(rng));
    tokens[3] = absl::StrCat("category:c", category(rng));
    tokens[4] = absl::StrCat("advertiser:a", advertiser(rng));
    for (int t = 0; t < 5; ++t) views[t] = tokens[t];
    model.AdKey(views, {}, absl::MakeSpan(c.keys.data() + i * d, d));
    c.values.push_back(1000.0f * bid(rng));
    c.mask.push_back(1);
  }
  return c;
}

std::vector<float> Queries(const Model& model, int count) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> word(0, 4999), interest(0, 299);
  const int d = model.d_model();
  std::vector<float> queries(count * d), u(d);
  for (int k = 0; k < count; ++k) {
    const std::string f[] = {absl::StrCat("interest:i", interest(rng)),
                             absl::StrCat("kw:w", word(rng)), absl::StrCat("kw:w", word(rng))};
    const std::string_view views[] = {f[0], f[1], f[2]};
    model.ContextVector({views, {}, {}}, absl::MakeSpan(u));
    model.SlotQuery(u, "banner", absl::MakeSpan(queries.data() + k * d, d));
  }
  return queries;
}

std::vector<int64_t> Top10(const TiledKeys& keys, const Catalogue& c, const float* query) {
  AttentionPass pass;
  pass.Run(keys, c.values, c.mask, absl::MakeConstSpan(query, keys.d_model()), 1);
  std::vector<Candidate> top(10);
  top.resize(pass.TopK(0, absl::MakeSpan(top)));
  std::vector<int64_t> rows;
  for (const Candidate& cand : top) rows.push_back(cand.row);
  return rows;
}

double TopTenAgreement(KeyFormat format) {
  const auto model = Model::Default();
  const Catalogue c = SyntheticCatalogue(*model, 50'000);
  const int d = model->d_model();
  const TiledKeys exact(c.keys, c.rows, d, model->heads(), KeyFormat::kFloat32);
  const TiledKeys narrow(c.keys, c.rows, d, model->heads(), format);
  const int kQueries = 60;
  const std::vector<float> queries = Queries(*model, kQueries);
  int agree = 0, total = 0;
  for (int k = 0; k < kQueries; ++k) {
    std::vector<int64_t> a = Top10(exact, c, queries.data() + k * d);
    std::vector<int64_t> b = Top10(narrow, c, queries.data() + k * d);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    std::vector<int64_t> both;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
    agree += static_cast<int>(both.size());
    total += static_cast<int>(a.size());
  }
  return static_cast<double>(agree) / total;
}

// The narrow keys decide on their own numbers (no re-ranking with float32
// keys: what Explain reports must recompute the decision), so their top 10
// may differ from float32's where two ads' weights are within the keys'
// rounding.
TEST(QuantisedKeysTest, Bf16TopTenAgreesWithFloat32) {
  const double agreement = TopTenAgreement(KeyFormat::kBfloat16);
  std::printf("bf16 top-10 agreement with float32: %.4f\n", agreement);
  EXPECT_GE(agreement, 0.99);
}

TEST(QuantisedKeysTest, Int8TopTenAgreesWithFloat32) {
  // About 98.8% of places on this catalogue.
  const double agreement = TopTenAgreement(KeyFormat::kInt8);
  std::printf("int8 top-10 agreement with float32: %.4f\n", agreement);
  EXPECT_GE(agreement, 0.95);
}

}  // namespace
}  // namespace attex::attention
