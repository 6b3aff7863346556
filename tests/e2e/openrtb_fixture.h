// What the OpenRTB end-to-end tests share: the real attex-server with the
// demo data and --openrtb_listen on a free port, its tokens and stubs, and
// posting an OpenRTB request with curl as a platform would.
#ifndef ATTEX_TESTS_E2E_OPENRTB_FIXTURE_H_
#define ATTEX_TESTS_E2E_OPENRTB_FIXTURE_H_

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "attex/v1/campaign.grpc.pb.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "attex/v1/operator.grpc.pb.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/testing/curl.h"
#include "tests/testing/server_process.h"
#include "tests/testing/temp_dir.h"

namespace attex::testing {

// A request for a runner on a phone in the US: the demo's running-shoe
// campaign draws the most attention for the banner.
constexpr char kRunnerRequest[] = R"({
  "id": "ortb-e2e-1", "at": 2, "tmax": 500, "cur": ["USD"],
  "imp": [{"id": "top", "banner": {"w": 300, "h": 250, "pos": 1}, "bidfloor": 0.2},
          {"id": "feed", "native": {"request": "{}"}}],
  "site": {"domain": "news.example", "keywords": "marathon"},
  "device": {"devicetype": 4, "geo": {"country": "USA"}},
  "user": {"id": "u-1001", "keywords": "running"},
  "ext": {"ignored": true}
})";

class OpenRtbEndToEndTest : public ::testing::Test {
 protected:
  virtual std::vector<std::string> Flags() const { return {}; }

  void SetUp() override {
    std::vector<std::string> flags = {"--demo", "--openrtb_listen=127.0.0.1:0",
                                      "--openrtb_port_file=" + dir_.path() + "/openrtb-port"};
    for (const auto& f : Flags()) flags.push_back(f);
    server_ = std::make_unique<ServerProcess>(dir_.path() + "/data", flags);
    ASSERT_TRUE(server_->Start());
    std::ifstream port_file(dir_.path() + "/openrtb-port");
    ASSERT_TRUE(port_file >> openrtb_port_);
    auto tokens = ReadFlatJson(dir_.path() + "/data/demo-tokens.json");
    platform_token_ = tokens["platform"];
    advertiser_token_ = tokens["advertiser"];
    operator_token_ = tokens["operator"];
    ASSERT_FALSE(platform_token_.empty());
    exchange_ = attex::v1::Exchange::NewStub(server_->channel());
    campaigns_ = attex::v1::Campaigns::NewStub(server_->channel());
    operator_ = attex::v1::Operator::NewStub(server_->channel());
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(openrtb_port_) + path;
  }

  std::string WriteBody(const std::string& name, const std::string& body) const {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << body;
    return path;
  }

  CurlResult Post(const std::string& body, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"-H",
                                     "Authorization: Bearer " + platform_token_,
                                     "-H",
                                     "Content-Type: application/json",
                                     "-H",
                                     "x-openrtb-version: 2.6",
                                     "--data-binary",
                                     "@" + WriteBody("body-" + std::to_string(++posts_), body)};
    for (auto& e : extra) args.push_back(std::move(e));
    return Curl(args, Url("/openrtb2/bid"));
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  int openrtb_port_ = 0;
  int posts_ = 0;
  std::string platform_token_, advertiser_token_, operator_token_;
  std::unique_ptr<attex::v1::Exchange::Stub> exchange_;
  std::unique_ptr<attex::v1::Campaigns::Stub> campaigns_;
  std::unique_ptr<attex::v1::Operator::Stub> operator_;
};

// The first bid of an OpenRTB answer: its campaign, price (exactly, as
// written), burl and lurl.
struct FirstBid {
  std::string cid, price, burl, lurl;
};

inline FirstBid First(const std::string& body) {
  FirstBid bid;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) return bid;
  simdjson::dom::element b;
  if (doc.at_pointer("/seatbid/0/bid/0").get(b) != simdjson::SUCCESS) return bid;
  bid.cid = std::string(std::string_view(b["cid"]));
  bid.burl = std::string(std::string_view(b["burl"]));
  bid.lurl = std::string(std::string_view(b["lurl"]));
  const size_t at = body.find("\"price\":");
  bid.price = body.substr(at + 8, body.find(',', at) - at - 8);
  return bid;
}

// The price as written, exactly, in micros ("2.436191" -> 2436191).
inline int64_t Micros(std::string_view price) {
  const size_t dot = price.find('.');
  int64_t units = 0, frac = 0;
  EXPECT_TRUE(absl::SimpleAtoi(
      absl::string_view(price.data(), dot == std::string_view::npos ? price.size() : dot), &units));
  if (dot != std::string_view::npos) {
    std::string digits(price.substr(dot + 1));
    digits.resize(6, '0');
    EXPECT_TRUE(absl::SimpleAtoi(digits, &frac));
  }
  return units * 1'000'000 + frac;
}

}  // namespace attex::testing

#endif  // ATTEX_TESTS_E2E_OPENRTB_FIXTURE_H_
