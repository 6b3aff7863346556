// libFuzzer: a bid request from the network (protobuf bytes) through
// validation and, when valid, the whole auction with an explanation, over a
// small catalogue of the default model. Nothing may crash, leak or trip a
// sanitizer.
#include <cstddef>
#include <cstdint>

#include "api/validation.h"
#include "auction/auction.h"
#include "auction/budget.h"
#include "google/protobuf/stubs/logging.h"

namespace {

using attex::v1::Campaign;

Campaign MakeCampaign(const std::string& id, int64_t bid, const std::string& format,
                      std::vector<std::string> features) {
  Campaign c;
  c.set_id(id);
  c.set_advertiser_id("acc-" + id);
  c.set_name(id);
  c.set_status(attex::v1::CAMPAIGN_STATUS_ACTIVE);
  c.set_bid_cpm_micros(bid);
  c.mutable_budget()->set_total_micros(1'000'000'000);
  c.mutable_targeting()->add_exclude_features("kw:excluded");
  auto* cr = c.add_creatives();
  cr->set_id("cr-1");
  cr->set_format(format);
  cr->set_category("cat-" + id);
  for (auto& f : features) cr->add_features(f);
  return c;
}

const attex::auction::Catalog& TheCatalog() {
  static const auto* catalog = [] {
    std::shared_ptr<const attex::attention::Model> model = attex::attention::Model::Default();
    std::vector<std::shared_ptr<const attex::auction::CompiledCampaign>> compiled;
    for (const Campaign& c :
         {MakeCampaign("cmp-1", 2'500'000, "banner", {"interest:running", "kw:marathon"}),
          MakeCampaign("cmp-2", 1'800'000, "banner", {"interest:coffee"}),
          MakeCampaign("cmp-3", 3'000'000, "native", {"interest:travel"}),
          MakeCampaign("cmp-4", 900'000, "video", {"interest:running"})}) {
      compiled.push_back(attex::auction::CompileCampaign(
          c, *model, std::make_shared<attex::auction::BudgetState>()));
    }
    return new std::shared_ptr<const attex::auction::Catalog>(
        attex::auction::BuildCatalog(model, compiled));
  }();
  return **catalog;
}

}  // namespace

// Invalid UTF-8 is answered with an error; protobuf's log line about it is noise.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(
      +[](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& catalog = TheCatalog();
  attex::v1::BidRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (!attex::api::ValidateBidRequest(request, catalog.model->d_model()).ok()) return 0;
  attex::auction::AuctionConfig config;
  attex::auction::AuctionResult result;
  attex::v1::Explanation explanation;
  attex::auction::RunAuction(catalog, config, request, 1'790'000'000'000, absl::InfiniteFuture(),
                             &result, &explanation);
  for (const auto& slot : result.slots) {
    if (slot.ad < 0 || slot.price_cpm_micros < 0) __builtin_trap();
  }
  return 0;
}
