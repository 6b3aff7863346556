// The fleet, end to end: a real PostgreSQL, three attex-server replicas
// (--store=postgres, one billing key, --drain_delay_s) and HAProxy 2.6 in
// front of them, configured from deploy/haproxy.cfg.in. Load goes through
// the balancer:
// - a campaign created through one replica is bid by the others within a
//   second;
// - 16 bidders against a budget that covers exactly k impressions, each
//   placement reported to two different replicas at once: at most k
//   billed, each token billed once, no overspend;
// - one replica SIGKILLed mid-run and restarted: every event acknowledged
//   OK is in the ledger (reported again, it is a duplicate), the ledger
//   balances, no campaign over budget;
// - one replica sent SIGTERM: no call sent from then on fails, through the
//   balancer or through client-side round robin over the three addresses.
// The last line: "fleet: kills K, acknowledged A, found F, lost L,
// overspend O micros, under-delivery U%" (deploy/fleet.sh test prints it).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "attex/v1/campaign.grpc.pb.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "attex/v1/operator.grpc.pb.h"
#include "client/channel_target.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "store/redis.h"
#include "store/redis_slices.h"
#include "store/store.h"
#include "tests/testing/campaign_builder.h"
#include "tests/testing/pg_cluster.h"
#include "tests/testing/poll.h"
#include "tests/testing/ports.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {
namespace {

using namespace attex::v1;

// A loopback port free now: the replicas keep theirs across a restart, so
// that HAProxy's configuration names them.
int FreePort() { return attex::testing::FreeLoopbackPort().value_or(0); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// HAProxy in the foreground (-db), its output in a log file.
class Haproxy final {
 public:
  ~Haproxy() { Stop(); }
  bool Start(const std::string& config, const std::string& log) {
    if (::access(Binary(), X_OK) != 0) {
      ADD_FAILURE() << "no " << Binary() << ": install haproxy (deploy/deps.sh does)";
      return false;
    }
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      const char* bin = Binary();
      ::execl(bin, bin, "-db", "-f", config.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    ::close(fd);
    return pid_ > 0;
  }
  // $ATTEX_HAPROXY, else Debian's.
  static const char* Binary() {
    const char* bin = std::getenv("ATTEX_HAPROXY");
    return bin != nullptr ? bin : "/usr/sbin/haproxy";
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

struct Replica {
  std::string id;  // In the budget slices.
  TempDir dir;
  int port = 0, agent_port = 0;
  std::unique_ptr<ServerProcess> server;
  std::unique_ptr<Exchange::Stub> exchange;
  std::unique_ptr<Campaigns::Stub> campaigns;
  std::unique_ptr<Operator::Stub> op;
};

BidRequest Request(const std::string& feature, int64_t n) {
  BidRequest req;
  req.set_request_id(absl::StrCat("fleet-", n));
  req.mutable_user()->set_id(absl::StrCat("user-", n));
  req.mutable_user()->add_features(feature);
  req.mutable_context()->set_country("US");
  auto* slot = req.add_slots();
  slot->set_id("top");
  slot->set_format("banner");
  return req;
}

ReportEventsRequest Impression(const std::string& billing_token) {
  ReportEventsRequest req;
  auto* e = req.add_events();
  e->set_billing_token(billing_token);
  e->set_type(EVENT_TYPE_IMPRESSION);
  e->set_event_id("fleet");
  return req;
}

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto setup = SetUpPgReplicas(work_.path());
    ASSERT_TRUE(setup.ok()) << setup.status();
    dsn_ = setup->dsn;
    cluster_ = setup->cluster;
    flags_ = setup->ServerFlags();
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    flags_.insert(flags_.end(),
                  {"--redis_addr=" + redis_->addr(), absl::StrCat("--slice_lease_s=", kLeaseS)});
    auto client = store::RedisClient::Connect(redis_->addr());
    ASSERT_TRUE(client.ok()) << client.status();
    slices_ = std::make_unique<store::RedisSlices>(*std::move(client), "fleet-test-reader",
                                                   absl::Seconds(kLeaseS));
  }

  // Each replica's unexpired slice of `campaign`.
  std::map<std::string, int64_t> Slices(const std::string& campaign) {
    auto holders = slices_->Holders(campaign);
    EXPECT_TRUE(holders.ok()) << holders.status();
    std::map<std::string, int64_t> out;
    if (holders.ok()) out.insert(holders->begin(), holders->end());
    return out;
  }

  void Start(Replica& r) {
    if (r.port == 0) {
      r.port = FreePort();
      r.agent_port = FreePort();
    }
    std::vector<std::string> flags = flags_;
    flags.insert(flags.end(), {absl::StrCat("--listen=127.0.0.1:", r.port),
                               absl::StrCat("--health_agent_listen=127.0.0.1:", r.agent_port),
                               "--drain_delay_s=2", "--grace_period_s=5",
                               "--metrics_listen=", "--replica_id=" + r.id});
    r.server = std::make_unique<ServerProcess>(r.dir.path(), flags);
    r.server->set_log_file(r.dir.path() + "/server.log");
    ASSERT_TRUE(r.server->Start()) << r.server->ReadLog();
    r.exchange = Exchange::NewStub(r.server->channel());
    r.campaigns = Campaigns::NewStub(r.server->channel());
    r.op = Operator::NewStub(r.server->channel());
  }

  // deploy/haproxy.cfg.in with the balancer's port and the replicas.
  void StartBalancer(std::vector<Replica>& replicas) {
    std::string servers;
    for (size_t i = 0; i < replicas.size(); ++i) {
      absl::StrAppend(&servers, "  server r", i, " 127.0.0.1:", replicas[i].port, " agent-port ",
                      replicas[i].agent_port, "\n");
    }
    balancer_port_ = FreePort();
    const std::string config = absl::StrReplaceAll(
        ReadFile(ATTEX_SOURCE_DIR "/deploy/haproxy.cfg.in"),
        {{"@BALANCER@", absl::StrCat("127.0.0.1:", balancer_port_)}, {"@SERVERS@", servers}});
    ASSERT_NE(config.find("server r0"), std::string::npos);
    std::ofstream(work_.path() + "/haproxy.cfg") << config;
    ASSERT_TRUE(haproxy_.Start(work_.path() + "/haproxy.cfg", work_.path() + "/haproxy.log"));
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", balancer_port_),
                                       grpc::InsecureChannelCredentials());
    balanced_ = Exchange::NewStub(channel);
    grpc::Status last;
    ASSERT_TRUE(PollUntil(
        [&] {
          PingResponse pong;
          auto ctx = Context(platform_.token());
          ctx->set_wait_for_ready(true);  // HAProxy may not listen yet.
          ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
          last = Operator::NewStub(channel)->Ping(ctx.get(), PingRequest(), &pong);
          return last.ok();
        },
        100, absl::Milliseconds(50)))
        << last.error_code() << " " << last.error_message() << "\n"
        << ReadFile(work_.path() + "/haproxy.log");
  }

  Account NewAccount(Replica& r, const std::string& op_token, Role role) {
    CreateAccountRequest req;
    req.set_role(role);
    req.set_name("fleet test");
    Account account;
    grpc::Status s = r.op->CreateAccount(Context(op_token).get(), req, &account);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return account;
  }

  // frequency_cap: impressions a user a day (0: none).
  Campaign Create(Replica& r, const std::string& feature, int64_t bid_cpm, int64_t budget,
                  int frequency_cap = 0) {
    Campaign c = CampaignBuilder()
                     .Name(feature)
                     .BidCpm(bid_cpm)
                     .TotalBudget(budget)
                     .IncludeFeature(feature)
                     .Creative("banner")
                     .Features({feature})
                     .Build();
    if (frequency_cap > 0) {
      c.mutable_frequency_cap()->set_impressions(frequency_cap);
      c.mutable_frequency_cap()->set_period_s(86'400);
    }
    Campaign out;
    grpc::Status s = r.campaigns->CreateCampaign(Context(advertiser_.token()).get(), c, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // One Bid; its placement, if any, and the call's status.
  std::optional<Placement> Bid(Exchange::Stub& stub, const std::string& feature,
                               grpc::Status* status = nullptr, const std::string& user = "") {
    BidResponse out;
    BidRequest req = Request(feature, ++requests_);
    if (!user.empty()) req.mutable_user()->set_id(user);
    const grpc::Status s = stub.Bid(Context(platform_.token()).get(), req, &out);
    if (status != nullptr) *status = s;
    if (!s.ok() || out.placements_size() == 0) return std::nullopt;
    return out.placements(0);
  }

  // One impression's result; EVENT_RESULT_UNSPECIFIED when the call failed.
  EventResult Report(Exchange::Stub& stub, const std::string& token,
                     grpc::Status* status = nullptr) {
    ReportEventsResponse out;
    const grpc::Status s =
        stub.ReportEvents(Context(platform_.token()).get(), Impression(token), &out);
    if (status != nullptr) *status = s;
    return s.ok() && out.results_size() == 1 ? out.results(0).result() : EVENT_RESULT_UNSPECIFIED;
  }

  static constexpr int kLeaseS = 2;
  std::string dsn_;
  PgCluster* cluster_ = nullptr;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<store::RedisSlices> slices_;
  TempDir work_;
  std::vector<std::string> flags_;  // The store's and key's server flags.
  Account platform_, advertiser_;
  std::atomic<int64_t> requests_{0};
  Haproxy haproxy_;
  int balancer_port_ = 0;
  std::unique_ptr<Exchange::Stub> balanced_;
};

TEST_F(FleetTest, ReplicasBehindHaproxyLoseNothingAndNeverOverspend) {
  std::vector<Replica> r(3);
  for (int i = 0; i < 3; ++i) r[i].id = absl::StrCat("r", i);
  Start(r[0]);
  if (HasFatalFailure()) return;
  const std::string op_token = ReadFile(r[0].dir.path() + "/operator-token");
  ASSERT_FALSE(op_token.empty());
  const std::string op = op_token.substr(0, op_token.find('\n'));
  platform_ = NewAccount(r[0], op, ROLE_PLATFORM);
  advertiser_ = NewAccount(r[0], op, ROLE_ADVERTISER);
  // Accounts reach a replica at its start (docs/fleet.md): the others start
  // after.
  Start(r[1]);
  Start(r[2]);
  StartBalancer(r);
  if (HasFatalFailure()) return;

  // A campaign created through r0 is bid by r1 and r2 within a second.
  const Campaign fresh = Create(r[0], "interest:fleet-new", 5'000'000, 10'000'000);
  const absl::Time created = absl::Now();
  for (int i : {1, 2}) {
    EXPECT_TRUE(PollUntil(
        [&] {
          auto p = Bid(*r[i].exchange, "interest:fleet-new");
          return p.has_value() && p->campaign_id() == fresh.id();
        },
        100, absl::Milliseconds(10)))
        << "replica " << i;
  }
  const double seen_ms = absl::ToDoubleMilliseconds(absl::Now() - created);
  EXPECT_LT(seen_ms, 1000);

  // A budget of exactly k impressions at the price a probe shows.
  constexpr int64_t kImpressions = 100;
  const Campaign probe_campaign = Create(r[0], "interest:fleet-budget", 2'000'000, 1'000'000'000);
  std::optional<Placement> probe;
  ASSERT_TRUE(PollUntil([&] {
    probe = Bid(*r[1].exchange, "interest:fleet-budget");
    return probe.has_value() && probe->campaign_id() == probe_campaign.id();
  }));
  const int64_t charge = probe->price_cpm_micros() / 1000;
  ASSERT_GT(charge, 0);
  const int64_t budget = kImpressions * charge;
  // Bidding the price it pays (the floor): an auction admits a campaign only
  // while its budget (here its slice) covers one impression at its bid, so
  // a bid far above the price would leave that much of a small budget
  // unplaceable, on one machine as in a fleet.
  const Campaign capped = Create(r[0], "interest:fleet-capped", probe->price_cpm_micros(), budget);
  for (auto& replica : r) {
    ASSERT_TRUE(PollUntil([&] {
      auto p = Bid(*replica.exchange, "interest:fleet-capped");
      return p.has_value() && p->campaign_id() == capped.id();
    })) << replica.id
        << " never placed it; budget " << budget << ", slices: " << [&] {
             std::string held;
             for (const auto& [id, micros] : Slices(capped.id()))
               absl::StrAppend(&held, id, "=", micros, " ");
             return held;
           }();  // Unreported: these placements cost nothing.
  }

  absl::Mutex mu;
  std::set<std::string> acknowledged;  // Tokens whose event was answered OK.
  std::atomic<int> billed{0}, billed_twice{0}, other_price{0}, over_budget{0};
  {
    // 64 bidders until the campaign has placed nothing for a while: longer
    // than a slice's lease, so that slices held by replicas that stopped
    // placing (and reservations billed elsewhere) have come back.
    std::atomic<int64_t> last_placed_ms{absl::ToUnixMillis(absl::Now())};
    std::vector<std::thread> bidders;
    for (int t = 0; t < 64; ++t) {
      bidders.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          if (billed.load() >= kImpressions ||
              absl::ToUnixMillis(absl::Now()) - last_placed_ms.load() > 2'000 * kLeaseS) {
            break;
          }
          auto p = Bid(*balanced_, "interest:fleet-capped");
          if (!p.has_value()) {
            absl::SleepFor(absl::Milliseconds(20));
            continue;
          }
          last_placed_ms = absl::ToUnixMillis(absl::Now());
          if (p->price_cpm_micros() / 1000 != charge) ++other_price;
          // To two different replicas at once.
          EventResult results[2];
          std::thread second(
              [&] { results[1] = Report(*r[(t + i + 1) % 3].exchange, p->billing_token()); });
          results[0] = Report(*r[(t + i) % 3].exchange, p->billing_token());
          second.join();
          const int accepted = (results[0] == EVENT_RESULT_ACCEPTED ? 1 : 0) +
                               (results[1] == EVENT_RESULT_ACCEPTED ? 1 : 0);
          billed += accepted;
          over_budget += (results[0] == EVENT_RESULT_OVER_BUDGET ? 1 : 0) +
                         (results[1] == EVENT_RESULT_OVER_BUDGET ? 1 : 0);
          if (accepted == 2) ++billed_twice;
          if (accepted > 0) {
            absl::MutexLock lock(&mu);
            acknowledged.insert(p->billing_token());
          }
        }
      });
    }
    for (auto& b : bidders) b.join();
  }
  EXPECT_EQ(billed_twice.load(), 0);
  EXPECT_EQ(other_price.load(), 0);
  EXPECT_LE(billed.load(), kImpressions);
  // Slices hold placements to what the budget has left, yet deliver it.
  EXPECT_GE(billed.load(), kImpressions * 9 / 10);

  // Frequency caps shared through Redis: one user bid round robin over the
  // replicas against a cap of 3 a day. A replica learns the others'
  // placements of the pair when it first meets it and after each of its
  // own, so the fleet places at most cap + 2 (one more a replica besides
  // the first), not 3 x cap as replicas counting alone would.
  constexpr int kCap = 3;
  const Campaign freq = Create(r[0], "interest:fleet-freq", 2'000'000, 1'000'000'000, kCap);
  for (auto& replica : r) {
    ASSERT_TRUE(PollUntil([&] {
      auto p = Bid(*replica.exchange, "interest:fleet-freq");
      return p.has_value() && p->campaign_id() == freq.id();
    }));
  }
  int freq_placed = 0;
  for (int i = 0; i < 15; ++i) {
    auto p = Bid(*r[i % 3].exchange, "interest:fleet-freq", nullptr, "fleet-freq-user");
    if (p.has_value() && p->campaign_id() == freq.id()) ++freq_placed;
    absl::SleepFor(absl::Milliseconds(100));  // Past a sharing round (20 ms).
  }
  EXPECT_GE(freq_placed, kCap);
  EXPECT_LE(freq_placed, kCap + 2);

  // Load through the balancer while one replica is SIGKILLed and restarted,
  // then another is sent SIGTERM.
  const Campaign open = Create(r[0], "interest:fleet-faults", 2'000'000, 1'000'000'000'000);
  for (auto& replica : r) {
    ASSERT_TRUE(PollUntil([&] {
      auto p = Bid(*replica.exchange, "interest:fleet-faults");
      return p.has_value() && p->campaign_id() == open.id();
    }));
  }
  enum Phase { kSteady, kKilled, kPgDown, kPgBack, kDraining, kPhases };
  std::atomic<int> phase{kSteady};
  std::atomic<bool> stop{false};
  std::atomic<int> failed[kPhases] = {}, calls[kPhases] = {}, bids_failed[kPhases] = {},
                   placed[kPhases] = {}, billed_in[kPhases] = {};
  std::atomic<int> unavailable_reports{0};
  std::string first_failure, pg_failure;
  // Half the load through HAProxy, half through client-side round robin
  // over the three replicas' addresses (as `attex --addr a,b,c` does).
  auto round_robin = Exchange::NewStub(client::BalancedChannel(
      absl::StrCat("127.0.0.1:", r[0].port, ",127.0.0.1:", r[1].port, ",127.0.0.1:", r[2].port),
      grpc::InsecureChannelCredentials()));
  std::vector<std::thread> load;
  for (int t = 0; t < 8; ++t) {
    load.emplace_back([&, t] {
      Exchange::Stub& stub = t % 2 == 0 ? *balanced_ : *round_robin;
      while (!stop.load()) {
        const int at = phase.load();
        grpc::Status status;
        auto p = Bid(stub, "interest:fleet-faults", &status);
        calls[at]++;
        if (!status.ok()) {
          bids_failed[at]++;
          absl::MutexLock lock(&mu);
          if (at == kPgDown && pg_failure.empty()) {
            pg_failure = absl::StrCat("a Bid with PostgreSQL away: ", status.error_code(), " ",
                                      status.error_message());
          }
        }
        if (status.ok() && p.has_value()) {
          placed[at]++;
          const EventResult result = Report(stub, p->billing_token(), &status);
          calls[at]++;
          if (result == EVENT_RESULT_ACCEPTED || result == EVENT_RESULT_DUPLICATE) {
            billed_in[at]++;
            absl::MutexLock lock(&mu);
            acknowledged.insert(p->billing_token());
          }
          // Billing is retryable while PostgreSQL is away; nothing else is.
          if (at == kPgDown && status.error_code() == grpc::StatusCode::UNAVAILABLE) {
            unavailable_reports++;
            continue;
          }
        }
        if (!status.ok()) {
          failed[at]++;
          absl::MutexLock lock(&mu);
          if (at == kDraining && first_failure.empty()) {
            first_failure = absl::StrCat(status.error_code(), " ", status.error_message());
          }
        }
      }
    });
  }
  auto stop_load = [&] {
    stop = true;
    for (auto& l : load) l.join();
  };
  int kills = 0;
  absl::SleepFor(absl::Milliseconds(700));
  EXPECT_GT(Slices(open.id()).count("r2"), 0u);
  phase = kKilled;
  r[2].server->Signal(SIGKILL);
  r[2].server->Wait();
  const absl::Time killed = absl::Now();
  ++kills;
  // Same ports (HAProxy takes it back once its checks pass), a new name in
  // the slices: the dead one's slices come back only by their lease.
  r[2].id = "r2-restarted";
  Start(r[2]);
  if (HasFatalFailure()) return stop_load();
  EXPECT_TRUE(
      PollUntil([&] { return Slices(open.id()).count("r2") == 0; }, 200, absl::Milliseconds(25)));
  const double slices_back_s = absl::ToDoubleSeconds(absl::Now() - killed);
  EXPECT_LE(slices_back_s, kLeaseS + 1.0);

  // PostgreSQL away: bids go on from the slices, billing is UNAVAILABLE.
  // First the restarted replica is taken back by HAProxy's checks and the
  // round-robin channel (its failures count before this).
  absl::SleepFor(absl::Milliseconds(1200));
  phase = kPgDown;
  ASSERT_TRUE(cluster_->Stop().ok());
  absl::SleepFor(absl::Milliseconds(1000));
  ASSERT_TRUE(cluster_->Restart().ok());
  phase = kPgBack;
  EXPECT_TRUE(
      PollUntil([&] { return billed_in[kPgBack].load() > 10; }, 200, absl::Milliseconds(25)));
  EXPECT_GT(placed[kPgDown].load(), 0);
  EXPECT_EQ(bids_failed[kPgDown].load(), 0) << pg_failure;

  const auto before_drain = Slices(open.id());
  phase = kDraining;
  const absl::Time sigterm = absl::Now();
  r[1].server->Signal(SIGTERM);
  EXPECT_EQ(r[1].server->Wait(), 0);
  const double drain_s = absl::ToDoubleSeconds(absl::Now() - sigterm);
  absl::SleepFor(absl::Milliseconds(300));
  stop_load();
  // On drain r1 gave back all but what it still holds reserved.
  const auto after_drain = Slices(open.id());
  ASSERT_GT(before_drain.count("r1"), 0u);
  EXPECT_LT(after_drain.count("r1") ? after_drain.at("r1") : 0, before_drain.at("r1"));
  EXPECT_GT(calls[kDraining].load(), 0);
  EXPECT_EQ(failed[kDraining].load(), 0) << first_failure;

  // Every acknowledged event is in the ledger: reported again, a duplicate.
  // Reported from four threads: one at a time, the thousands of round trips
  // (a PostgreSQL transaction each) took seconds.
  const std::vector<std::string> tokens(acknowledged.begin(), acknowledged.end());
  std::atomic<int64_t> duplicates{0};
  std::vector<std::thread> reporters;
  constexpr int kReporters = 4;
  for (int t = 0; t < kReporters; ++t) {
    reporters.emplace_back([&, t] {
      for (size_t i = t; i < tokens.size(); i += kReporters) {
        if (Report(*r[0].exchange, tokens[i]) == EVENT_RESULT_DUPLICATE) ++duplicates;
      }
    });
  }
  for (auto& t : reporters) t.join();
  const int64_t found = duplicates.load();
  const int64_t lost = static_cast<int64_t>(acknowledged.size()) - found;
  EXPECT_EQ(lost, 0);

  auto store = store::OpenPgStore(dsn_);
  ASSERT_TRUE(store.ok()) << store.status();
  auto check = (*store)->CheckLedger();
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_TRUE(check->ok()) << (check->problems.empty() ? "" : check->problems[0]);
  EXPECT_GE(check->events_checked, static_cast<int64_t>(acknowledged.size()));
  int64_t overspend = 0, capped_spend = 0;
  for (const Campaign& c : {fresh, probe_campaign, capped, open}) {
    auto spend = (*store)->GetSpend(c.id(), 0);
    ASSERT_TRUE(spend.ok()) << spend.status();
    overspend += std::max<int64_t>(0, spend->total_micros - c.budget().total_micros());
    if (c.id() == capped.id()) capped_spend = spend->total_micros;
  }
  EXPECT_EQ(overspend, 0);
  EXPECT_EQ(capped_spend, billed.load() * charge);
  const double under_delivery = 100.0 * static_cast<double>(budget - capped_spend) / budget;

  std::printf(
      "new campaign bid by the other replicas after %.0f ms; %d of k=%lld billed, %d reports "
      "refused over budget; one user placed %d times by three replicas against a cap of %d; "
      "calls through HAProxy and client-side round robin: %d before the SIGKILL (%d failed: in "
      "flight on the killed replica), %d after it (%d failed), the killed replica's slices back "
      "after %.2f s (lease %d s); PostgreSQL down 1 s: %d placed from slices, %d bids failed, "
      "%d reports UNAVAILABLE, %d billed after it came back; %d from the SIGTERM (%d failed); "
      "the drain took %.2f s\n",
      seen_ms, billed.load(), static_cast<long long>(kImpressions), over_budget.load(), freq_placed,
      kCap, calls[kSteady].load(), failed[kSteady].load(), calls[kKilled].load(),
      failed[kKilled].load(), slices_back_s, kLeaseS, placed[kPgDown].load(),
      bids_failed[kPgDown].load(), unavailable_reports.load(), billed_in[kPgBack].load(),
      calls[kDraining].load(), failed[kDraining].load(), drain_s);
  std::printf(
      "fleet: kills %d, acknowledged %zu, found %lld, lost %lld, overspend %lld micros, "
      "under-delivery %.1f%%\n",
      kills, acknowledged.size(), static_cast<long long>(found), static_cast<long long>(lost),
      static_cast<long long>(overspend), under_delivery);
  std::fflush(stdout);
  haproxy_.Stop();
  EXPECT_EQ(r[0].server->Stop(), 0);
  EXPECT_EQ(r[2].server->Stop(), 0);
}

}  // namespace
}  // namespace attex::testing
