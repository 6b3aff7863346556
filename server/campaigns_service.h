// attex.v1.Campaigns: advertisers manage their own campaigns; operators may
// act for any advertiser. Every call runs on the work queue (the store
// blocks) and is answered once the change is visible to Bid.
#ifndef ATTEX_SERVER_CAMPAIGNS_SERVICE_H_
#define ATTEX_SERVER_CAMPAIGNS_SERVICE_H_

#include "attex/v1/campaign.grpc.pb.h"
#include "server/core.h"

namespace attex::server {

class CampaignsService final : public attex::v1::Campaigns::CallbackService {
 public:
  explicit CampaignsService(Core* core) : core_(core) {}

  grpc::ServerUnaryReactor* CreateCampaign(grpc::CallbackServerContext* ctx,
                                           const attex::v1::Campaign* request,
                                           attex::v1::Campaign* response) override;
  grpc::ServerUnaryReactor* UpdateCampaign(grpc::CallbackServerContext* ctx,
                                           const attex::v1::Campaign* request,
                                           attex::v1::Campaign* response) override;
  grpc::ServerUnaryReactor* GetCampaign(grpc::CallbackServerContext* ctx,
                                        const attex::v1::GetCampaignRequest* request,
                                        attex::v1::Campaign* response) override;
  grpc::ServerUnaryReactor* ListCampaigns(grpc::CallbackServerContext* ctx,
                                          const attex::v1::ListCampaignsRequest* request,
                                          attex::v1::ListCampaignsResponse* response) override;
  grpc::ServerUnaryReactor* SetCampaignStatus(grpc::CallbackServerContext* ctx,
                                              const attex::v1::SetCampaignStatusRequest* request,
                                              attex::v1::Campaign* response) override;
  grpc::ServerUnaryReactor* GetSpend(grpc::CallbackServerContext* ctx,
                                     const attex::v1::GetSpendRequest* request,
                                     attex::v1::SpendReport* response) override;

 private:
  Core* core_;
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_CAMPAIGNS_SERVICE_H_
