// Two attex-server replicas on one PostgreSQL database (--store=postgres):
// a replica that starts loads the current catalogue, a campaign created
// through one is bid by the other within a second (LISTEN/NOTIFY), a
// billing token issued by one is billed by the other (the shared billing
// key), the same token reported to both at once is billed once, and the
// ledger balances. And the flags' startup errors.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "attex/v1/campaign.grpc.pb.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "attex/v1/operator.grpc.pb.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/testing/campaign_builder.h"
#include "tests/testing/pg_cluster.h"
#include "tests/testing/poll.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {
namespace {

using namespace attex::v1;

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// One replica: its server process and stubs.
struct Replica {
  TempDir dir;
  std::unique_ptr<ServerProcess> server;
  std::unique_ptr<Exchange::Stub> exchange;
  std::unique_ptr<Campaigns::Stub> campaigns;
  std::unique_ptr<Operator::Stub> op;
};

class PgReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto setup = SetUpPgReplicas(keys_.path());
    ASSERT_TRUE(setup.ok()) << setup.status();
    cluster_ = setup->cluster;
    dsn_ = setup->dsn;
    key_file_ = setup->key_file;
    flags_ = setup->ServerFlags();
  }

  const std::vector<std::string>& Flags() const { return flags_; }

  void Start(Replica& r) {
    r.server = std::make_unique<ServerProcess>(r.dir.path(), Flags());
    ASSERT_TRUE(r.server->Start());
    r.exchange = Exchange::NewStub(r.server->channel());
    r.campaigns = Campaigns::NewStub(r.server->channel());
    r.op = Operator::NewStub(r.server->channel());
  }

  Account NewAccount(Replica& r, const std::string& op_token, Role role) {
    CreateAccountRequest req;
    req.set_role(role);
    req.set_name("replicas test");
    Account account;
    grpc::Status s = r.op->CreateAccount(Context(op_token).get(), req, &account);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return account;
  }

  static Campaign Targeting(const std::string& feature) {
    return CampaignBuilder()
        .Name(feature)
        .BidCpm(5'000'000)
        .TotalBudget(10'000'000)
        .IncludeFeature(feature)
        .Creative("banner")
        .Features({feature})
        .Build();
  }

  Campaign Create(Replica& r, const Campaign& c) {
    Campaign out;
    grpc::Status s = r.campaigns->CreateCampaign(Context(advertiser_.token()).get(), c, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // The placement `r` gives a user with `feature`, if any.
  std::optional<Placement> Bid(Replica& r, const std::string& feature) {
    BidRequest req;
    req.set_request_id(absl::StrCat("req-", ++requests_));
    req.mutable_user()->set_id(absl::StrCat("user-", requests_));
    req.mutable_user()->add_features(feature);
    req.mutable_context()->set_country("US");
    auto* slot = req.add_slots();
    slot->set_id("top");
    slot->set_format("banner");
    BidResponse out;
    grpc::Status s = r.exchange->Bid(Context(platform_.token()).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (out.placements_size() == 0) return std::nullopt;
    return out.placements(0);
  }

  EventResult Report(Replica& r, const std::string& billing_token) {
    ReportEventsRequest req;
    auto* e = req.add_events();
    e->set_billing_token(billing_token);
    e->set_type(EVENT_TYPE_IMPRESSION);
    e->set_event_id("ev");
    ReportEventsResponse out;
    grpc::Status s = r.exchange->ReportEvents(Context(platform_.token()).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.results_size() == 1 ? out.results(0).result() : EVENT_RESULT_UNSPECIFIED;
  }

  PgCluster* cluster_ = nullptr;
  std::string dsn_;
  TempDir keys_;
  std::string key_file_;
  std::vector<std::string> flags_;  // The store's and key's server flags.
  Account platform_, advertiser_;
  int requests_ = 0;
};

TEST_F(PgReplicasTest, ReplicasShareCampaignsBillingTokensAndTheBooks) {
  Replica a, b;
  Start(a);
  const std::string op_token = ReadFirstLine(a.dir.path() + "/operator-token");
  ASSERT_FALSE(op_token.empty());
  platform_ = NewAccount(a, op_token, ROLE_PLATFORM);
  advertiser_ = NewAccount(a, op_token, ROLE_ADVERTISER);
  const Campaign before = Create(a, Targeting("interest:chess"));

  // B starts after: it loads the accounts and the campaign as they are.
  Start(b);
  auto placed = Bid(b, "interest:chess");
  ASSERT_TRUE(placed.has_value());
  EXPECT_EQ(placed->campaign_id(), before.id());

  // A campaign created through A is bid by B within a second: the
  // notification wakes B's feed at once (its fallback poll is 5 s away).
  const Campaign after = Create(a, Targeting("interest:go"));
  const absl::Time created = absl::Now();
  EXPECT_TRUE(PollUntil(
      [&] {
        auto p = Bid(b, "interest:go");
        return p.has_value() && p->campaign_id() == after.id();
      },
      100, absl::Milliseconds(10)));
  std::printf("B bid on A's new campaign %.0f ms after A answered\n",
              absl::ToDoubleMilliseconds(absl::Now() - created));

  // A token issued by A is billed by B, and only once.
  auto from_a = Bid(a, "interest:chess");
  ASSERT_TRUE(from_a.has_value());
  EXPECT_EQ(Report(b, from_a->billing_token()), EVENT_RESULT_ACCEPTED);
  EXPECT_EQ(Report(a, from_a->billing_token()), EVENT_RESULT_DUPLICATE);

  // Tokens reported to both replicas at once: each billed once.
  constexpr int kTokens = 16;
  std::vector<std::string> tokens;
  for (int i = 0; i < kTokens; ++i) {
    auto p = Bid(i % 2 == 0 ? a : b, i % 4 < 2 ? "interest:chess" : "interest:go");
    ASSERT_TRUE(p.has_value());
    tokens.push_back(p->billing_token());
  }
  std::atomic<int> accepted{0}, duplicates{0}, other{0};
  std::vector<std::thread> threads;
  for (Replica* r : {&a, &b}) {
    threads.emplace_back([&, r] {
      for (const std::string& token : tokens) {
        const EventResult result = Report(*r, token);
        if (result == EVENT_RESULT_ACCEPTED) {
          ++accepted;
        } else if (result == EVENT_RESULT_DUPLICATE) {
          ++duplicates;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), kTokens);
  EXPECT_EQ(duplicates.load(), kTokens);
  EXPECT_EQ(other.load(), 0);

  // The books, as PostgreSQL has them: 17 impressions, balanced.
  auto store = store::OpenPgStore(dsn_);
  ASSERT_TRUE(store.ok()) << store.status();
  auto check = (*store)->CheckLedger();
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_TRUE(check->ok()) << (check->problems.empty() ? "" : check->problems[0]);
  EXPECT_EQ(check->events_checked, kTokens + 1);
  EXPECT_EQ(a.server->Stop(), 0);
  EXPECT_EQ(b.server->Stop(), 0);
}

TEST_F(PgReplicasTest, StartupErrorsNameTheFlag) {
  TempDir dir;
  std::string output;
  EXPECT_EQ(ServerProcess(dir.path(), {"--store=mysql"}).RunToExit(&output), 2);
  EXPECT_TRUE(absl::StrContains(output, "--store")) << output;
  output.clear();
  EXPECT_EQ(ServerProcess(dir.path(), {"--store=postgres"}).RunToExit(&output), 2);
  EXPECT_TRUE(absl::StrContains(output, "--postgres_dsn")) << output;
  output.clear();
  // No key file: replicas would each make their own.
  EXPECT_NE(
      ServerProcess(dir.path(), {"--store=postgres", "--postgres_dsn=" + dsn_}).RunToExit(&output),
      0);
  EXPECT_TRUE(absl::StrContains(output, "--billing_key_file")) << output;
  output.clear();
  EXPECT_NE(ServerProcess(dir.path(), {"--store=postgres", "--postgres_dsn=" + dsn_,
                                       "--billing_key_file=" + dir.path() + "/missing"})
                .RunToExit(&output),
            0);
  EXPECT_TRUE(absl::StrContains(output, "--billing_key_file")) << output;
  output.clear();
  // Unreachable, and malformed.
  for (const std::string& dsn : {std::string("host=127.0.0.1 port=1 user=attex connect_timeout=2"),
                                 std::string("no_such_option=1")}) {
    EXPECT_NE(ServerProcess(dir.path(), {"--store=postgres", "--postgres_dsn=" + dsn,
                                         "--billing_key_file=" + key_file_})
                  .RunToExit(&output),
              0)
        << dsn;
    EXPECT_TRUE(absl::StrContains(output, "--postgres_dsn")) << output;
    output.clear();
  }
}

}  // namespace
}  // namespace attex::testing
