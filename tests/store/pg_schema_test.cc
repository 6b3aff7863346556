// PostgreSQL migrations: a new database gets the current schema, a database
// of schema 1 opens with its data and gains the change feed, a newer schema
// is refused, and replicas opening a new database together migrate it once.
#include "store/pg_schema.h"

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/testing/campaign_builder.h"
#include "tests/testing/test_store.h"

namespace attex::store {
namespace {

using attex::testing::Backend;

std::string QueryOne(const std::string& dsn, const std::string& sql) {
  pqxx::connection conn(dsn);
  pqxx::read_transaction txn(conn);
  pqxx::result r = txn.exec(sql);
  return r.empty() || r[0][0].is_null() ? "" : r[0][0].c_str();
}

TEST(PgSchemaTest, NewDatabaseGetsTheCurrentSchema) {
  attex::testing::TestStore place(Backend::kPostgres);
  ASSERT_TRUE(place.ok());
  ASSERT_TRUE(place.Open().ok());
  EXPECT_EQ(QueryOne(place.dsn(), "SELECT version FROM attex_schema"),
            std::to_string(kPgSchemaVersion));
  EXPECT_EQ(QueryOne(place.dsn(), "SELECT count(*) FROM attex_schema"), "1");
  // Reopening changes nothing.
  ASSERT_TRUE(place.Open().ok());
  EXPECT_EQ(QueryOne(place.dsn(), "SELECT count(*) FROM attex_schema"), "1");
}

TEST(PgSchemaTest, VersionOneDatabaseKeepsItsCampaignsAndGainsTheChangeFeed) {
  attex::testing::TestStore place(Backend::kPostgres);
  ASSERT_TRUE(place.ok());
  {
    pqxx::connection conn(place.dsn());
    ASSERT_TRUE(MigratePgSchema(conn, 1).ok());
  }
  EXPECT_EQ(QueryOne(place.dsn(), "SELECT version FROM attex_schema"), "1");
  ASSERT_TRUE(place
                  .Exec("INSERT INTO campaigns(seq, id, advertiser_id, version, body, "
                        "updated_at_ms) VALUES(nextval('campaigns_seq'), 'cmp-1', 'acc-1', 1, "
                        "'\\x'::bytea, 1)")
                  .ok());
  auto store = place.Open();
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(QueryOne(place.dsn(), "SELECT version FROM attex_schema"), "2");
  auto loaded = (*store)->LoadAllCampaigns();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 1u);
  const std::string first = QueryOne(place.dsn(), "SELECT change_seq FROM campaigns");
  EXPECT_EQ(first, "1");
  // Every later write draws a later change number.
  auto c = (*store)->InsertCampaign(
      attex::testing::CampaignBuilder().Advertiser("acc-1").Name("n").Build(), 5);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->id(), "cmp-2");
  EXPECT_EQ(QueryOne(place.dsn(), "SELECT change_seq FROM campaigns WHERE id = 'cmp-2'"), "2");
}

TEST(PgSchemaTest, NewerSchemaIsRefused) {
  attex::testing::TestStore place(Backend::kPostgres);
  ASSERT_TRUE(place.ok());
  ASSERT_TRUE(place.Open().ok());
  ASSERT_TRUE(place.Exec("UPDATE attex_schema SET version = 99").ok());
  auto store = place.Open();
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
}

TEST(PgSchemaTest, ReplicasOpeningANewDatabaseTogetherMigrateItOnce) {
  attex::testing::TestStore place(Backend::kPostgres);
  ASSERT_TRUE(place.ok());
  std::vector<absl::Status> opened(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { opened[i] = place.Open().status(); });
  }
  for (auto& t : threads) t.join();
  for (const absl::Status& s : opened) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(QueryOne(place.dsn(), "SELECT count(*) FROM attex_schema"), "1");
}

TEST(PgSchemaTest, UnreachableServerIsUnavailableAndBadDsnIsInvalid) {
  EXPECT_EQ(OpenPgStore("host=127.0.0.1 port=1 user=attex connect_timeout=2").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(OpenPgStore("no_such_option=1").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenPgStore("").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace attex::store
