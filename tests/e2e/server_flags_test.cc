// attex-server's catalogue flags through the real binary: --key_storage
// (narrow keys still answer bids), --ann_min_ads and --ann_candidates (the
// index is built in the background and then chooses the candidates), and
// bad values refused at startup naming the flag (and, for --currency_rates,
// the file's line).
#include <fstream>
#include <string>

#include "attex/v1/exchange.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/poll.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {
namespace {

using namespace attex::v1;

// Runs the server with `flags` to its exit and returns its exit code;
// `output` gets stdout and stderr. For flags that must stop it before it
// serves.
int RunToExit(const std::string& data_dir, const std::string& flag, std::string* output) {
  return ServerProcess(data_dir, {flag}).RunToExit(output);
}

BidRequest DemoRequest() {
  BidRequest r;
  r.set_request_id("flags-1");
  r.set_test(true);
  r.mutable_user()->set_id("u-1");
  r.mutable_user()->add_features("interest:running");
  r.mutable_user()->add_features("kw:marathon");
  r.mutable_context()->set_country("US");
  r.mutable_context()->set_device_type("mobile");
  const char* formats[] = {"banner", "native"};
  for (int s = 0; s < 2; ++s) {
    auto* slot = r.add_slots();
    slot->set_id(formats[s]);
    slot->set_format(formats[s]);
    slot->set_position(s);
  }
  return r;
}

TEST(ServerFlagsTest, HelpListsTheServersOwnFlags) {
  TempDir dir;
  std::string output;
  RunToExit(dir.path(), "--help", &output);  // Abseil exits 1 after --help.
  EXPECT_NE(output.find("--listen"), std::string::npos) << output;
  EXPECT_NE(output.find("--grace_period_s"), std::string::npos) << output;
  EXPECT_EQ(output.find("No flags matched"), std::string::npos) << output;
}

TEST(ServerFlagsTest, ABadCurrencyRatesFileIsRefusedNamingItsLine) {
  TempDir dir;
  const std::string rates = dir.path() + "/rates.txt";
  std::ofstream(rates) << "# rates\nEUR 1.0842\nJPY 0,0066\n";
  std::string output;
  EXPECT_EQ(RunToExit(dir.path() + "/data", "--currency_rates=" + rates, &output), 2);
  EXPECT_NE(output.find("--currency_rates: " + rates +
                        ":3: the rate of JPY, \"0,0066\", is not a decimal number"),
            std::string::npos)
      << output;
  output.clear();
  EXPECT_EQ(RunToExit(dir.path() + "/data", "--currency_rates=" + dir.path() + "/none", &output),
            2);
  EXPECT_NE(output.find("--currency_rates: cannot open"), std::string::npos) << output;
}

TEST(ServerFlagsTest, BadKeyStorageIsRefusedNamingTheFlag) {
  TempDir dir;
  std::string output;
  EXPECT_EQ(RunToExit(dir.path(), "--key_storage=fp8", &output), 2);
  EXPECT_NE(output.find("--key_storage"), std::string::npos) << output;
  EXPECT_NE(output.find("fp8"), std::string::npos) << output;
}

TEST(ServerFlagsTest, BadAnnFlagsAreRefusedNamingTheFlag) {
  TempDir dir;
  std::string output;
  EXPECT_EQ(RunToExit(dir.path(), "--ann_candidates=0", &output), 2);
  EXPECT_NE(output.find("--ann_candidates"), std::string::npos) << output;
  output.clear();
  EXPECT_EQ(RunToExit(dir.path(), "--ann_min_ads=-1", &output), 2);
  EXPECT_NE(output.find("--ann_min_ads"), std::string::npos) << output;
}

TEST(ServerFlagsTest, BadDrainFlagsAreRefusedNamingTheFlag) {
  TempDir dir;
  std::string output;
  EXPECT_EQ(RunToExit(dir.path(), "--drain_delay_s=-1", &output), 2);
  EXPECT_NE(output.find("--drain_delay_s"), std::string::npos) << output;
  output.clear();
  EXPECT_NE(RunToExit(dir.path(), "--health_agent_listen=localhost", &output), 0);
  EXPECT_NE(output.find("--health_agent_listen"), std::string::npos) << output;
}

TEST(ServerFlagsTest, Int8KeyStorageAnswersABid) {
  TempDir dir;
  ServerProcess server(dir.path(), {"--demo", "--key_storage=int8", "--metrics_listen="});
  ASSERT_TRUE(server.Start());
  const auto tokens = ReadFlatJson(dir.path() + "/demo-tokens.json");
  auto exchange = Exchange::NewStub(server.channel());
  BidResponse response;
  grpc::Status s = exchange->Bid(Context(tokens.at("platform")).get(), DemoRequest(), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.placements_size(), 2);
  // The running shoes share both of the user's tokens.
  EXPECT_EQ(response.placements(0).slot_id(), "banner");
  EXPECT_GT(response.placements(0).attention_weight(), 0.0);
}

TEST(ServerFlagsTest, AnIndexBuiltInTheBackgroundThenChoosesTheCandidates) {
  TempDir dir;
  // The demo's 6 ads reach the threshold; 2 candidates a slot are fewer
  // than the eligible ads, so once the index is ready it is used.
  ServerProcess server(dir.path(),
                       {"--demo", "--ann_min_ads=6", "--ann_candidates=2", "--metrics_listen="});
  ASSERT_TRUE(server.Start());
  const auto tokens = ReadFlatJson(dir.path() + "/demo-tokens.json");
  auto exchange = Exchange::NewStub(server.channel());
  // Explain reports whether candidates came from the index: polled, as the
  // server signals nothing when the index is ready.
  Explanation explanation;
  grpc::Status explained;
  PollUntil([&] {
    explanation.Clear();
    explained =
        exchange->Explain(Context(tokens.at("platform")).get(), DemoRequest(), &explanation);
    return !explained.ok() || explanation.ann_candidates() > 0;
  });
  ASSERT_TRUE(explained.ok()) << explained.error_message();
  // Retrieved, distinct, among the demo's 6 ads.
  EXPECT_GE(explanation.ann_candidates(), 1);
  EXPECT_LE(explanation.ann_candidates(), 6);
  for (const auto& slot : explanation.slots()) {
    EXPECT_LE(slot.eligible(), explanation.ann_candidates());
  }
  BidResponse response;
  grpc::Status s = exchange->Bid(Context(tokens.at("platform")).get(), DemoRequest(), &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

}  // namespace
}  // namespace attex::testing
