// Proves the hot path allocates nothing: this binary interposes glibc's
// malloc family (which operator new and Eigen both reach) with counting
// wrappers, and the tests compare the count around the hot-path calls.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "attention/model.h"
#include "attention/scorer.h"
#include "gtest/gtest.h"
#include "tests/testing/allocation_counter.h"

namespace attex::attention {
namespace {

using ::attex::testing::Allocations;

class NoAllocTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef ATTEX_COUNT_ALLOCATIONS
    GTEST_SKIP() << "allocation counting needs glibc without sanitizers";
#endif
  }
};

TEST_F(NoAllocTest, TheCounterSeesAnAllocation) {
  const int64_t before = Allocations();
  auto p = std::make_unique<std::vector<int>>(100);
  EXPECT_GT(Allocations(), before);
  EXPECT_EQ(p->size(), 100u);
}

TEST_F(NoAllocTest, RequestPathAllocatesNothing) {
  const auto model = Model::Default();
  ModelConfig summed_config;
  summed_config.pooling = Pooling::kSum;
  const auto summed = Model::Default(summed_config);
  const int d = model->d_model();
  const int64_t n = 1000;
  std::vector<float> keys(n * d);
  std::vector<std::string_view> ad = {"kw:a", "kw:b", "advertiser:c"};
  for (int64_t i = 0; i < n; ++i) {
    ad[0] = (i % 2) ? "kw:x" : "kw:y";
    model->AdKey(ad, {}, absl::MakeSpan(keys.data() + i * d, d));
  }
  std::vector<float> values(n, 1.5f);
  std::vector<uint8_t> mask(n, 1);
  mask[7] = 0;
  std::vector<float> weights(n);
  std::vector<double> log_norm(model->heads());
  std::vector<double> head_scores(model->heads());
  std::vector<float> u(d), q(d), user_embedding(d, 0.5f);
  const std::vector<std::string_view> features = {"interest:running", "geo:US", "device:mobile"};
  std::vector<std::string_view> recent(100, "kw:marathon");  // Beyond kMaxRecent.
  recent.back() = "kw:shoes";

  const int64_t before = Allocations();
  for (int round = 0; round < 3; ++round) {
    model->ContextVector({features, recent, {}}, absl::MakeSpan(u));
    summed->ContextVector({features, recent, {}}, absl::MakeSpan(u));
    summed->ContextVector({features, recent, user_embedding}, absl::MakeSpan(u));
    model->ContextVector({features, {}, user_embedding}, absl::MakeSpan(u));
    model->SlotQuery(u, "banner", absl::MakeSpan(q));
    SlotScores out{absl::MakeSpan(weights), absl::MakeSpan(log_norm)};
    ScoreSlot({keys.data(), n, d, model->heads()}, values, mask, q, &out);
    HeadScores({keys.data(), n, d, model->heads()}, 3, q, absl::MakeSpan(head_scores));
  }
  const int64_t after = Allocations();
  EXPECT_EQ(after - before, 0);
  EXPECT_GT(weights[0], 0.0f);  // The calls did real work.
}

}  // namespace
}  // namespace attex::attention
