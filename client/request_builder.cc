#include "client/request_builder.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"

namespace attex::client {

absl::StatusOr<attex::v1::Slot> ParseSlot(std::string_view spec_view) {
  // Debian's abseil has its own string_view.
  const absl::string_view spec(spec_view.data(), spec_view.size());
  std::vector<absl::string_view> parts = absl::StrSplit(spec, ':');
  if (parts.size() < 2 || parts.size() > 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--slot '", spec, "': expected id:format[:position[:floor_cpm_micros[:WxH,...]]]"));
  }
  attex::v1::Slot slot;
  if (parts[0].empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--slot '", spec, "': empty id"));
  }
  if (parts[1].empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--slot '", spec, "': empty format"));
  }
  slot.set_id(std::string(parts[0]));
  slot.set_format(std::string(parts[1]));
  if (parts.size() > 2) {
    int32_t position;
    if (!absl::SimpleAtoi(parts[2], &position)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--slot '", spec, "': position '", parts[2], "' is not an integer"));
    }
    slot.set_position(position);
  }
  if (parts.size() > 3) {
    int64_t floor;
    if (!absl::SimpleAtoi(parts[3], &floor)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--slot '", spec, "': floor '", parts[3], "' is not an integer"));
    }
    slot.set_floor_cpm_micros(floor);
  }
  if (parts.size() > 4) {
    for (absl::string_view size : absl::StrSplit(parts[4], ',', absl::SkipEmpty())) {
      std::vector<absl::string_view> wh = absl::StrSplit(size, absl::ByAnyChar("xX"));
      int32_t w = 0, h = 0;
      if (wh.size() != 2 || !absl::SimpleAtoi(wh[0], &w) || !absl::SimpleAtoi(wh[1], &h)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--slot '", spec, "': size '", size, "' is not WxH, e.g. 300x250"));
      }
      auto* s = slot.add_sizes();
      s->set_w(w);
      s->set_h(h);
    }
  }
  return slot;
}

absl::Status ReadJsonFile(const std::string& path, google::protobuf::Message* message) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError("cannot read file");
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(buffer.str(), message, options);
  if (!status.ok()) {
    // The parser's message is "what\nthe text near it\n^"; keep one line.
    std::vector<std::string> lines =
        absl::StrSplit(std::string(status.message()), '\n', absl::SkipWhitespace());
    std::string message = lines.empty() ? "not valid JSON" : lines[0];
    if (lines.size() > 1) absl::StrAppend(&message, " near \"", lines[1], "\"");
    return absl::InvalidArgumentError(message);
  }
  return absl::OkStatus();
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = false;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return absl::StrCat("{\"error\": \"", std::string(status.message()), "\"}\n");
  return out;
}

absl::StatusOr<attex::v1::BidRequest> BuildBidRequest(const BidFlags& flags) {
  attex::v1::BidRequest request;
  if (!flags.request_file.empty()) {
    absl::Status status = ReadJsonFile(flags.request_file, &request);
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat(flags.request_file, ": ", status.message()));
    }
  }
  if (flags.request_id) request.set_request_id(*flags.request_id);
  if (flags.user_id) request.mutable_user()->set_id(*flags.user_id);
  for (const auto& f : flags.features) request.mutable_user()->add_features(f);
  for (const auto& f : flags.recent) request.mutable_user()->add_recent(f);
  for (const auto& f : flags.context_features) {
    request.mutable_context()->add_features(f);
  }
  if (flags.country) request.mutable_context()->set_country(*flags.country);
  if (flags.device_type) {
    request.mutable_context()->set_device_type(*flags.device_type);
  }
  for (const auto& spec : flags.slots) {
    absl::StatusOr<attex::v1::Slot> slot = ParseSlot(spec);
    if (!slot.ok()) return slot.status();
    *request.add_slots() = *std::move(slot);
  }
  if (request.slots_size() == 0) {
    attex::v1::Slot* slot = request.add_slots();
    slot->set_id("s1");
    slot->set_format("banner");
  }
  if (flags.tmax_ms) request.set_tmax_ms(*flags.tmax_ms);
  if (flags.auction) {
    if (*flags.auction == "first") {
      request.set_auction_type(attex::v1::AUCTION_TYPE_FIRST_PRICE);
    } else if (*flags.auction == "second") {
      request.set_auction_type(attex::v1::AUCTION_TYPE_SECOND_PRICE);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--auction '", *flags.auction, "': expected first or second"));
    }
  }
  for (const auto& c : flags.blocked_categories) request.add_blocked_categories(c);
  for (const auto& a : flags.blocked_advertisers) request.add_blocked_advertisers(a);
  for (const auto& d : flags.blocked_domains) request.add_blocked_domains(d);
  if (flags.test) request.set_test(true);
  attex::v1::Consent* consent = nullptr;
  auto mutable_consent = [&] {
    if (consent == nullptr) consent = request.mutable_user()->mutable_consent();
    return consent;
  };
  if (flags.gdpr_applies) mutable_consent()->set_gdpr_applies(true);
  if (flags.tcf_consent) mutable_consent()->set_tcf_consent(*flags.tcf_consent);
  if (flags.coppa) mutable_consent()->set_coppa(true);
  if (flags.limit_ad_tracking) mutable_consent()->set_limit_ad_tracking(true);
  if (request.request_id().empty()) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    request.set_request_id(absl::StrCat("cli-", now.count()));
  }
  return request;
}

}  // namespace attex::client
