// Turns command-line flags and JSON files into wire messages.
#ifndef ATTEX_CLIENT_REQUEST_BUILDER_H_
#define ATTEX_CLIENT_REQUEST_BUILDER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "attex/v1/exchange.pb.h"
#include "google/protobuf/message.h"

namespace attex::client {

// The request flags of `attex bid` and `attex explain`. Unset optionals and
// empty lists leave the request (from --request or defaults) as it is;
// lists are appended.
struct BidFlags {
  std::string request_file;  // A BidRequest in protobuf JSON; empty: none.
  std::optional<std::string> request_id;
  std::optional<std::string> user_id;
  std::vector<std::string> features;          // user.features
  std::vector<std::string> recent;            // user.recent
  std::vector<std::string> context_features;  // context.features
  std::optional<std::string> country;
  std::optional<std::string> device_type;
  std::vector<std::string> slots;  // "id:format[:position[:floor_cpm_micros[:WxH,...]]]"
  std::optional<int> tmax_ms;
  std::optional<std::string> auction;  // "first" or "second"
  std::vector<std::string> blocked_categories;
  std::vector<std::string> blocked_advertisers;
  std::vector<std::string> blocked_domains;
  bool test = false;
  bool gdpr_applies = false;
  std::optional<std::string> tcf_consent;
  bool coppa = false;
  bool limit_ad_tracking = false;
};

// Parses "id:format[:position[:floor_cpm_micros[:WxH,...]]]" (the last
// part: the sizes the slot accepts, e.g. 300x250,320x50). INVALID_ARGUMENT
// names the part that is wrong.
absl::StatusOr<attex::v1::Slot> ParseSlot(std::string_view spec);

// The request the flags describe. When the result has no slots it gets one,
// "s1:banner:0"; without a request id it gets "cli-<unix ms>". Errors
// (unreadable file, bad JSON, bad slot) are INVALID_ARGUMENT or NOT_FOUND
// with a message fit for a user.
absl::StatusOr<attex::v1::BidRequest> BuildBidRequest(const BidFlags& flags);

// Reads `path` and parses it as `message`'s type in protobuf JSON (unknown
// fields are errors). The message says what went wrong, without the path.
absl::Status ReadJsonFile(const std::string& path, google::protobuf::Message* message);

// `message` in protobuf JSON with the original field names, indented.
std::string ToJson(const google::protobuf::Message& message);

}  // namespace attex::client

#endif  // ATTEX_CLIENT_REQUEST_BUILDER_H_
