// libFuzzer: a campaign file as the CLI reads it (protobuf JSON), then
// validation, as the server would see it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/validation.h"
#include "google/protobuf/util/json_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  attex::v1::Campaign campaign;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (!google::protobuf::util::JsonStringToMessage(text, &campaign).ok()) return 0;
  (void)attex::api::ValidateCampaign(campaign, 64);
  std::string back;
  if (!google::protobuf::util::MessageToJsonString(campaign, &back).ok()) __builtin_trap();
  return 0;
}
