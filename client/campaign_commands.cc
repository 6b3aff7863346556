// attex campaign ..., attex spend.
#include "absl/strings/str_cat.h"
#include "client/commands.h"

namespace attex::client {
namespace {

// Reads a Campaign file, reporting a usage error ("attex: FILE: why").
bool ReadCampaign(const std::string& path, attex::v1::Campaign* campaign, int* rc) {
  absl::Status status = ReadJsonFile(path, campaign);
  if (!status.ok()) {
    *rc = UsageError(absl::StrCat(path, ": ", status.message()));
    return false;
  }
  return true;
}

}  // namespace

int RunCampaignCreate(Connection& conn, const std::string& path) {
  attex::v1::Campaign request;
  int rc;
  if (!ReadCampaign(path, &request, &rc)) return rc;
  return conn.CallAndPrint(&attex::v1::Campaigns::Stub::CreateCampaign, request);
}

int RunCampaignUpdate(Connection& conn, const std::string& path) {
  attex::v1::Campaign request;
  int rc;
  if (!ReadCampaign(path, &request, &rc)) return rc;
  if (request.id().empty()) {
    return UsageError(
        absl::StrCat(path, ": \"id\" is required to update (the id CreateCampaign assigned)"));
  }
  return conn.CallAndPrint(&attex::v1::Campaigns::Stub::UpdateCampaign, request);
}

int RunCampaignGet(Connection& conn, const std::string& id) {
  attex::v1::GetCampaignRequest request;
  request.set_id(id);
  return conn.CallAndPrint(&attex::v1::Campaigns::Stub::GetCampaign, request);
}

int RunCampaignList(Connection& conn, const ListFlags& flags) {
  attex::v1::ListCampaignsRequest request;
  request.set_page_size(flags.page_size);
  request.set_page_token(flags.page_token);
  request.set_advertiser_id(flags.advertiser_id);
  attex::v1::ListCampaignsResponse all;
  // A server that repeats a page token would loop forever; cap the pages.
  for (int page = 0; page < 100000; ++page) {
    attex::v1::ListCampaignsResponse response;
    int rc = conn.Call(&attex::v1::Campaigns::Stub::ListCampaigns, request, &response);
    if (rc != kExitOk) return rc;
    if (!flags.all) {
      Print(response);
      return kExitOk;
    }
    for (auto& c : *response.mutable_campaigns()) *all.add_campaigns() = std::move(c);
    if (response.next_page_token().empty() || response.next_page_token() == request.page_token()) {
      break;
    }
    request.set_page_token(response.next_page_token());
  }
  Print(all);
  return kExitOk;
}

int RunCampaignSetStatus(Connection& conn, const std::string& id,
                         attex::v1::CampaignStatus status) {
  attex::v1::SetCampaignStatusRequest request;
  request.set_id(id);
  request.set_status(status);
  return conn.CallAndPrint(&attex::v1::Campaigns::Stub::SetCampaignStatus, request);
}

int RunSpend(Connection& conn, const std::string& campaign_id) {
  attex::v1::GetSpendRequest request;
  request.set_campaign_id(campaign_id);
  return conn.CallAndPrint(&attex::v1::Campaigns::Stub::GetSpend, request);
}

}  // namespace attex::client
