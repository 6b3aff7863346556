#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/testing/campaign_builder.h"
#include "tests/testing/sqlite_file.h"
#include "tests/testing/temp_dir.h"

namespace attex::store {
namespace {

using attex::v1::Campaign;
using google::protobuf::util::MessageDifferencer;

constexpr int64_t kNow = 1'700'000'000'000;

Campaign MakeCampaign(const std::string& advertiser, const std::string& name) {
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
// advertiser, the platform, the user and the exchange.
BillingEvent Impression(const std::string& token_hash,
                        const std::string& campaign, int64_t price,
                        int64_t at_ms) {
  BillingEvent e{.token_hash = token_hash,
                 .type = attex::v1::EVENT_TYPE_IMPRESSION,
                 .event_id = "ev-" + token_hash,
                 .campaign_id = campaign,
                 .platform_id = "acc-2",
                 .price_micros = price,
                 .at_ms = at_ms,
                 .entries = {}};
  const int64_t platform = price * 7 / 10;
  const int64_t user = price / 10;
  e.entries = {{"advertiser:acc-3", -price},
               {"platform:acc-2", platform},
               {"user:u1", user},
               {"exchange", price - platform - user}};
  return e;
}

BillingEvent Click(const std::string& token_hash, const std::string& campaign,
                   int64_t at_ms) {
  return BillingEvent{.token_hash = token_hash,
                      .type = attex::v1::EVENT_TYPE_CLICK,
                      .event_id = "click-" + token_hash,
                      .campaign_id = campaign,
                      .platform_id = "acc-2",
                      .at_ms = at_ms,
                      .entries = {}};
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void TearDown() override { store_.reset(); }
  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(dir_);
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

  attex::testing::TempDir root_;
  const std::string dir_ = root_.path() + "/data";  // Not there yet: OpenSqliteStore creates it.
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, AccountsGetSequentialIdsAndAreListed) {
  auto op = store_->CreateAccount(attex::v1::ROLE_OPERATOR, "ops", "hash-op");
  auto platform =
      store_->CreateAccount(attex::v1::ROLE_PLATFORM, "news", "hash-pl");
  ASSERT_TRUE(op.ok()) << op.status();
  ASSERT_TRUE(platform.ok()) << platform.status();
  EXPECT_EQ(op->id, "acc-1");
  EXPECT_EQ(platform->id, "acc-2");
  EXPECT_GT(op->created_at_ms, 0);

  auto accounts = store_->ListAccounts();
  ASSERT_TRUE(accounts.ok()) << accounts.status();
  ASSERT_EQ(accounts->size(), 2u);
  EXPECT_EQ((*accounts)[0].id, "acc-1");
  EXPECT_EQ((*accounts)[0].role, attex::v1::ROLE_OPERATOR);
  EXPECT_EQ((*accounts)[1].name, "news");
  EXPECT_EQ((*accounts)[1].token_hash, "hash-pl");
  EXPECT_EQ((*accounts)[1].created_at_ms, platform->created_at_ms);
  EXPECT_FALSE((*accounts)[1].revoked);
}

TEST_F(SqliteStoreTest, TokenHashClashIsAlreadyExistsAndWritesNothing) {
  ASSERT_TRUE(
      store_->CreateAccount(attex::v1::ROLE_PLATFORM, "a", "same").ok());
  auto clash = store_->CreateAccount(attex::v1::ROLE_ADVERTISER, "b", "same");
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kAlreadyExists)
      << clash.status();
  EXPECT_EQ(store_->ListAccounts()->size(), 1u);
}

TEST_F(SqliteStoreTest, InsertedCampaignIsStoredWhole) {
  auto inserted = store_->InsertCampaign(MakeCampaign("acc-3", "spring"), kNow);
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(inserted->id(), "cmp-1");
  EXPECT_EQ(inserted->version(), 1);
  EXPECT_EQ(inserted->created_at(), kNow);
  EXPECT_EQ(inserted->updated_at(), kNow);

  auto got = store_->GetCampaign("cmp-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*got, *inserted))
      << got->DebugString();
}

TEST_F(SqliteStoreTest, BulkInsertStoresEveryCampaignInOneGo) {
  ASSERT_TRUE(store_->InsertCampaign(MakeCampaign("acc-3", "first"), kNow).ok());
  std::vector<Campaign> batch;
  for (int i = 0; i < 500; ++i) batch.push_back(MakeCampaign("acc-3", absl::StrCat("bulk ", i)));
  auto stored = store_->InsertCampaigns(batch, kNow + 1);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 500u);
  EXPECT_EQ((*stored)[0].id(), "cmp-2");
  EXPECT_EQ((*stored)[499].id(), "cmp-501");
  EXPECT_EQ((*stored)[7].name(), "bulk 7");
  auto all = store_->LoadAllCampaigns();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 501u);
  auto got = store_->GetCampaign("cmp-300");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*got, (*stored)[298]));
  EXPECT_EQ(got->version(), 1);
  EXPECT_EQ(got->created_at(), kNow + 1);
}

TEST_F(SqliteStoreTest, UpdateChecksVersionAndKeepsOwnership) {
  ASSERT_TRUE(
      store_->InsertCampaign(MakeCampaign("acc-3", "spring"), kNow).ok());
  Campaign change =
      MakeCampaign("acc-9", "summer");  // advertiser_id must not move.
  change.set_id("cmp-1");
  change.set_created_at(42);

  auto stale = store_->UpdateCampaign(change, 7, kNow + 1);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(stale.status().message().find("expected version 7"),
            std::string::npos)
      << stale.status();
  EXPECT_NE(stale.status().message().find("stored version 1"),
            std::string::npos);

  auto updated = store_->UpdateCampaign(change, 1, kNow + 1000);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->version(), 2);
  EXPECT_EQ(updated->name(), "summer");
  EXPECT_EQ(updated->advertiser_id(), "acc-3");
  EXPECT_EQ(updated->created_at(), kNow);
  EXPECT_EQ(updated->updated_at(), kNow + 1000);
  EXPECT_TRUE(
      MessageDifferencer::Equals(*store_->GetCampaign("cmp-1"), *updated));

  // 0 skips the check.
  auto unchecked = store_->UpdateCampaign(change, 0, kNow + 2000);
  ASSERT_TRUE(unchecked.ok()) << unchecked.status();
  EXPECT_EQ(unchecked->version(), 3);
}

TEST_F(SqliteStoreTest, MissingCampaignIsNotFound) {
  EXPECT_EQ(store_->GetCampaign("cmp-5").status().code(),
            absl::StatusCode::kNotFound);
  Campaign c = MakeCampaign("acc-3", "x");
  c.set_id("cmp-5");
  EXPECT_EQ(store_->UpdateCampaign(c, 0, kNow).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ListPaginatesInIdOrderPerAdvertiser) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        store_
            ->InsertCampaign(MakeCampaign(i % 2 == 0 ? "acc-3" : "acc-4",
                                          absl::StrCat("c", i)),
                             kNow)
            .ok());
  }
  // acc-3 owns cmp-1, cmp-3, cmp-5.
  auto first = store_->ListCampaigns("acc-3", "", 2);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].id(), "cmp-1");
  EXPECT_EQ((*first)[1].id(), "cmp-3");
  auto second = store_->ListCampaigns("acc-3", (*first)[1].id(), 2);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].id(), "cmp-5");
  EXPECT_TRUE(store_->ListCampaigns("acc-3", "cmp-5", 2)->empty());

  auto all = store_->ListCampaigns("", "cmp-2", 10);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id(), "cmp-3");
  EXPECT_EQ(store_->LoadAllCampaigns()->size(), 5u);
}

TEST_F(SqliteStoreTest, MalformedAfterIdIsInvalidArgument) {
  for (const char* bad :
       {"cmp-", "cmp-x", "acc-1", "cmp--1", "cmp-1 ", "cmp-0"}) {
    EXPECT_EQ(store_->ListCampaigns("", bad, 10).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(SqliteStoreTest, DuplicateEventChangesNothing) {
  auto first = store_->RecordEvent(Impression("tok-1", "cmp-1", 1000, kNow));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, RecordResult::kAccepted);
  auto again =
      store_->RecordEvent(Impression("tok-1", "cmp-1", 1000, kNow + 5));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, RecordResult::kDuplicate);

  EXPECT_EQ(Balance("advertiser:acc-3"), -1000);
  EXPECT_EQ(Balance("platform:acc-2"), 700);
  auto spend = store_->GetSpend("cmp-1", 0);
  ASSERT_TRUE(spend.ok()) << spend.status();
  EXPECT_EQ(spend->impressions, 1);
  EXPECT_EQ(spend->total_micros, 1000);
}

TEST_F(SqliteStoreTest, ClickWithImpressionsTokenHashIsSeparateEvent) {
  ASSERT_EQ(*store_->RecordEvent(Impression("tok-1", "cmp-1", 1000, kNow)),
            RecordResult::kAccepted);
  ASSERT_EQ(*store_->RecordEvent(Click("tok-1", "cmp-1", kNow)),
            RecordResult::kAccepted);
  ASSERT_EQ(*store_->RecordEvent(Click("tok-1", "cmp-1", kNow)),
            RecordResult::kDuplicate);
  auto spend = store_->GetSpend("cmp-1", 0);
  ASSERT_TRUE(spend.ok()) << spend.status();
  EXPECT_EQ(spend->impressions, 1);
  EXPECT_EQ(spend->clicks, 1);
  EXPECT_EQ(spend->total_micros, 1000);
}

TEST_F(SqliteStoreTest, SpendSplitsTotalAndToday) {
  const int64_t day_start = kNow - 1000;
  ASSERT_TRUE(
      store_->RecordEvent(Impression("a", "cmp-1", 300, day_start - 1)).ok());
  ASSERT_TRUE(
      store_->RecordEvent(Impression("b", "cmp-1", 500, day_start)).ok());
  ASSERT_TRUE(store_->RecordEvent(Impression("c", "cmp-1", 700, kNow)).ok());
  ASSERT_TRUE(store_->RecordEvent(Impression("d", "cmp-2", 900, kNow)).ok());
  ASSERT_TRUE(store_->RecordEvent(Click("c", "cmp-1", kNow)).ok());

  auto spend = store_->GetSpend("cmp-1", day_start);
  ASSERT_TRUE(spend.ok()) << spend.status();
  EXPECT_EQ(spend->total_micros, 1500);
  EXPECT_EQ(spend->today_micros, 1200);
  EXPECT_EQ(spend->impressions, 3);
  EXPECT_EQ(spend->clicks, 1);

  auto none = store_->GetSpend("cmp-9", day_start);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->total_micros, 0);
  EXPECT_EQ(none->impressions, 0);

  auto all = store_->AllSpend(day_start);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].first, "cmp-1");
  EXPECT_EQ((*all)[0].second.today_micros, 1200);
  EXPECT_EQ((*all)[1].first, "cmp-2");
  EXPECT_EQ((*all)[1].second.total_micros, 900);
}

TEST_F(SqliteStoreTest, BalancesFilterByPrefixAndLedgerSumsToZero) {
  ASSERT_TRUE(store_->RecordEvent(Impression("a", "cmp-1", 1000, kNow)).ok());
  ASSERT_TRUE(store_->RecordEvent(Impression("b", "cmp-1", 2000, kNow)).ok());
  auto users = store_->Balances("user:");
  ASSERT_TRUE(users.ok()) << users.status();
  EXPECT_EQ(users->ledger_sum_micros, 0);
  ASSERT_EQ(users->accounts.size(), 1u);
  EXPECT_EQ(users->accounts[0].account, "user:u1");
  EXPECT_EQ(users->accounts[0].balance_micros, 300);

  auto all = store_->Balances("");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->accounts.size(), 4u);  // Ordered by account name.
  EXPECT_EQ(all->accounts[0].account, "advertiser:acc-3");
  EXPECT_EQ(all->accounts[0].balance_micros, -3000);
  EXPECT_EQ(all->accounts[1].account, "exchange");
  EXPECT_EQ(all->accounts[1].balance_micros, 600);

  // '_' and '%' in a prefix are characters, not wildcards.
  EXPECT_TRUE(store_->Balances("user_")->accounts.empty());
  EXPECT_TRUE(store_->Balances("%")->accounts.empty());
}

TEST_F(SqliteStoreTest, EmptyLedgerSumsToZero) {
  auto balances = store_->Balances("");
  ASSERT_TRUE(balances.ok()) << balances.status();
  EXPECT_TRUE(balances->accounts.empty());
  EXPECT_EQ(balances->ledger_sum_micros, 0);
}

TEST_F(SqliteStoreTest, EntriesNotSummingToZeroAreRejected) {
  BillingEvent e = Impression("tok-1", "cmp-1", 1000, kNow);
  e.entries[1].amount_micros += 1;
  EXPECT_EQ(store_->RecordEvent(e).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Nothing was recorded: the same token is still new.
  EXPECT_EQ(store_->GetSpend("cmp-1", 0)->impressions, 0);
  EXPECT_EQ(*store_->RecordEvent(Impression("tok-1", "cmp-1", 1000, kNow)),
            RecordResult::kAccepted);
}

TEST_F(SqliteStoreTest, ReopenedStoreKeepsEverything) {
  ASSERT_TRUE(
      store_->CreateAccount(attex::v1::ROLE_ADVERTISER, "shoes", "h1").ok());
  auto c = store_->InsertCampaign(MakeCampaign("acc-1", "spring"), kNow);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(
      store_->RecordEvent(Impression("tok-1", "cmp-1", 1000, kNow)).ok());
  Reopen();

  ASSERT_EQ(store_->ListAccounts()->size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(*store_->GetCampaign("cmp-1"), *c));
  EXPECT_EQ(store_->GetSpend("cmp-1", 0)->total_micros, 1000);
  EXPECT_EQ(*store_->RecordEvent(Impression("tok-1", "cmp-1", 1000, kNow)),
            RecordResult::kDuplicate);
  EXPECT_EQ(Balance("advertiser:acc-3"), -1000);
  // Ids keep counting from where they were.
  EXPECT_EQ(store_->InsertCampaign(MakeCampaign("acc-1", "b"), kNow)->id(),
            "cmp-2");
  EXPECT_EQ(store_->CreateAccount(attex::v1::ROLE_PLATFORM, "p", "h2")->id,
            "acc-2");
}

TEST_F(SqliteStoreTest, DatabaseIsInWalModeWithSchemaVersion) {
  attex::testing::SqliteFile db(dir_ + "/attex.db");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db.Query("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(db.Query("PRAGMA user_version"), "3");
  EXPECT_EQ(db.Query("PRAGMA page_size"), "1024");
}

TEST_F(SqliteStoreTest, ConcurrentEventsAreCountedExactly) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  constexpr int64_t kPrice = 1000;
  std::atomic<int> accepted{0}, duplicates{0}, errors{0};
  auto token = [](int t, int i) { return absl::StrCat("t", t, "-", i); };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto record = [&](const std::string& hash) {
        auto r = store_->RecordEvent(Impression(hash, "cmp-1", kPrice, kNow));
        if (!r.ok()) {
          ++errors;
        } else if (*r == RecordResult::kAccepted) {
          ++accepted;
        } else {
          ++duplicates;
        }
      };
      // Each token is tried three times: twice by its owner, once by the
      // neighbour racing it.
      for (int i = 0; i < kPerThread; ++i) {
        record(token(t, i));
        record(token(t, i));
        record(token((t + 1) % kThreads, i));
      }
    });
  }
  for (auto& th : threads) th.join();
  constexpr int kEvents = kThreads * kPerThread;
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(accepted.load(), kEvents);
  EXPECT_EQ(duplicates.load(), 2 * kEvents);
  auto spend = store_->GetSpend("cmp-1", 0);
  ASSERT_TRUE(spend.ok()) << spend.status();
  EXPECT_EQ(spend->impressions, kEvents);
  EXPECT_EQ(spend->total_micros, kEvents * kPrice);
  EXPECT_EQ(Balance("advertiser:acc-3"), -kEvents * kPrice);
  auto balances = store_->Balances("");
  ASSERT_TRUE(balances.ok()) << balances.status();
  EXPECT_EQ(balances->ledger_sum_micros, 0);
}

}  // namespace
}  // namespace attex::store
