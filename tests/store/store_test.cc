// Both stores: accounts, campaigns, what a reopened store keeps; and the
// SQLite database file it makes (WAL, schema version, page size).
#include "store/store.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/store/store_fixture.h"
#include "tests/testing/sqlite_file.h"

namespace attex::store {
namespace {

using attex::v1::Campaign;
using google::protobuf::util::MessageDifferencer;

TEST_P(StoreTest, AccountsGetSequentialIdsAndAreListed) {
  auto op = store_->CreateAccount(attex::v1::ROLE_OPERATOR, "ops", "hash-op");
  auto platform = store_->CreateAccount(attex::v1::ROLE_PLATFORM, "news", "hash-pl");
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

TEST_P(StoreTest, TokenHashClashIsAlreadyExistsAndWritesNothing) {
  ASSERT_TRUE(store_->CreateAccount(attex::v1::ROLE_PLATFORM, "a", "same").ok());
  auto clash = store_->CreateAccount(attex::v1::ROLE_ADVERTISER, "b", "same");
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kAlreadyExists) << clash.status();
  EXPECT_EQ(store_->ListAccounts()->size(), 1u);
}

TEST_P(StoreTest, InsertedCampaignIsStoredWhole) {
  auto inserted = store_->InsertCampaign(MakeCampaign("acc-3", "spring"), kNow);
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(inserted->id(), "cmp-1");
  EXPECT_EQ(inserted->version(), 1);
  EXPECT_EQ(inserted->created_at(), kNow);
  EXPECT_EQ(inserted->updated_at(), kNow);

  auto got = store_->GetCampaign("cmp-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*got, *inserted)) << got->DebugString();
}

TEST_P(StoreTest, BulkInsertStoresEveryCampaignInOneGo) {
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

TEST_P(StoreTest, UpdateChecksVersionAndKeepsOwnership) {
  ASSERT_TRUE(store_->InsertCampaign(MakeCampaign("acc-3", "spring"), kNow).ok());
  Campaign change = MakeCampaign("acc-9", "summer");  // advertiser_id must not move.
  change.set_id("cmp-1");
  change.set_created_at(42);

  auto stale = store_->UpdateCampaign(change, 7, kNow + 1);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(stale.status().message().find("expected version 7"), std::string::npos)
      << stale.status();
  EXPECT_NE(stale.status().message().find("stored version 1"), std::string::npos);

  auto updated = store_->UpdateCampaign(change, 1, kNow + 1000);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->version(), 2);
  EXPECT_EQ(updated->name(), "summer");
  EXPECT_EQ(updated->advertiser_id(), "acc-3");
  EXPECT_EQ(updated->created_at(), kNow);
  EXPECT_EQ(updated->updated_at(), kNow + 1000);
  EXPECT_TRUE(MessageDifferencer::Equals(*store_->GetCampaign("cmp-1"), *updated));

  // 0 skips the check.
  auto unchecked = store_->UpdateCampaign(change, 0, kNow + 2000);
  ASSERT_TRUE(unchecked.ok()) << unchecked.status();
  EXPECT_EQ(unchecked->version(), 3);
}

// A bid change: the stored campaign with a new bid.
CampaignUpdate BidChange(const std::string& id, int64_t expected_version, int64_t bid) {
  return {.id = id,
          .expected_version = expected_version,
          .edit = [bid](const Campaign& stored) -> absl::StatusOr<Campaign> {
            Campaign c = stored;
            c.set_bid_cpm_micros(bid);
            return c;
          }};
}

TEST_P(StoreTest, GroupedUpdatesApplyInOrderAndEachRefusalWritesNothing) {
  ASSERT_TRUE(store_->InsertCampaign(MakeCampaign("acc-3", "spring"), kNow).ok());
  ASSERT_TRUE(store_->InsertCampaign(MakeCampaign("acc-3", "summer"), kNow).ok());
  std::vector<CampaignUpdate> updates;
  updates.push_back(BidChange("cmp-1", 1, 1'000'000));
  updates.push_back(BidChange("cmp-1", 2, 2'000'000));  // Sees the one before.
  updates.push_back(BidChange("cmp-1", 1, 3'000'000));  // Stale.
  updates.push_back(BidChange("cmp-9", 0, 4'000'000));  // Absent.
  updates.push_back({.id = "cmp-2", .edit = [](const Campaign&) -> absl::StatusOr<Campaign> {
                       return absl::PermissionDeniedError("not yours");
                     }});
  updates.push_back(BidChange("cmp-2", 0, 5'000'000));
  auto results = store_->UpdateCampaigns(std::move(updates), kNow + 1000);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 6u);
  ASSERT_TRUE((*results)[0].ok()) << (*results)[0].status();
  EXPECT_EQ((*results)[0]->version(), 2);
  ASSERT_TRUE((*results)[1].ok()) << (*results)[1].status();
  EXPECT_EQ((*results)[1]->version(), 3);
  EXPECT_EQ((*results)[1]->bid_cpm_micros(), 2'000'000);
  EXPECT_EQ((*results)[1]->updated_at(), kNow + 1000);
  EXPECT_EQ((*results)[2].status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*results)[3].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*results)[4].status().code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE((*results)[5].ok()) << (*results)[5].status();
  EXPECT_EQ((*results)[5]->version(), 2);  // The refusal before it wrote nothing.
  EXPECT_EQ((*results)[5]->advertiser_id(), "acc-3");

  Reopen();  // Durable, as answered.
  EXPECT_TRUE(MessageDifferencer::Equals(*store_->GetCampaign("cmp-1"), *(*results)[1]));
  EXPECT_TRUE(MessageDifferencer::Equals(*store_->GetCampaign("cmp-2"), *(*results)[5]));
}

TEST_P(StoreTest, MissingCampaignIsNotFound) {
  EXPECT_EQ(store_->GetCampaign("cmp-5").status().code(), absl::StatusCode::kNotFound);
  Campaign c = MakeCampaign("acc-3", "x");
  c.set_id("cmp-5");
  EXPECT_EQ(store_->UpdateCampaign(c, 0, kNow).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreTest, ListPaginatesInIdOrderPerAdvertiser) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_
                    ->InsertCampaign(
                        MakeCampaign(i % 2 == 0 ? "acc-3" : "acc-4", absl::StrCat("c", i)), kNow)
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

TEST_P(StoreTest, MalformedAfterIdIsInvalidArgument) {
  for (const char* bad : {"cmp-", "cmp-x", "acc-1", "cmp--1", "cmp-1 ", "cmp-0"}) {
    EXPECT_EQ(store_->ListCampaigns("", bad, 10).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST_P(StoreTest, ReopenedStoreKeepsEverything) {
  ASSERT_TRUE(store_->CreateAccount(attex::v1::ROLE_ADVERTISER, "shoes", "h1").ok());
  auto c = store_->InsertCampaign(MakeCampaign("acc-1", "spring"), kNow);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(store_->RecordEvent(Impression("tok-1", "cmp-1", 1000, kNow)).ok());
  Reopen();

  ASSERT_EQ(store_->ListAccounts()->size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(*store_->GetCampaign("cmp-1"), *c));
  EXPECT_EQ(store_->GetSpend("cmp-1", 0)->total_micros, 1000);
  EXPECT_EQ(*store_->RecordEvent(Impression("tok-1", "cmp-1", 1000, kNow)),
            RecordResult::kDuplicate);
  EXPECT_EQ(Balance("advertiser:acc-3"), -1000);
  // Ids keep counting from where they were.
  EXPECT_EQ(store_->InsertCampaign(MakeCampaign("acc-1", "b"), kNow)->id(), "cmp-2");
  EXPECT_EQ(store_->CreateAccount(attex::v1::ROLE_PLATFORM, "p", "h2")->id, "acc-2");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::Values(attex::testing::Backend::kSqlite,
                                           attex::testing::Backend::kPostgres),
                         attex::testing::BackendName);

TEST(SqliteStoreTest, DatabaseIsInWalModeWithSchemaVersion) {
  attex::testing::TestStore place(attex::testing::Backend::kSqlite);
  ASSERT_TRUE(place.Open().ok());
  attex::testing::SqliteFile db(place.data_dir() + "/attex.db");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db.Query("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(db.Query("PRAGMA user_version"), "3");
  EXPECT_EQ(db.Query("PRAGMA page_size"), "1024");
}

}  // namespace
}  // namespace attex::store
