// libFuzzer: a campaign from an advertiser (protobuf bytes) through
// validation and, when valid, compilation (embedding every creative).
#include <cstddef>
#include <cstdint>

#include "api/validation.h"
#include "auction/budget.h"
#include "auction/catalog.h"
#include "google/protobuf/stubs/logging.h"

// Invalid UTF-8 is answered with an error; protobuf's log line about it is noise.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(
      +[](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* model = attex::attention::Model::Default().release();
  attex::v1::Campaign campaign;
  if (!campaign.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (!attex::api::ValidateCampaign(campaign, model->d_model()).ok()) return 0;
  auto compiled = attex::auction::CompileCampaign(campaign, *model,
                                                  std::make_shared<attex::auction::BudgetState>());
  if (compiled->creatives.size() != static_cast<size_t>(campaign.creatives_size())) {
    __builtin_trap();
  }
  return 0;
}
