// The crash harness: drives bids and billing events into the real server
// from several threads, SIGKILLs it at random moments (at least 20 times),
// restarts it each time, and finally checks the database itself: SQLite's
// integrity check passes, every event acknowledged OK is in the ledger, no
// campaign's billed spend exceeds its budget, and the ledger balances.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "auction/billing_token.h"
#include "tests/crash/money_world.h"
#include "tests/testing/sqlite_file.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {
namespace {

using namespace attex::v1;

constexpr int kKills = 20;
constexpr int kDrivers = 4;
// Impressions each campaign's budget covers: the first runs out early, so
// that tokens issued before a crash (whose reservations the crash loses)
// meet the hard cap at billing.
constexpr int64_t kCovered[] = {150, 1500, 20000};
constexpr int kCampaigns = 3;

std::string Feature(int c) { return "kw:crash-" + std::to_string(c); }

struct Pending {
  std::string token;
  int reports = 0;  // Acknowledged reports so far.
};

TEST(CrashTest, SigkilledServerLosesNoAcknowledgedEventAndOverspendsNoBudget) {
  TempDir dir;
  ServerProcess server(dir.path());
  ASSERT_TRUE(server.Start());
  const std::string op_token = OperatorToken(dir.path());
  std::mutex mu;  // Guards stubs (swapped at each restart) and the tallies.
  auto stubs = std::make_shared<Stubs>(server.channel());
  const Account platform = NewAccount(*stubs, op_token, ROLE_PLATFORM, "crash platform");
  const Account advertiser = NewAccount(*stubs, op_token, ROLE_ADVERTISER, "crash advertiser");
  std::vector<std::string> campaign_ids;
  for (int c = 0; c < kCampaigns; ++c) {
    Campaign out;
    grpc::Status st =
        stubs->campaigns->CreateCampaign(Context(advertiser.token()).get(),
                                         FixedPriceCampaign(Feature(c), kCovered[c], c == 1), &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
    campaign_ids.push_back(out.id());
  }

  std::set<std::string> acknowledged;  // Token hashes answered ACCEPTED or DUPLICATE.
  int64_t over_budget = 0, placements = 0;
  std::atomic<bool> stop{false};
  auto current = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return stubs;
  };
  std::vector<std::thread> drivers;
  for (int d = 0; d < kDrivers; ++d) {
    drivers.emplace_back([&, d] {
      std::mt19937 rng(d + 1);
      std::vector<Pending> pending;
      int n = 0;
      while (!stop.load()) {
        auto s = current();
        BidResponse bid;
        const int c = static_cast<int>(rng() % kCampaigns);
        auto ctx = Context(platform.token());
        ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
        if (s->exchange
                ->Bid(ctx.get(), RequestFor(Feature(c), "r", "u" + std::to_string(n++)), &bid)
                .ok()) {
          std::lock_guard<std::mutex> lock(mu);
          for (const auto& p : bid.placements()) {
            pending.push_back({p.billing_token()});
            ++placements;
          }
        }
        if (pending.empty() || rng() % 2 == 0) continue;
        // Report a few tokens; some reported before (duplicates), maybe
        // issued before the last crash.
        ReportEventsRequest req;
        std::vector<size_t> picked;
        for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
          const size_t i = rng() % pending.size();
          picked.push_back(i);
          auto* e = req.add_events();
          e->set_billing_token(pending[i].token);
          e->set_type(EVENT_TYPE_IMPRESSION);
          e->set_event_id("ev");
        }
        ReportEventsResponse out;
        auto rctx = Context(platform.token());
        rctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
        if (!s->exchange->ReportEvents(rctx.get(), req, &out).ok()) continue;
        std::lock_guard<std::mutex> lock(mu);
        for (int k = 0; k < out.results_size(); ++k) {
          const EventResult r = out.results(k).result();
          if (r == EVENT_RESULT_ACCEPTED || r == EVENT_RESULT_DUPLICATE) {
            acknowledged.insert(auction::Sha256Hex(pending[picked[k]].token));
            ++pending[picked[k]].reports;
          } else if (r == EVENT_RESULT_OVER_BUDGET) {
            ++over_budget;
            pending[picked[k]].reports = 99;  // Never billable.
          }
        }
        // Forget tokens acknowledged twice (they were retried once).
        std::erase_if(pending, [](const Pending& p) { return p.reports >= 2; });
        // Paces the load (leaves the CPU to the server and the killer):
        // part of the workload, not a wait for anything.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }

  std::mt19937 rng(2026);
  int kills = 0;
  for (; kills < kKills; ++kills) {
    // The workload itself: a SIGKILL at a random moment of the load, 100 to
    // 600 ms into each run of the server.
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 500));
    server.Stop(SIGKILL);
    ASSERT_TRUE(server.Start()) << "restart " << kills + 1;
    std::lock_guard<std::mutex> lock(mu);
    stubs = std::make_shared<Stubs>(server.channel());
  }
  // Load on the last restart too, before the drivers stop: workload again.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (auto& t : drivers) t.join();

  LedgerCheck check;
  grpc::Status st = stubs->op->CheckLedger(Context(op_token).get(), CheckLedgerRequest(), &check);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(check.ok()) << (check.problems_size() > 0 ? check.problems(0) : "");
  stubs.reset();
  ASSERT_EQ(server.Stop(SIGTERM), 0);

  // The database itself, read directly.
  SqliteFile db(dir.path() + "/attex.db");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db.Query("PRAGMA integrity_check"), "ok");
  // Each billed event's hash and how many debits it has, in one pass: the
  // ledger has no index on token_hash, so a query for each hash scanned it
  // whole (about 15 s of the harness).
  const std::string debits = db.Query(
      "SELECT group_concat(h, ',') FROM (SELECT e.token_hash || ':' || COUNT(*) AS h "
      "FROM events e JOIN ledger l ON l.token_hash = e.token_hash "
      "WHERE e.type = 1 AND l.amount_micros < 0 GROUP BY e.token_hash)");
  std::set<std::string> debited_once;
  for (absl::string_view row : absl::StrSplit(debits, ',')) {
    if (absl::EndsWith(row, ":1")) debited_once.emplace(row.substr(0, row.size() - 2));
  }
  int64_t found = 0;
  for (const auto& hash : acknowledged) found += debited_once.count(hash);
  EXPECT_EQ(found, static_cast<int64_t>(acknowledged.size())) << "acknowledged events lost";
  int overspent = 0;
  for (int c = 0; c < kCampaigns; ++c) {
    const std::string spent = db.Query(
        "SELECT COALESCE(SUM(price_micros), 0) FROM events WHERE type = 1 AND campaign_id = '" +
        campaign_ids[c] + "'");
    EXPECT_LE(std::stoll(spent), kCovered[c] * kPriceMicros) << campaign_ids[c];
    overspent += std::stoll(spent) > kCovered[c] * kPriceMicros;
  }
  EXPECT_EQ(db.Query("SELECT COALESCE(SUM(amount_micros), 0) FROM ledger"), "0");
  const std::string billed = db.Query("SELECT COUNT(*) FROM events WHERE type = 1");
  std::printf(
      "crash harness: kills %d, placements %lld, events acknowledged %zu, found %lld, lost %lld, "
      "billed %s, refused over budget %lld, campaigns overspent %d\n",
      kills, static_cast<long long>(placements), acknowledged.size(), static_cast<long long>(found),
      static_cast<long long>(acknowledged.size() - found), billed.c_str(),
      static_cast<long long>(over_budget), overspent);
  EXPECT_GE(kills, 20);
  EXPECT_GT(acknowledged.size(), 0u);
}

}  // namespace
}  // namespace attex::testing
