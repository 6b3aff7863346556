// --training_log end to end: bids, impressions and a click through the real
// server, then the log read back: one record per billed impression of the
// consented request, its click joined by id, the user id only hashed, and
// nothing for coppa, limit-ad-tracking or GDPR-without-consent requests.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "attex/v1/exchange.grpc.pb.h"
#include "attex/v1/training.pb.h"
#include "google/protobuf/io/zero_copy_stream_impl.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {
namespace {

using namespace attex::v1;
namespace fs = std::filesystem;

BidRequest Request(const std::string& user, const std::string& interest) {
  BidRequest r;
  r.set_request_id("req-" + user);
  r.mutable_user()->set_id(user);
  r.mutable_user()->add_features(interest);
  r.mutable_user()->add_recent("kw:marathon");
  r.mutable_context()->add_features("site:news");
  r.mutable_context()->set_country("US");
  auto* s1 = r.add_slots();
  s1->set_id("s1");
  s1->set_format("banner");
  s1->set_position(0);
  auto* s2 = r.add_slots();
  s2->set_id("s2");
  s2->set_format("native");
  s2->set_position(1);
  return r;
}

std::vector<TrainingRecord> ReadLog(const std::string& dir, std::string* raw) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::vector<TrainingRecord> out;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    *raw += bytes.str();
    std::istringstream stream(bytes.str());
    google::protobuf::io::IstreamInputStream zin(&stream);
    bool clean_eof = false;
    for (;;) {
      TrainingRecord record;  // Parsing merges: a fresh one each time.
      if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&record, &zin, &clean_eof)) {
        break;
      }
      out.push_back(std::move(record));
    }
    EXPECT_TRUE(clean_eof) << path << " ends in a partial record";
  }
  return out;
}

TEST(TrainingLogTest, LogsConsentedImpressionsAndJoinsTheirClicksOnly) {
  TempDir dir;
  const std::string log_dir = dir.path() + "/training";
  ServerProcess server(dir.path() + "/data", {"--demo", "--training_log=" + log_dir});
  ASSERT_TRUE(server.Start());
  const std::string token = ReadFlatJson(dir.path() + "/data/demo-tokens.json")["platform"];
  auto exchange = Exchange::NewStub(server.channel());
  auto bid = [&](const BidRequest& r) {
    BidResponse out;
    const grpc::Status s = exchange->Bid(Context(token).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  };
  int event_id = 0;
  auto report = [&](const std::string& billing_token, EventType type) {
    ReportEventsRequest req;
    auto* e = req.add_events();
    e->set_billing_token(billing_token);
    e->set_type(type);
    e->set_event_id("ev-" + std::to_string(++event_id));
    ReportEventsResponse out;
    ASSERT_TRUE(exchange->ReportEvents(Context(token).get(), req, &out).ok());
    ASSERT_EQ(out.results(0).result(), EVENT_RESULT_ACCEPTED);
  };

  const BidResponse consented = bid(Request("alice-0001", "interest:running"));
  ASSERT_EQ(consented.placements_size(), 2);
  BidRequest coppa = Request("kid-0002", "interest:restricted-only");
  coppa.mutable_user()->mutable_consent()->set_coppa(true);
  BidRequest lat = Request("lat-0003", "interest:restricted-only");
  lat.mutable_user()->mutable_consent()->set_limit_ad_tracking(true);
  BidRequest gdpr = Request("eu-0004", "interest:restricted-only");
  gdpr.mutable_user()->mutable_consent()->set_gdpr_applies(true);
  for (const BidRequest& r : {coppa, lat, gdpr}) {
    const BidResponse restricted = bid(r);
    ASSERT_GT(restricted.placements_size(), 0);
    for (const auto& p : restricted.placements()) report(p.billing_token(), EVENT_TYPE_IMPRESSION);
  }
  for (const auto& p : consented.placements()) report(p.billing_token(), EVENT_TYPE_IMPRESSION);
  report(consented.placements(0).billing_token(), EVENT_TYPE_CLICK);
  // A placement never billed is not logged, nor a click on it.
  const BidResponse unbilled = bid(Request("alice-0001", "interest:unbilled-only"));
  ASSERT_GT(unbilled.placements_size(), 0);
  report(unbilled.placements(0).billing_token(), EVENT_TYPE_CLICK);
  ASSERT_EQ(server.Stop(), 0);  // Drains the log.

  std::string raw;
  const auto records = ReadLog(log_dir, &raw);
  EXPECT_EQ(raw.find("alice-0001"), std::string::npos) << "the user id in plain text";
  EXPECT_EQ(raw.find("interest:restricted-only"), std::string::npos)
      << "a restricted request was logged";
  EXPECT_EQ(raw.find("interest:unbilled-only"), std::string::npos)
      << "an unbilled placement was logged";
  std::vector<TrainingImpression> impressions;
  std::vector<TrainingClick> clicks;
  for (const auto& r : records) {
    if (r.has_impression()) impressions.push_back(r.impression());
    if (r.has_click()) clicks.push_back(r.click());
  }
  ASSERT_EQ(impressions.size(), 2u);
  ASSERT_EQ(clicks.size(), 1u);
  std::set<std::string> formats;
  for (const auto& im : impressions) {
    EXPECT_EQ(im.user_hash().size(), 64u);
    EXPECT_EQ(im.user_hash(), impressions[0].user_hash());
    EXPECT_EQ(std::vector<std::string>(im.features().begin(), im.features().end()),
              (std::vector<std::string>{"interest:running", "site:news"}));
    EXPECT_EQ(im.recent_size(), 1);
    EXPECT_GE(im.at_ms(), im.served_ms());
    EXPECT_GT(im.served_ms(), 0);
    EXPECT_EQ(im.slot_position(), im.slot_format() == "banner" ? 0 : 1);
    formats.insert(im.slot_format());
    EXPECT_FALSE(im.campaign_id().empty());
    EXPECT_GT(im.bid_cpm_micros(), 0);
    EXPECT_GT(im.attention_weight(), 0.0f);
    EXPECT_TRUE(im.model_version().starts_with("default-d64-h4-"));
    ASSERT_FALSE(im.ad_tokens().empty());
    EXPECT_TRUE(im.ad_tokens(im.ad_tokens_size() - 1).starts_with("advertiser:"));
  }
  EXPECT_EQ(formats, (std::set<std::string>{"banner", "native"}));
  const auto& first = impressions[0].slot_format() == "banner" ? impressions[0] : impressions[1];
  EXPECT_EQ(clicks[0].impression_id(), first.impression_id());
  EXPECT_NE(impressions[0].impression_id(), impressions[1].impression_id());
  EXPECT_GE(clicks[0].at_ms(), first.at_ms());
}

}  // namespace
}  // namespace attex::testing
