// ANN candidate retrieval (hnswlib) over the default model's keys: exact on
// small catalogues, and recall@10 of the exact attention top 10 on a larger
// one.
#include "attention/ann.h"

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

std::vector<float> AdKeys(const Model& model, int64_t rows) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> word(0, 4999), interest(0, 299), advertiser(0, 999);
  const int d = model.d_model();
  std::vector<float> keys(rows * d);
  for (int64_t i = 0; i < rows; ++i) {
    const std::string t[] = {absl::StrCat("kw:w", word(rng)), absl::StrCat("kw:w", word(rng)),
                             absl::StrCat("interest:i", interest(rng)),
                             absl::StrCat("advertiser:a", advertiser(rng))};
    const std::string_view v[] = {t[0], t[1], t[2], t[3]};
    model.AdKey(v, {}, absl::MakeSpan(keys.data() + i * d, d));
  }
  return keys;
}

std::vector<float> Query(const Model& model, int k) {
  std::mt19937 rng(100 + k);
  std::uniform_int_distribution<int> word(0, 4999), interest(0, 299);
  const std::string f[] = {absl::StrCat("interest:i", interest(rng)),
                           absl::StrCat("kw:w", word(rng))};
  const std::string_view v[] = {f[0], f[1]};
  std::vector<float> u(model.d_model()), q(model.d_model());
  model.ContextVector({v, {}, {}}, absl::MakeSpan(u));
  model.SlotQuery(u, "banner", absl::MakeSpan(q));
  return q;
}

TEST(AnnIndexTest, FindsTheLargestInnerProductsOfASmallCatalogue) {
  const auto model = Model::Default();
  const int d = model->d_model();
  const std::vector<float> keys = AdKeys(*model, 300);
  auto index = AnnIndex::Build(keys, 300, d);
  ASSERT_TRUE(index.ok()) << index.status();
  const std::vector<float> q = Query(*model, 0);
  std::vector<std::pair<float, int64_t>> brute;
  for (int64_t i = 0; i < 300; ++i) {
    float dot = 0;
    for (int j = 0; j < d; ++j) dot += keys[i * d + j] * q[j];
    brute.push_back({-dot, i});
  }
  std::sort(brute.begin(), brute.end());
  std::vector<int64_t> found(5);
  ASSERT_EQ((*index)->Search(q, absl::MakeSpan(found)), 5);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(found[k], brute[k].second) << "rank " << k;
}

TEST(AnnIndexTest, RejectsABadShape) {
  std::vector<float> keys(10);
  EXPECT_EQ(AnnIndex::Build(keys, 3, 4).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AnnIndexTest, RecallsTheExactAttentionTopTen) {
  // The exact top 10 by attention weight (every value 1) against the 200
  // candidates the graph retrieves by inner product.
  const auto model = Model::Default();
  const int d = model->d_model();
  const int64_t rows = 10'000;
  const std::vector<float> keys = AdKeys(*model, rows);
  auto index = AnnIndex::Build(keys, rows, d);
  ASSERT_TRUE(index.ok()) << index.status();
  const TiledKeys tiled(keys, rows, d, model->heads());
  const std::vector<float> values(rows, 1.0f);
  const std::vector<uint16_t> mask(rows, 1);
  AttentionPass pass;
  int hits = 0, total = 0;
  for (int k = 0; k < 20; ++k) {
    const std::vector<float> q = Query(*model, k);
    pass.Run(tiled, values, mask, q, 1);
    std::vector<Candidate> top(10);
    top.resize(pass.TopK(0, absl::MakeSpan(top)));
    std::vector<int64_t> candidates(200);
    candidates.resize((*index)->Search(q, absl::MakeSpan(candidates)));
    for (const Candidate& c : top) {
      hits += std::count(candidates.begin(), candidates.end(), c.row) > 0;
      ++total;
    }
  }
  const double recall = static_cast<double>(hits) / total;
  std::printf("recall@10 within 200 ANN candidates of 10,000 ads: %.3f\n", recall);
  EXPECT_GE(recall, 0.9);
}

}  // namespace
}  // namespace attex::attention
