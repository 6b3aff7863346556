// BidGatherer: concurrent bids share passes (within the window, up to a
// pass's slots), each decided as it would be alone; Stop decides what is
// queued.
#include "server/bid_gatherer.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "attention/model.h"
#include "auction/budget.h"
#include "gtest/gtest.h"

namespace attex::server {
namespace {

constexpr int64_t kNowMs = 1'790'000'000'000;

std::shared_ptr<const auction::Catalog> TestCatalog() {
  std::shared_ptr<const attention::Model> model = attention::Model::Default();
  std::vector<std::shared_ptr<const auction::CompiledCampaign>> compiled;
  for (int c = 0; c < 300; ++c) {
    attex::v1::Campaign campaign;
    campaign.set_id(absl::StrCat("c", c));
    campaign.set_advertiser_id(absl::StrCat("adv", c));
    campaign.set_status(attex::v1::CAMPAIGN_STATUS_ACTIVE);
    campaign.set_bid_cpm_micros(200'000 + 7'000 * (c % 50));
    campaign.mutable_budget()->set_total_micros(int64_t{1} << 40);
    for (int k = 0; k < 3; ++k) {
      auto* cr = campaign.add_creatives();
      cr->set_id(absl::StrCat("cr", k));
      cr->set_format(k == 2 ? "video" : "banner");
      cr->add_features(absl::StrCat("kw:w", (c + k) % 23));
    }
    compiled.push_back(
        auction::CompileCampaign(campaign, *model, std::make_shared<auction::BudgetState>()));
  }
  return auction::BuildCatalog(model, std::move(compiled));
}

attex::v1::BidRequest Request(int i, int slots) {
  attex::v1::BidRequest req;
  req.set_request_id(absl::StrCat("r", i));
  req.mutable_user()->add_features(absl::StrCat("kw:w", i % 23));
  for (int s = 0; s < slots; ++s) {
    auto* slot = req.add_slots();
    slot->set_id(absl::StrCat("s", s));
    slot->set_format(s % 2 ? "video" : "banner");
    slot->set_position(s);
  }
  return req;
}

struct Batch {
  std::vector<attex::v1::BidRequest> requests;
  std::vector<auction::AuctionResult> results;
  std::atomic<int> done{0};
  absl::Notification all_done;
  // Notified as `done` reaches them (SubmitAll).
  std::vector<std::unique_ptr<absl::Notification>> reached;
};

void SubmitAll(BidGatherer& gatherer, const std::shared_ptr<const auction::Catalog>& catalog,
               Batch& batch) {
  batch.results.resize(batch.requests.size());
  for (size_t i = 0; i <= batch.requests.size(); ++i) {
    batch.reached.push_back(std::make_unique<absl::Notification>());
  }
  for (size_t i = 0; i < batch.requests.size(); ++i) {
    auto job = std::make_unique<BidGatherer::Job>();
    job->catalog = catalog;
    job->request = &batch.requests[i];
    job->now_ms = kNowMs;
    job->deadline = absl::InfiniteFuture();
    job->done = [&batch, i](BidGatherer::Job& j) {
      batch.results[i] = j.result;
      const int done = ++batch.done;
      batch.reached[done]->Notify();
      if (done == static_cast<int>(batch.requests.size())) batch.all_done.Notify();
    };
    gatherer.Submit(std::move(job));
  }
}

void ExpectSameAsAlone(const auction::Catalog& catalog, const Batch& batch) {
  for (size_t i = 0; i < batch.requests.size(); ++i) {
    auction::AuctionResult alone;
    auction::RunAuction(catalog, auction::AuctionConfig{}, batch.requests[i], kNowMs,
                        absl::InfiniteFuture(), &alone, nullptr);
    ASSERT_FALSE(alone.slots.empty());
    ASSERT_EQ(batch.results[i].slots.size(), alone.slots.size()) << "request " << i;
    for (size_t k = 0; k < alone.slots.size(); ++k) {
      EXPECT_EQ(batch.results[i].slots[k].ad, alone.slots[k].ad);
      EXPECT_EQ(batch.results[i].slots[k].price_cpm_micros, alone.slots[k].price_cpm_micros);
      EXPECT_EQ(batch.results[i].slots[k].weight, alone.slots[k].weight);
    }
  }
}

TEST(BidGathererTest, BidsWithinTheWindowShareOnePass) {
  const auto catalog = TestCatalog();
  const auction::AuctionConfig config;
  BidGatherer gatherer({.window = absl::Milliseconds(200), .threads = 1}, &config);
  Batch batch;
  for (int i = 0; i < 4; ++i) batch.requests.push_back(Request(i, 1));
  SubmitAll(gatherer, catalog, batch);
  ASSERT_TRUE(batch.all_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(gatherer.passes(), 1);
  EXPECT_EQ(gatherer.requests(), 4);
  ExpectSameAsAlone(*catalog, batch);
}

TEST(BidGathererTest, AFullPassGoesAtOnceAndTheRestWaitsForTheNext) {
  const auto catalog = TestCatalog();
  const auction::AuctionConfig config;
  // A window far longer than the test: only full passes go before Stop.
  BidGatherer gatherer({.window = absl::Seconds(60), .threads = 1}, &config);
  Batch batch;
  for (int i = 0; i < 5; ++i) batch.requests.push_back(Request(i, 4));  // 20 slots.
  SubmitAll(gatherer, catalog, batch);
  // The full pass decides four: the window is open for a minute yet.
  ASSERT_TRUE(batch.reached[4]->WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(batch.done.load(), 4);  // 16 slots: one full pass.
  EXPECT_EQ(gatherer.passes(), 1);
  // Stop decides the fifth without waiting out the window: it returns
  // within a 10 s guard, well inside the minute.
  absl::Notification stopped;
  std::thread stopper([&] {
    gatherer.Stop();
    stopped.Notify();
  });
  EXPECT_TRUE(stopped.WaitForNotificationWithTimeout(absl::Seconds(10)));
  stopper.join();
  EXPECT_TRUE(batch.all_done.HasBeenNotified());
  EXPECT_EQ(gatherer.passes(), 2);
  ExpectSameAsAlone(*catalog, batch);
}

TEST(BidGathererTest, SnapshotsDoNotShareAPass) {
  const auto first = TestCatalog(), second = TestCatalog();
  const auction::AuctionConfig config;
  BidGatherer gatherer({.window = absl::Milliseconds(100), .threads = 2}, &config);
  Batch a, b;
  for (int i = 0; i < 3; ++i) a.requests.push_back(Request(i, 1));
  for (int i = 0; i < 3; ++i) b.requests.push_back(Request(i + 3, 1));
  SubmitAll(gatherer, first, a);
  SubmitAll(gatherer, second, b);
  ASSERT_TRUE(a.all_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(b.all_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(gatherer.passes(), 2);
  ExpectSameAsAlone(*first, a);
  ExpectSameAsAlone(*second, b);
}

}  // namespace
}  // namespace attex::server
