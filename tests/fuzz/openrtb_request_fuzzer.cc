// libFuzzer: an OpenRTB 2.6 request body from the network (JSON, or gzip of
// it) through the mapping (server/openrtb/openrtb_mapping.h, with rates for
// two currencies besides the account's, and the GPP string reader) and,
// when it maps and validates, an answer written for one placement per slot
// (with a creative's size, categories and advertiser domains, and every
// notice URL), which must parse back as JSON naming every slot. Nothing may
// crash, leak or trip a sanitizer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "api/validation.h"
#include "server/openrtb/gzip.h"
#include "server/openrtb/openrtb_mapping.h"
#include "simdjson.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::string inflated;
  // Bodies with Content-Encoding gzip take this path first.
  if (attex::openrtb::Gunzip(input, 1 << 20, &inflated).ok() && inflated.size() > (1 << 20)) {
    std::abort();  // The bound was not kept.
  }
  static const attex::openrtb::MappingOptions* const mapping = [] {
    auto* options = new attex::openrtb::MappingOptions;
    options->rates = *attex::openrtb::CurrencyRates::Parse("EUR 1.0842\nJPY 0.0066\n", "t", "USD");
    return options;
  }();
  attex::openrtb::Request request;
  if (!attex::openrtb::ParseBidRequest(input, *mapping, &request).ok()) return 0;
  if (request.imps.size() != static_cast<size_t>(request.bid.slots_size())) std::abort();
  if (!attex::api::ValidateBidRequest(request.bid, 64).ok()) return 0;
  attex::v1::BidResponse response;
  for (const auto& slot : request.bid.slots()) {
    auto* p = response.add_placements();
    p->set_slot_id(slot.id());
    p->set_advertiser_id(slot.id().size() % 2 == 0 ? "acc-1" : "acc-2");
    p->set_campaign_id("cmp-1");
    p->set_creative_id(slot.id());
    p->set_price_cpm_micros(slot.floor_cpm_micros());
    p->set_markup(request.bid.request_id());
    p->set_billing_token("v1.x.y");
  }
  attex::openrtb::ResponseOptions options;
  options.billing_url = "http://h/openrtb2/billing";
  options.loss_url = "http://h/openrtb2/loss";
  options.win_url = "http://h/openrtb2/win";
  const std::vector<std::string> more = {"IAB1", request.bid.request_id()};
  const std::vector<std::string> adomain = {request.bid.request_id()};
  std::vector<attex::openrtb::BidDetails> details(
      static_cast<size_t>(response.placements_size()),
      attex::openrtb::BidDetails{"IAB1", more, adomain, 300, 250});
  std::string out;
  attex::openrtb::WriteBidResponse(request, response, details, options, &out);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(out).get(doc) != simdjson::SUCCESS) std::abort();  // Invalid JSON written.
  size_t bids = 0;
  simdjson::dom::array seats;
  if (doc["seatbid"].get(seats) != simdjson::SUCCESS) std::abort();
  for (simdjson::dom::element seat : seats) {
    simdjson::dom::array list;
    if (seat["bid"].get(list) != simdjson::SUCCESS) std::abort();
    bids += list.size();
  }
  if (bids != static_cast<size_t>(response.placements_size())) std::abort();
  return 0;
}
