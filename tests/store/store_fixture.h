// What the store tests share: a store of each back end (SQLite in a fresh
// data dir, PostgreSQL in a fresh database), which a test can reopen, and
// the campaigns and billing events they record.
#ifndef ATTEX_TESTS_STORE_STORE_FIXTURE_H_
#define ATTEX_TESTS_STORE_STORE_FIXTURE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/testing/billing_events.h"
#include "tests/testing/campaign_builder.h"
#include "tests/testing/test_store.h"

namespace attex::store {

inline constexpr int64_t kNow = 1'700'000'000'000;

inline attex::v1::Campaign MakeCampaign(const std::string& advertiser, const std::string& name) {
  return attex::testing::CampaignBuilder()
      .Advertiser(advertiser)
      .Name(name)
      .Status(attex::v1::CAMPAIGN_STATUS_ACTIVE)
      .BidCpm(2'500'000)
      .DailyBudget(10'000'000)
      .TotalBudget(100'000'000)
      .Country("US")
      .Creative("banner")
      .CreativeId("cr-1")
      .Features({"kw:marathon"})
      .Embedding({0.5f})
      .Build();
}

// An impression billed to `campaign` whose price is split between the
// advertiser, the platform (70%), the user (10%) and the exchange.
inline BillingEvent Impression(const std::string& token_hash, const std::string& campaign,
                               int64_t price, int64_t at_ms) {
  return attex::testing::TestImpression(token_hash, campaign, price, at_ms, 70, 10);
}

inline BillingEvent Click(const std::string& token_hash, const std::string& campaign,
                          int64_t at_ms) {
  return attex::testing::TestClick(token_hash, campaign, at_ms);
}

// Parameterised over the back ends: TEST_P(StoreTest, ...) runs on both.
class StoreTest : public ::testing::TestWithParam<attex::testing::Backend> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(place_.ok());
    Reopen();
  }
  void TearDown() override { store_.reset(); }
  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store = place_.Open();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  int64_t Balance(const std::string& account) {
    absl::StatusOr<attex::store::LedgerBalances> balances = store_->Balances(account);
    EXPECT_TRUE(balances.ok()) << balances.status();
    for (const auto& b : balances->accounts) {
      if (b.account == account) return b.balance_micros;
    }
    return 0;
  }

  attex::testing::TestStore place_{GetParam()};
  std::unique_ptr<Store> store_;
};

}  // namespace attex::store

#endif  // ATTEX_TESTS_STORE_STORE_FIXTURE_H_
