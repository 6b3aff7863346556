#include <map>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "attention/model.h"
#include "auction/billing_token.h"
#include "gtest/gtest.h"
#include "server/core.h"
#include "server/exchange_service.h"
#include "store/store.h"
#include "tests/testing/temp_dir.h"

namespace attex::server {
namespace {

using ::attex::testing::TempDir;

using attex::v1::Event;
using attex::v1::EVENT_RESULT_ACCEPTED;
using attex::v1::EVENT_RESULT_DUPLICATE;
using attex::v1::EVENT_RESULT_EXPIRED;
using attex::v1::EVENT_RESULT_INVALID;
using attex::v1::EVENT_TYPE_CLICK;
using attex::v1::EVENT_TYPE_IMPRESSION;
using attex::v1::EventOutcome;

constexpr int64_t kNowMs = 1'700'000'000'000;
const Caller kPlatform{"acc-2", attex::v1::ROLE_PLATFORM};

auction::BillingClaims Claims() {
  auction::BillingClaims claims;
  claims.campaign_id = "cmp-1";
  claims.creative_id = "cr-1";
  claims.advertiser_id = "acc-3";
  claims.platform_id = "acc-2";
  claims.slot_id = "s1";
  claims.request_id = "req-1";
  claims.user_key = "u1";
  claims.price_cpm_micros = 2'500'000;
  claims.issued_ms = kNowMs - 1000;
  claims.expires_ms = kNowMs + 3'600'000;
  claims.nonce = 42;
  return claims;
}

Event MakeEvent(const std::string& token, attex::v1::EventType type,
                const std::string& id = "ev-1") {
  Event e;
  e.set_billing_token(token);
  e.set_type(type);
  e.set_event_id(id);
  return e;
}

class RecordEventTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::OpenSqliteStore(dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    ServerOptions options;
    options.data_dir = dir_.path();
    core_ = std::make_unique<Core>(options, *std::move(store), attention::Model::Default(),
                                   std::string(32, 'k'));
  }
  void TearDown() override {
    if (core_ != nullptr) core_->queue.Stop();
    core_.reset();
  }

  EventOutcome Record(const Caller& caller, const Event& event, int64_t now_ms = kNowMs) {
    auto outcome = RecordEvent(*core_, caller, event, now_ms);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? *outcome : EventOutcome();
  }

  // Every ledger account's balance, and the sum over the whole ledger.
  std::map<std::string, int64_t> Balances(int64_t* sum) {
    std::map<std::string, int64_t> out;
    auto balances = core_->store->Balances("");
    EXPECT_TRUE(balances.ok()) << balances.status();
    if (!balances.ok()) return out;
    for (const auto& b : balances->accounts) out[b.account] = b.balance_micros;
    *sum = balances->ledger_sum_micros;
    return out;
  }

  std::string Sign(const auction::BillingClaims& claims) { return core_->signer.Sign(claims); }

  TempDir dir_;
  std::unique_ptr<Core> core_;
};

TEST_F(RecordEventTest, ImpressionIsAcceptedAndChargedOnce) {
  const std::string token = Sign(Claims());
  EventOutcome first = Record(kPlatform, MakeEvent(token, EVENT_TYPE_IMPRESSION, "ev-7"));
  EXPECT_EQ(first.result(), EVENT_RESULT_ACCEPTED);
  EXPECT_EQ(first.charged_micros(), 2500);
  EXPECT_EQ(first.event_id(), "ev-7");
  EXPECT_EQ(core_->catalog_manager.Budget("cmp-1")->total(), 2500);
  EXPECT_EQ(core_->catalog_manager.Budget("cmp-1")->today(kNowMs), 2500);
  EXPECT_EQ(core_->metrics.totals().events_accepted, 1);

  EventOutcome second = Record(kPlatform, MakeEvent(token, EVENT_TYPE_IMPRESSION, "ev-8"));
  EXPECT_EQ(second.result(), EVENT_RESULT_DUPLICATE);
  EXPECT_EQ(second.charged_micros(), 0);
  EXPECT_EQ(core_->catalog_manager.Budget("cmp-1")->total(), 2500);
  EXPECT_EQ(core_->metrics.totals().events_accepted, 1);
}

TEST_F(RecordEventTest, ImpressionSplitsThePriceInTheLedger) {
  Record(kPlatform, MakeEvent(Sign(Claims()), EVENT_TYPE_IMPRESSION));
  int64_t sum = -1;
  const auto balances = Balances(&sum);
  EXPECT_EQ(balances, (std::map<std::string, int64_t>{{"advertiser:acc-3", -2500},
                                                      {"platform:acc-2", 2000},
                                                      {"user:u1", 250},
                                                      {"exchange", 250}}));
  EXPECT_EQ(sum, 0);
}

TEST_F(RecordEventTest, DuplicateImpressionLeavesTheLedgerUnchanged) {
  const std::string token = Sign(Claims());
  Record(kPlatform, MakeEvent(token, EVENT_TYPE_IMPRESSION));
  int64_t sum_before = -1;
  const auto before = Balances(&sum_before);
  Record(kPlatform, MakeEvent(token, EVENT_TYPE_IMPRESSION));
  int64_t sum_after = -1;
  EXPECT_EQ(Balances(&sum_after), before);
  EXPECT_EQ(sum_after, 0);
}

TEST_F(RecordEventTest, ClickWithTheSameTokenIsAcceptedAndChargesNothing) {
  const std::string token = Sign(Claims());
  Record(kPlatform, MakeEvent(token, EVENT_TYPE_IMPRESSION));
  int64_t sum_before = -1;
  const auto before = Balances(&sum_before);

  EventOutcome click = Record(kPlatform, MakeEvent(token, EVENT_TYPE_CLICK, "click-1"));
  EXPECT_EQ(click.result(), EVENT_RESULT_ACCEPTED);
  EXPECT_EQ(click.charged_micros(), 0);
  EXPECT_EQ(core_->catalog_manager.Budget("cmp-1")->total(), 2500);
  int64_t sum_after = -1;
  EXPECT_EQ(Balances(&sum_after), before);
  EXPECT_EQ(sum_after, 0);

  EXPECT_EQ(Record(kPlatform, MakeEvent(token, EVENT_TYPE_CLICK)).result(), EVENT_RESULT_DUPLICATE);
}

TEST_F(RecordEventTest, ExpiredTokenIsRejectedAsExpired) {
  auction::BillingClaims claims = Claims();
  claims.expires_ms = kNowMs - 1;
  EventOutcome outcome = Record(kPlatform, MakeEvent(Sign(claims), EVENT_TYPE_IMPRESSION));
  EXPECT_EQ(outcome.result(), EVENT_RESULT_EXPIRED);
  EXPECT_EQ(outcome.charged_micros(), 0);
  EXPECT_EQ(core_->catalog_manager.Budget("cmp-1")->total(), 0);
  int64_t sum = -1;
  EXPECT_TRUE(Balances(&sum).empty());
}

TEST_F(RecordEventTest, TokenSignedWithAnotherSecretIsInvalid) {
  auction::TokenSigner other(std::string(32, 'x'));
  EventOutcome outcome = Record(kPlatform, MakeEvent(other.Sign(Claims()), EVENT_TYPE_IMPRESSION));
  EXPECT_EQ(outcome.result(), EVENT_RESULT_INVALID);
  EXPECT_EQ(outcome.charged_micros(), 0);
  int64_t sum = -1;
  EXPECT_TRUE(Balances(&sum).empty());
}

TEST_F(RecordEventTest, MalformedTokenIsInvalid) {
  for (const std::string token : {"v1.abc.def", "not a token", "v1..", "v1"}) {
    SCOPED_TRACE(token);
    EXPECT_EQ(Record(kPlatform, MakeEvent(token, EVENT_TYPE_IMPRESSION)).result(),
              EVENT_RESULT_INVALID);
  }
  EXPECT_EQ(core_->metrics.totals().events_accepted, 0);
}

TEST_F(RecordEventTest, TokenOfAnotherPlatformIsInvalid) {
  const Caller other{"acc-9", attex::v1::ROLE_PLATFORM};
  EventOutcome outcome = Record(other, MakeEvent(Sign(Claims()), EVENT_TYPE_IMPRESSION));
  EXPECT_EQ(outcome.result(), EVENT_RESULT_INVALID);
  EXPECT_EQ(core_->catalog_manager.Budget("cmp-1")->total(), 0);
}

TEST_F(RecordEventTest, OperatorMayReportAnyPlatformsToken) {
  const Caller op{"acc-1", attex::v1::ROLE_OPERATOR};
  EventOutcome outcome = Record(op, MakeEvent(Sign(Claims()), EVENT_TYPE_IMPRESSION));
  EXPECT_EQ(outcome.result(), EVENT_RESULT_ACCEPTED);
  EXPECT_EQ(outcome.charged_micros(), 2500);
  int64_t sum = -1;
  const auto balances = Balances(&sum);
  EXPECT_EQ(balances.at("platform:acc-2"), 2000);  // The token's platform, not the operator.
  EXPECT_EQ(balances.count("platform:acc-1"), 0u);
}

TEST_F(RecordEventTest, TestRequestTokenIsAcceptedFree) {
  auction::BillingClaims claims = Claims();
  claims.test = true;
  const std::string token = Sign(claims);
  EventOutcome outcome = Record(kPlatform, MakeEvent(token, EVENT_TYPE_IMPRESSION));
  EXPECT_EQ(outcome.result(), EVENT_RESULT_ACCEPTED);
  EXPECT_EQ(outcome.charged_micros(), 0);
  EXPECT_EQ(core_->catalog_manager.Budget("cmp-1")->total(), 0);
  int64_t sum = -1;
  EXPECT_TRUE(Balances(&sum).empty());
  EXPECT_EQ(sum, 0);
  EXPECT_EQ(Record(kPlatform, MakeEvent(token, EVENT_TYPE_IMPRESSION)).result(),
            EVENT_RESULT_DUPLICATE);
}

TEST_F(RecordEventTest, AnonymousUsersDividendGoesToThePooledAccount) {
  auction::BillingClaims claims = Claims();
  claims.user_key = "";
  Record(kPlatform, MakeEvent(Sign(claims), EVENT_TYPE_IMPRESSION));
  int64_t sum = -1;
  const auto balances = Balances(&sum);
  EXPECT_EQ(balances.at("user:anonymous"), 250);
  EXPECT_EQ(balances.count("user:"), 0u);
  EXPECT_EQ(sum, 0);
}

TEST_F(RecordEventTest, TwoPlacementsOfOneRequestAreBilledSeparately) {
  auction::BillingClaims second = Claims();
  second.slot_id = "s2";
  second.nonce = 43;
  Record(kPlatform, MakeEvent(Sign(Claims()), EVENT_TYPE_IMPRESSION));
  EXPECT_EQ(Record(kPlatform, MakeEvent(Sign(second), EVENT_TYPE_IMPRESSION)).result(),
            EVENT_RESULT_ACCEPTED);
  EXPECT_EQ(core_->catalog_manager.Budget("cmp-1")->total(), 5000);
  int64_t sum = -1;
  EXPECT_EQ(Balances(&sum).at("advertiser:acc-3"), -5000);
}

}  // namespace
}  // namespace attex::server
