// Budgets through the real server: 64 concurrent bidders against a budget
// that covers exactly k impressions, and billing tokens reported one to
// three times, shuffled, concurrently and across a restart.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "tests/crash/money_world.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {
namespace {

using namespace attex::v1;

constexpr int kCovered = 25;  // k: impressions the budget covers.
constexpr int kBidders = 64;

TEST(MoneyTest, SixtyFourConcurrentBiddersAreBilledAtMostTheImpressionsTheBudgetCovers) {
  TempDir dir;
  ServerProcess server(dir.path());
  ASSERT_TRUE(server.Start());
  const std::string op_token = OperatorToken(dir.path());
  auto stubs = std::make_unique<Stubs>(server.channel());
  const Account platform = NewAccount(*stubs, op_token, ROLE_PLATFORM, "money platform");
  const Account advertiser = NewAccount(*stubs, op_token, ROLE_ADVERTISER, "money advertiser");
  Campaign campaign;
  grpc::Status st = stubs->campaigns->CreateCampaign(
      Context(advertiser.token()).get(), FixedPriceCampaign("kw:money", kCovered), &campaign);
  ASSERT_TRUE(st.ok()) << st.error_message();

  // 64 bidders at once, several bids each: more placements are asked for
  // than the budget covers.
  std::mutex mu;
  std::vector<std::string> tokens;
  std::vector<std::thread> bidders;
  for (int b = 0; b < kBidders; ++b) {
    bidders.emplace_back([&, b] {
      for (int i = 0; i < 3; ++i) {
        BidResponse response;
        grpc::Status s;
        // 64 calls arriving at once may find the queue full (RESOURCE_EXHAUSTED,
        // "retry with backoff"): retried as a platform would.
        for (int attempt = 0; attempt < 50; ++attempt) {
          response.Clear();
          s = stubs->exchange->Bid(
              Context(platform.token()).get(),
              RequestFor("kw:money", "req-" + std::to_string(b * 10 + i), "u-" + std::to_string(b)),
              &response);
          if (s.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(2 << std::min(attempt, 6)));
        }
        EXPECT_TRUE(s.ok()) << s.error_message();
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& p : response.placements()) {
          EXPECT_EQ(p.price_cpm_micros(), kBidCpm);
          tokens.push_back(p.billing_token());
        }
      }
    });
  }
  for (auto& t : bidders) t.join();
  // Reservations make the placements themselves stop at k.
  EXPECT_EQ(tokens.size(), static_cast<size_t>(kCovered));

  // Every token one to three times, shuffled, reported from 8 threads.
  std::mt19937 rng(4);
  std::vector<std::string> reports;
  for (const auto& t : tokens) {
    const int copies = 1 + static_cast<int>(rng() % 3);
    for (int c = 0; c < copies; ++c) reports.push_back(t);
  }
  std::shuffle(reports.begin(), reports.end(), rng);
  std::atomic<int> accepted{0}, duplicate{0};
  auto report_all = [&](const std::vector<std::string>& list) {
    std::vector<std::thread> reporters;
    for (int r = 0; r < 8; ++r) {
      reporters.emplace_back([&, r] {
        for (size_t i = r; i < list.size(); i += 8) {
          ReportEventsRequest req;
          auto* e = req.add_events();
          e->set_billing_token(list[i]);
          e->set_type(EVENT_TYPE_IMPRESSION);
          e->set_event_id("ev-" + std::to_string(i));
          ReportEventsResponse out;
          grpc::Status s =
              stubs->exchange->ReportEvents(Context(platform.token()).get(), req, &out);
          ASSERT_TRUE(s.ok()) << s.error_message();
          ASSERT_EQ(out.results_size(), 1);
          if (out.results(0).result() == EVENT_RESULT_ACCEPTED) accepted.fetch_add(1);
          if (out.results(0).result() == EVENT_RESULT_DUPLICATE) duplicate.fetch_add(1);
        }
      });
    }
    for (auto& t : reporters) t.join();
  };
  report_all(reports);
  EXPECT_EQ(accepted.load(), kCovered);
  EXPECT_EQ(duplicate.load(), static_cast<int>(reports.size()) - kCovered);

  // Across a restart: all of them again, shuffled; nothing more is billed.
  stubs.reset();
  ASSERT_EQ(server.Stop(SIGTERM), 0);
  ASSERT_TRUE(server.Start());
  stubs = std::make_unique<Stubs>(server.channel());
  std::shuffle(reports.begin(), reports.end(), rng);
  accepted = 0;
  report_all(reports);
  EXPECT_EQ(accepted.load(), 0);

  // The money adds up: spend, the advertiser's debits, the ledger check.
  GetSpendRequest spend_req;
  spend_req.set_campaign_id(campaign.id());
  SpendReport spend;
  ASSERT_TRUE(
      stubs->campaigns->GetSpend(Context(advertiser.token()).get(), spend_req, &spend).ok());
  EXPECT_EQ(spend.total_micros(), kCovered * kPriceMicros);
  EXPECT_EQ(spend.impressions(), kCovered);
  GetLedgerBalancesRequest bal_req;
  bal_req.set_account("advertiser:" + advertiser.id());
  LedgerBalances balances;
  ASSERT_TRUE(stubs->op->GetLedgerBalances(Context(op_token).get(), bal_req, &balances).ok());
  ASSERT_EQ(balances.balances_size(), 1);
  EXPECT_EQ(balances.balances(0).balance_micros(), -kCovered * kPriceMicros);
  LedgerCheck check;
  ASSERT_TRUE(stubs->op->CheckLedger(Context(op_token).get(), CheckLedgerRequest(), &check).ok());
  EXPECT_TRUE(check.ok()) << (check.problems_size() > 0 ? check.problems(0) : "");
  EXPECT_EQ(check.events_checked(), kCovered);
  EXPECT_EQ(check.ledger_sum_micros(), 0);
  stubs.reset();
}

TEST(MoneyTest, FrequencyCapLimitsPlacementsPerUserAndKeepsNothingWithoutConsent) {
  TempDir dir;
  ServerProcess server(dir.path());
  ASSERT_TRUE(server.Start());
  const std::string op_token = OperatorToken(dir.path());
  auto stubs = std::make_unique<Stubs>(server.channel());
  const Account platform = NewAccount(*stubs, op_token, ROLE_PLATFORM, "cap platform");
  const Account advertiser = NewAccount(*stubs, op_token, ROLE_ADVERTISER, "cap advertiser");
  Campaign capped = FixedPriceCampaign("kw:capped", 1000);
  capped.mutable_frequency_cap()->set_impressions(2);
  capped.mutable_frequency_cap()->set_period_s(3600);
  Campaign created;
  ASSERT_TRUE(
      stubs->campaigns->CreateCampaign(Context(advertiser.token()).get(), capped, &created).ok());
  auto placements = [&](BidRequest request) {
    int n = 0;
    for (int i = 0; i < 5; ++i) {
      BidResponse response;
      EXPECT_TRUE(stubs->exchange->Bid(Context(platform.token()).get(), request, &response).ok());
      n += response.placements_size();
    }
    return n;
  };
  EXPECT_EQ(placements(RequestFor("kw:capped", "r", "u-1")), 2);
  EXPECT_EQ(placements(RequestFor("kw:capped", "r", "u-2")), 2);
  // COPPA: the user's id is not used, so no count is kept or read.
  BidRequest child = RequestFor("kw:capped", "r", "u-3");
  child.mutable_user()->mutable_consent()->set_coppa(true);
  child.mutable_context()->add_features("kw:capped");  // Page context still matches.
  EXPECT_EQ(placements(child), 5);
  stubs.reset();
}

}  // namespace
}  // namespace attex::testing
