#include "server/training_log.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace attex::server {
namespace {

namespace fs = std::filesystem;

attex::v1::TrainingImpression Placement(uint64_t nonce) {
  attex::v1::TrainingImpression r;
  r.set_impression_id(nonce);
  r.add_features(std::string(200, 'f'));  // About 200 bytes a record.
  return r;
}

int64_t TotalBytes(const std::string& dir, int* files) {
  int64_t total = 0;
  *files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    total += static_cast<int64_t>(e.file_size());
    ++*files;
  }
  return total;
}

TEST(TrainingLogTest, RotatesBySizeAndKeepsTheTotalUnderTheBound) {
  testing::TempDir dir;
  TrainingLogOptions options{.dir = dir.path() + "/log", .file_bytes = 2000, .max_bytes = 6000};
  auto log = TrainingLog::Open(options, "key");
  ASSERT_TRUE(log.ok()) << log.status();
  for (uint64_t n = 1; n <= 200; ++n) {
    (*log)->Served(Placement(n), /*expires_ms=*/int64_t{1} << 50);
    (*log)->Impression(n, 1000 + n);
  }
  (*log)->Flush();
  int files = 0;
  const int64_t total = TotalBytes(options.dir, &files);
  EXPECT_LE(total, options.max_bytes + 300);  // Past the bound by at most one record.
  EXPECT_GE(files, 2);                        // Whole files of about file_bytes, the newest kept.
  EXPECT_EQ((*log)->counts().impressions, 200);
  EXPECT_GT((*log)->counts().files_removed, 0);
}

TEST(TrainingLogTest, ClicksJoinOnlyLoggedImpressionsOnce) {
  testing::TempDir dir;
  auto log = TrainingLog::Open({.dir = dir.path()}, "key");
  ASSERT_TRUE(log.ok());
  (*log)->Served(Placement(1), int64_t{1} << 50);
  (*log)->Served(Placement(2), int64_t{1} << 50);
  (*log)->Impression(1, 10);
  (*log)->Impression(1, 11);  // Billed once: a second is not logged.
  (*log)->Click(1, 12);
  (*log)->Click(1, 13);       // One click an impression.
  (*log)->Click(2, 14);       // Never billed.
  (*log)->Impression(3, 15);  // Never served.
  (*log)->Flush();
  EXPECT_EQ((*log)->counts().impressions, 1);
  EXPECT_EQ((*log)->counts().clicks, 1);
}

TEST(TrainingLogTest, DropsPlacementsPastThePendingBound) {
  testing::TempDir dir;
  auto log = TrainingLog::Open({.dir = dir.path(), .max_pending = 2}, "key");
  ASSERT_TRUE(log.ok());
  for (uint64_t n = 1; n <= 5; ++n) (*log)->Served(Placement(n), int64_t{1} << 50);
  for (uint64_t n = 1; n <= 5; ++n) (*log)->Impression(n, 10);
  (*log)->Flush();
  EXPECT_EQ((*log)->counts().impressions, 2);
  EXPECT_EQ((*log)->counts().dropped, 3);
}

TEST(TrainingLogTest, HashesUserIdsWithItsKeyAndRefusesBadSizes) {
  testing::TempDir dir;
  auto a = TrainingLog::Open({.dir = dir.path()}, "key-a");
  auto b = TrainingLog::Open({.dir = dir.path()}, "key-b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->UserHash(""), "");
  EXPECT_EQ((*a)->UserHash("u1").size(), 64u);
  EXPECT_NE((*a)->UserHash("u1"), (*b)->UserHash("u1"));
  EXPECT_EQ((*a)->UserHash("u1"), (*a)->UserHash("u1"));
  auto bad = TrainingLog::Open({.dir = dir.path(), .file_bytes = 100, .max_bytes = 10}, "k");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("training_log_max_bytes"), std::string::npos);
}

}  // namespace
}  // namespace attex::server
