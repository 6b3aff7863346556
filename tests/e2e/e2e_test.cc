// End to end through the real attex-server process and its gRPC API: a
// campaign, a bid, billing, spend, the ledger, a restart, bad input and
// permissions.
#include <signal.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attex/v1/campaign.grpc.pb.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "attex/v1/operator.grpc.pb.h"
#include "gtest/gtest.h"
#include "health.grpc.pb.h"
#include "tests/testing/campaign_builder.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {
namespace {

using namespace attex::v1;

class EndToEndTest : public ::testing::Test {
 protected:
  virtual std::vector<std::string> Flags() const { return {"--demo"}; }

  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(dir_.path(), Flags());
    ASSERT_TRUE(server_->Start());
    auto tokens = ReadFlatJson(dir_.path() + "/demo-tokens.json");
    operator_token_ = tokens["operator"];
    ASSERT_FALSE(operator_token_.empty());
    Connect();
    // A platform and an advertiser of the test's own.
    platform_ = NewAccount(ROLE_PLATFORM, "e2e platform");
    advertiser_ = NewAccount(ROLE_ADVERTISER, "e2e advertiser");
  }

  void Connect() {
    exchange_ = Exchange::NewStub(server_->channel());
    campaigns_ = Campaigns::NewStub(server_->channel());
    operator_ = Operator::NewStub(server_->channel());
  }

  void Restart() {
    exchange_.reset();
    campaigns_.reset();
    operator_.reset();
    ASSERT_EQ(server_->Stop(SIGTERM), 0);
    ASSERT_TRUE(server_->Start());
    Connect();
  }

  Account NewAccount(Role role, const std::string& name) {
    CreateAccountRequest req;
    req.set_role(role);
    req.set_name(name);
    Account account;
    grpc::Status s = operator_->CreateAccount(Context(operator_token_).get(), req, &account);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_FALSE(account.token().empty());
    return account;
  }

  static Campaign RunningCampaign() {
    return CampaignBuilder()
        .Name("e2e running shoes")
        .BidCpm(5'000'000)
        .TotalBudget(10'000'000)
        .IncludeFeature("interest:trail-running")
        .Creative("banner")
        .Category("sports")
        .Features({"interest:trail-running", "kw:ultramarathon"})
        .Markup("<b>Trail shoes</b>")
        .Build();
  }

  static BidRequest RunnerRequest() {
    BidRequest r;
    r.set_request_id("e2e-1");
    r.mutable_user()->set_id("user-42");
    r.mutable_user()->add_features("interest:trail-running");
    r.mutable_user()->add_features("kw:ultramarathon");
    r.mutable_context()->set_country("US");
    r.mutable_context()->set_device_type("mobile");
    auto* slot = r.add_slots();
    slot->set_id("top");
    slot->set_format("banner");
    slot->set_floor_cpm_micros(200'000);
    return r;
  }

  Campaign Create(const Campaign& c, const std::string& token) {
    Campaign out;
    grpc::Status s = campaigns_->CreateCampaign(Context(token).get(), c, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  BidResponse Bid(const BidRequest& r) {
    BidResponse out;
    grpc::Status s = exchange_->Bid(Context(platform_.token()).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  ReportEventsResponse Report(const std::string& billing_token,
                              EventType type = EVENT_TYPE_IMPRESSION) {
    ReportEventsRequest req;
    auto* e = req.add_events();
    e->set_billing_token(billing_token);
    e->set_type(type);
    e->set_event_id("ev-1");
    ReportEventsResponse out;
    grpc::Status s = exchange_->ReportEvents(Context(platform_.token()).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  SpendReport Spend(const std::string& id) {
    GetSpendRequest req;
    req.set_campaign_id(id);
    SpendReport out;
    grpc::Status s = campaigns_->GetSpend(Context(advertiser_.token()).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  std::map<std::string, int64_t> Balances(int64_t* sum) {
    LedgerBalances out;
    grpc::Status s = operator_->GetLedgerBalances(Context(operator_token_).get(),
                                                  GetLedgerBalancesRequest(), &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::map<std::string, int64_t> balances;
    for (const auto& b : out.balances()) balances[b.account()] = b.balance_micros();
    *sum = out.ledger_sum_micros();
    return balances;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::string operator_token_;
  Account platform_, advertiser_;
  std::unique_ptr<Exchange::Stub> exchange_;
  std::unique_ptr<Campaigns::Stub> campaigns_;
  std::unique_ptr<Operator::Stub> operator_;
};

TEST_F(EndToEndTest, CampaignBidBillingSpendAndLedgerSurviveARestart) {
  const Campaign campaign = Create(RunningCampaign(), advertiser_.token());
  ASSERT_FALSE(campaign.id().empty());
  EXPECT_EQ(campaign.version(), 1);
  EXPECT_EQ(campaign.status(), CAMPAIGN_STATUS_ACTIVE);
  EXPECT_EQ(campaign.advertiser_id(), advertiser_.id());

  const BidResponse bid = Bid(RunnerRequest());
  ASSERT_EQ(bid.placements_size(), 1) << bid.no_bid_reason();
  const Placement& p = bid.placements(0);
  EXPECT_EQ(p.campaign_id(), campaign.id());
  EXPECT_EQ(p.slot_id(), "top");
  EXPECT_GE(p.price_cpm_micros(), 200'000);
  EXPECT_LE(p.price_cpm_micros(), 5'000'000);
  EXPECT_FALSE(p.billing_token().empty());
  const int64_t price = p.price_cpm_micros() / 1000;

  ReportEventsResponse first = Report(p.billing_token());
  ASSERT_EQ(first.results_size(), 1);
  EXPECT_EQ(first.results(0).result(), EVENT_RESULT_ACCEPTED);
  EXPECT_EQ(first.results(0).charged_micros(), price);
  EXPECT_EQ(Report(p.billing_token()).results(0).result(), EVENT_RESULT_DUPLICATE);
  EXPECT_EQ(Report(p.billing_token(), EVENT_TYPE_CLICK).results(0).charged_micros(), 0);

  SpendReport spend = Spend(campaign.id());
  EXPECT_EQ(spend.total_micros(), price);
  EXPECT_EQ(spend.today_micros(), price);
  EXPECT_EQ(spend.impressions(), 1);
  EXPECT_EQ(spend.clicks(), 1);

  int64_t sum = -1;
  auto balances = Balances(&sum);
  const int64_t debit = -balances["advertiser:" + advertiser_.id()];
  EXPECT_EQ(debit, price);
  EXPECT_EQ(
      balances["platform:" + platform_.id()] + balances["user:user-42"] + balances["exchange"],
      debit);
  EXPECT_EQ(balances["platform:" + platform_.id()], price * 8 / 10);
  EXPECT_EQ(sum, 0);

  Restart();

  Campaign again;
  GetCampaignRequest get;
  get.set_id(campaign.id());
  ASSERT_TRUE(campaigns_->GetCampaign(Context(advertiser_.token()).get(), get, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), campaign.SerializeAsString());
  spend = Spend(campaign.id());
  EXPECT_EQ(spend.total_micros(), price);
  EXPECT_EQ(spend.impressions(), 1);
  EXPECT_EQ(Report(p.billing_token()).results(0).result(), EVENT_RESULT_DUPLICATE);
  EXPECT_EQ(Balances(&sum), balances);
  EXPECT_EQ(sum, 0);
  // The accounts and the billing key survived: the old token still bids.
  EXPECT_EQ(Bid(RunnerRequest()).placements(0).campaign_id(), campaign.id());
}

TEST_F(EndToEndTest, PausedCampaignStopsBiddingAndResumes) {
  const Campaign campaign = Create(RunningCampaign(), advertiser_.token());
  SetCampaignStatusRequest req;
  req.set_id(campaign.id());
  req.set_status(CAMPAIGN_STATUS_PAUSED);
  Campaign paused;
  ASSERT_TRUE(campaigns_->SetCampaignStatus(Context(advertiser_.token()).get(), req, &paused).ok());
  EXPECT_EQ(paused.version(), 2);
  BidResponse bid = Bid(RunnerRequest());
  for (const auto& p : bid.placements()) EXPECT_NE(p.campaign_id(), campaign.id());

  req.set_status(CAMPAIGN_STATUS_ACTIVE);
  ASSERT_TRUE(campaigns_->SetCampaignStatus(Context(advertiser_.token()).get(), req, &paused).ok());
  bid = Bid(RunnerRequest());
  ASSERT_EQ(bid.placements_size(), 1);
  EXPECT_EQ(bid.placements(0).campaign_id(), campaign.id());
}

TEST_F(EndToEndTest, ForgedMalformedAndOtherPlatformsTokensAreInvalid) {
  const Campaign campaign = Create(RunningCampaign(), advertiser_.token());
  const std::string token = Bid(RunnerRequest()).placements(0).billing_token();
  std::string forged = token;
  forged[10] = forged[10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Report(forged).results(0).result(), EVENT_RESULT_INVALID);
  EXPECT_EQ(Report("not-a-token").results(0).result(), EVENT_RESULT_INVALID);

  Account other = NewAccount(ROLE_PLATFORM, "other platform");
  ReportEventsRequest req;
  req.add_events()->set_billing_token(token);
  req.mutable_events(0)->set_type(EVENT_TYPE_IMPRESSION);
  ReportEventsResponse out;
  ASSERT_TRUE(exchange_->ReportEvents(Context(other.token()).get(), req, &out).ok());
  EXPECT_EQ(out.results(0).result(), EVENT_RESULT_INVALID);
  EXPECT_EQ(Spend(campaign.id()).total_micros(), 0);
}

TEST_F(EndToEndTest, BadInputIsInvalidArgumentNamingTheField) {
  Campaign bad = RunningCampaign();
  bad.set_bid_cpm_micros(0);
  Campaign out;
  grpc::Status s = campaigns_->CreateCampaign(Context(advertiser_.token()).get(), bad, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("bid_cpm_micros"), std::string::npos) << s.error_message();

  bad = RunningCampaign();
  bad.mutable_creatives(0)->set_format("poster");
  s = campaigns_->CreateCampaign(Context(advertiser_.token()).get(), bad, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("creatives[0].format"), std::string::npos) << s.error_message();

  BidRequest req = RunnerRequest();
  req.clear_slots();
  BidResponse resp;
  s = exchange_->Bid(Context(platform_.token()).get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("slots"), std::string::npos);

  req = RunnerRequest();
  req.mutable_user()->add_embedding(1.0f);
  s = exchange_->Bid(Context(platform_.token()).get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("user.embedding"), std::string::npos);

  // The server is still up and serving.
  EXPECT_EQ(Bid(RunnerRequest()).request_id(), "e2e-1");
}

TEST_F(EndToEndTest, CallersAreAuthenticatedAndConfinedToTheirOwnCampaigns) {
  const Campaign mine = Create(RunningCampaign(), advertiser_.token());
  Account rival = NewAccount(ROLE_ADVERTISER, "rival");
  GetCampaignRequest get;
  get.set_id(mine.id());
  Campaign out;
  EXPECT_EQ(campaigns_->GetCampaign(Context(rival.token()).get(), get, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  Campaign change = mine;
  change.set_bid_cpm_micros(1);
  EXPECT_EQ(campaigns_->UpdateCampaign(Context(rival.token()).get(), change, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  GetSpendRequest spend;
  spend.set_campaign_id(mine.id());
  SpendReport report;
  EXPECT_EQ(campaigns_->GetSpend(Context(rival.token()).get(), spend, &report).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ListCampaignsResponse list;
  ASSERT_TRUE(
      campaigns_->ListCampaigns(Context(rival.token()).get(), ListCampaignsRequest(), &list).ok());
  EXPECT_EQ(list.campaigns_size(), 0);

  EXPECT_EQ(campaigns_->GetCampaign(Context("").get(), get, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(campaigns_->GetCampaign(Context("attex_unknown").get(), get, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  BidResponse resp;
  EXPECT_EQ(exchange_->Bid(Context(advertiser_.token()).get(), RunnerRequest(), &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  Stats stats;
  EXPECT_EQ(
      operator_->GetStats(Context(platform_.token()).get(), GetStatsRequest(), &stats).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(EndToEndTest, UpdatesAreVersionedAndVisibleToTheNextBid) {
  Campaign c = Create(RunningCampaign(), advertiser_.token());
  c.set_bid_cpm_micros(7'000'000);
  Campaign updated;
  ASSERT_TRUE(campaigns_->UpdateCampaign(Context(advertiser_.token()).get(), c, &updated).ok());
  EXPECT_EQ(updated.version(), 2);
  BidRequest r = RunnerRequest();
  r.set_auction_type(AUCTION_TYPE_FIRST_PRICE);
  EXPECT_EQ(Bid(r).placements(0).price_cpm_micros(), 7'000'000);
  // A stale version is refused.
  c.set_version(1);
  EXPECT_EQ(
      campaigns_->UpdateCampaign(Context(advertiser_.token()).get(), c, &updated).error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(EndToEndTest, HealthServesAndSigtermExitsCleanly) {
  auto health = grpc::health::v1::Health::NewStub(server_->channel());
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(health->Check(Context("").get(), grpc::health::v1::HealthCheckRequest(), &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(server_->Stop(SIGTERM), 0);
}

}  // namespace
// Shared passes on (even for the demo's small catalogue): concurrent bids
// gathered into passes are answered as they would be alone, and billed.
class SharedPassEndToEndTest : public EndToEndTest {
 protected:
  std::vector<std::string> Flags() const override {
    return {"--demo", "--shared_pass_window_us=500", "--shared_pass_min_ads=0",
            "--shared_pass_threads=1"};
  }
};

TEST_F(SharedPassEndToEndTest, ConcurrentBidsAreGatheredAndAnsweredAsAlone) {
  const Campaign campaign = Create(RunningCampaign(), advertiser_.token());
  const BidResponse alone = Bid(RunnerRequest());
  ASSERT_EQ(alone.placements_size(), 1);
  EXPECT_EQ(alone.placements(0).campaign_id(), campaign.id());
  constexpr int kBidders = 8;
  std::vector<BidResponse> responses(kBidders);
  std::vector<grpc::Status> statuses(kBidders);
  std::vector<std::thread> bidders;
  for (int i = 0; i < kBidders; ++i) {
    bidders.emplace_back([&, i] {
      BidRequest r = RunnerRequest();
      r.set_request_id(absl::StrCat("gathered-", i));
      statuses[i] = exchange_->Bid(Context(platform_.token()).get(), r, &responses[i]);
    });
  }
  for (auto& t : bidders) t.join();
  for (int i = 0; i < kBidders; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(responses[i].request_id(), absl::StrCat("gathered-", i));
    ASSERT_EQ(responses[i].placements_size(), 1);
    EXPECT_EQ(responses[i].placements(0).campaign_id(), campaign.id());
    EXPECT_EQ(responses[i].placements(0).price_cpm_micros(),
              alone.placements(0).price_cpm_micros());
    EXPECT_EQ(responses[i].placements(0).attention_weight(),
              alone.placements(0).attention_weight());
  }
  const auto report = Report(responses[3].placements(0).billing_token());
  ASSERT_EQ(report.results_size(), 1);
  EXPECT_EQ(report.results(0).result(), EVENT_RESULT_ACCEPTED);
  EXPECT_EQ(Spend(campaign.id()).total_micros(),
            responses[3].placements(0).price_cpm_micros() / 1000);
  // Drains cleanly with the gatherer's threads.
  exchange_.reset();
  campaigns_.reset();
  operator_.reset();
  EXPECT_EQ(server_->Stop(SIGTERM), 0);
}

}  // namespace attex::testing
