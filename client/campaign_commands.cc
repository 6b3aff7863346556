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

int Answer(Connection& conn, const grpc::Status& status,
           const google::protobuf::Message& response) {
  if (!status.ok()) return conn.Fail(status);
  Print(response);
  return kExitOk;
}

}  // namespace

int RunCampaignCreate(Connection& conn, const std::string& path) {
  attex::v1::Campaign request;
  int rc;
  if (!ReadCampaign(path, &request, &rc)) return rc;
  grpc::ClientContext context;
  conn.Prepare(&context);
  attex::v1::Campaign response;
  return Answer(conn, conn.campaigns().CreateCampaign(&context, request, &response),
                response);
}

int RunCampaignUpdate(Connection& conn, const std::string& path) {
  attex::v1::Campaign request;
  int rc;
  if (!ReadCampaign(path, &request, &rc)) return rc;
  if (request.id().empty()) {
    return UsageError(absl::StrCat(
        path, ": \"id\" is required to update (the id CreateCampaign assigned)"));
  }
  grpc::ClientContext context;
  conn.Prepare(&context);
  attex::v1::Campaign response;
  return Answer(conn, conn.campaigns().UpdateCampaign(&context, request, &response),
                response);
}

int RunCampaignGet(Connection& conn, const std::string& id) {
  attex::v1::GetCampaignRequest request;
  request.set_id(id);
  grpc::ClientContext context;
  conn.Prepare(&context);
  attex::v1::Campaign response;
  return Answer(conn, conn.campaigns().GetCampaign(&context, request, &response),
                response);
}

int RunCampaignList(Connection& conn, const ListFlags& flags) {
  attex::v1::ListCampaignsRequest request;
  request.set_page_size(flags.page_size);
  request.set_page_token(flags.page_token);
  request.set_advertiser_id(flags.advertiser_id);
  attex::v1::ListCampaignsResponse all;
  // A server that repeats a page token would loop forever; cap the pages.
  for (int page = 0; page < 100000; ++page) {
    grpc::ClientContext context;
    conn.Prepare(&context);
    attex::v1::ListCampaignsResponse response;
    grpc::Status status = conn.campaigns().ListCampaigns(&context, request, &response);
    if (!status.ok()) return conn.Fail(status);
    if (!flags.all) {
      Print(response);
      return kExitOk;
    }
    for (auto& c : *response.mutable_campaigns()) *all.add_campaigns() = std::move(c);
    if (response.next_page_token().empty() ||
        response.next_page_token() == request.page_token()) {
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
  grpc::ClientContext context;
  conn.Prepare(&context);
  attex::v1::Campaign response;
  return Answer(conn, conn.campaigns().SetCampaignStatus(&context, request, &response),
                response);
}

int RunSpend(Connection& conn, const std::string& campaign_id) {
  attex::v1::GetSpendRequest request;
  request.set_campaign_id(campaign_id);
  grpc::ClientContext context;
  conn.Prepare(&context);
  attex::v1::SpendReport response;
  return Answer(conn, conn.campaigns().GetSpend(&context, request, &response), response);
}

}  // namespace attex::client
