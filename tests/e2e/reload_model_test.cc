// Operator.ReloadModel end to end: the model swapped under concurrent Bid
// load with no failed Bid, the new version named by GetStats and Explain,
// a campaign created meanwhile kept, and bad files refused with the old
// model still serving.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "attention/model.h"
#include "attex/v1/campaign.grpc.pb.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "attex/v1/operator.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {
namespace {

using namespace attex::v1;

BidRequest Request(int n) {
  BidRequest r;
  r.set_request_id("req-" + std::to_string(n));
  r.mutable_user()->set_id("user-" + std::to_string(n % 97));
  r.mutable_user()->add_features(n % 2 ? "interest:running" : "interest:coffee");
  r.mutable_context()->set_country("US");
  auto* s = r.add_slots();
  s->set_id("s1");
  s->set_format("banner");
  return r;
}

class ReloadModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A Bid queue of a second: on a busy test machine a shed Bid would not
    // be the reload's.
    server_ = std::make_unique<ServerProcess>(
        dir_.path() + "/data", std::vector<std::string>{"--demo", "--bid_queue_ms=1000"});
    ASSERT_TRUE(server_->Start());
    tokens_ = ReadFlatJson(dir_.path() + "/data/demo-tokens.json");
    op_ = Operator::NewStub(server_->channel());
    exchange_ = Exchange::NewStub(server_->channel());
  }
  std::string Version() {
    Stats stats;
    EXPECT_TRUE(op_->GetStats(Context(tokens_["operator"]).get(), {}, &stats).ok());
    return stats.model_version();
  }
  grpc::Status Reload(const std::string& path, ReloadModelResponse* out) {
    ReloadModelRequest r;
    r.set_path(path);
    return op_->ReloadModel(Context(tokens_["operator"]).get(), r, out);
  }
  std::string SaveModel(const std::string& name, attention::ModelConfig config) {
    const std::string path = dir_.path() + "/" + name;
    EXPECT_TRUE(attention::Model::Default(config)->Save(path).ok());
    return path;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::map<std::string, std::string> tokens_;
  std::unique_ptr<Operator::Stub> op_;
  std::unique_ptr<Exchange::Stub> exchange_;
};

TEST_F(ReloadModelTest, SwapsUnderBidLoadWithoutAFailedBid) {
  attention::ModelConfig config;
  config.seed = 42;
  const std::string path = SaveModel("seed42.bin", config);
  const std::string old_version = Version();
  const std::string new_version = attention::Model::Default(config)->version();
  ASSERT_NE(old_version, new_version);

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0}, placed{0};
  absl::Mutex mu;
  std::string first_error;
  std::vector<std::thread> bidders;
  for (int t = 0; t < 4; ++t) {
    bidders.emplace_back([&, t] {
      for (int n = t; !stop.load(); n += 4) {
        BidResponse out;
        const grpc::Status s = exchange_->Bid(Context(tokens_["platform"]).get(), Request(n), &out);
        (s.ok() ? ok : failed)++;
        if (!s.ok()) {
          absl::MutexLock lock(&mu);
          if (first_error.empty()) first_error = s.error_message();
        }
        placed += out.placements_size();
      }
    });
  }
  while (ok.load() < 200) std::this_thread::yield();
  // A campaign created while the model changes is served by the new model.
  auto campaigns = Campaigns::NewStub(server_->channel());
  GetCampaignRequest get;
  get.set_id("cmp-1");
  Campaign copy;
  ASSERT_TRUE(campaigns->GetCampaign(Context(tokens_["advertiser"]).get(), get, &copy).ok());
  copy.clear_id();
  copy.set_name("created during the reload");
  ReloadModelResponse reloaded;
  grpc::Status reload_status;
  std::thread reloader([&] { reload_status = Reload(path, &reloaded); });
  Campaign created;
  const grpc::Status create_status =
      campaigns->CreateCampaign(Context(tokens_["advertiser"]).get(), copy, &created);
  reloader.join();
  const int before_stop = ok.load();
  while (ok.load() < before_stop + 200) std::this_thread::yield();
  stop = true;
  for (auto& b : bidders) b.join();

  ASSERT_TRUE(reload_status.ok()) << reload_status.error_message();
  ASSERT_TRUE(create_status.ok()) << create_status.error_message();
  EXPECT_EQ(failed.load(), 0) << first_error;
  EXPECT_GT(placed.load(), 0);
  EXPECT_EQ(reloaded.model_version(), new_version);
  EXPECT_GE(reloaded.ads_embedded(), 6);
  EXPECT_GE(reloaded.swap_seconds(), 0);
  EXPECT_EQ(Version(), new_version);
  Explanation explained;
  ASSERT_TRUE(exchange_->Explain(Context(tokens_["platform"]).get(), Request(1), &explained).ok());
  EXPECT_EQ(explained.model_version(), new_version);
  Stats stats;
  ASSERT_TRUE(op_->GetStats(Context(tokens_["operator"]).get(), {}, &stats).ok());
  EXPECT_EQ(stats.active_ads(), 6 + copy.creatives_size());  // The demo's and the new one's.
}

TEST_F(ReloadModelTest, RefusesABadFileAndKeepsTheOldModel) {
  const std::string old_version = Version();
  ReloadModelResponse out;
  grpc::Status s = Reload(dir_.path() + "/missing.bin", &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();

  const std::string corrupt = SaveModel("corrupt.bin", {});
  {
    std::FILE* f = std::fopen(corrupt.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 200, SEEK_SET);
    std::fputc(0x7f, f);
    std::fclose(f);
  }
  s = Reload(corrupt, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("path: "), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("checksum"), std::string::npos) << s.error_message();

  attention::ModelConfig narrow;
  narrow.d_model = 32;
  s = Reload(SaveModel("narrow.bin", narrow), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("d_model is 32"), std::string::npos) << s.error_message();

  EXPECT_EQ(Version(), old_version);
  BidResponse bid;
  EXPECT_TRUE(exchange_->Bid(Context(tokens_["platform"]).get(), Request(0), &bid).ok());
  // The default model again (an empty path) succeeds after the refusals.
  EXPECT_TRUE(Reload("", &out).ok());
  EXPECT_EQ(out.model_version(), old_version);
}

}  // namespace
}  // namespace attex::testing
