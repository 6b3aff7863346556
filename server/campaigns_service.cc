#include "server/campaigns_service.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/limits.h"
#include "api/validation.h"

namespace attex::server {
namespace {

using attex::v1::Campaign;
using attex::v1::Role;

constexpr std::initializer_list<Role> kAllowed = {Role::ROLE_ADVERTISER, Role::ROLE_OPERATOR};

// Reads a campaign the caller may see: NOT_FOUND, or PERMISSION_DENIED for
// another advertiser's.
absl::StatusOr<Campaign> ReadOwned(Core& core, const Caller& caller, const std::string& id,
                                   absl::string_view field = "id") {
  if (auto s = api::ValidateCampaignId(field, id); !s.ok()) return s;
  auto campaign = core.store->GetCampaign(id);
  if (!campaign.ok()) return campaign.status();
  if (caller.role != Role::ROLE_OPERATOR && campaign->advertiser_id() != caller.account_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("campaign ", id, " belongs to another advertiser"));
  }
  return campaign;
}

// A campaign the caller may change: PERMISSION_DENIED for another
// advertiser's, FAILED_PRECONDITION once archived (archiving is final).
absl::Status CheckChangeable(const Caller& caller, const Campaign& stored) {
  if (caller.role != Role::ROLE_OPERATOR && stored.advertiser_id() != caller.account_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("campaign ", stored.id(), " belongs to another advertiser"));
  }
  if (stored.status() == attex::v1::CAMPAIGN_STATUS_ARCHIVED) {
    return absl::FailedPreconditionError(
        absl::StrCat("campaign ", stored.id(), " is archived and cannot change"));
  }
  return absl::OkStatus();
}

// Not Defer: the change joins the work queue's group of campaign changes
// (CampaignBatch), which the batch hook commits in one transaction and
// publishes; the answer waits for that. Admission as in Defer: past
// capacity, or once the caller has given up, nothing is written.
grpc::ServerUnaryReactor* QueueChange(Core& core, grpc::CallbackServerContext* ctx,
                                      store::CampaignUpdate update, Campaign* response) {
  if (auto s = core.admission.Admit(*ctx); !s.ok()) return Reply(ctx, s);
  auto* reactor = ctx->DefaultReactor();
  const absl::Time deadline = absl::FromChrono(ctx->deadline());
  core.queue.Submit([&core, update = std::move(update), response, reactor,
                     deadline]() mutable -> store::WorkQueue::Completion {
    auto status = std::make_shared<absl::Status>(core.admission.StillWanted(deadline));
    if (status->ok()) core.campaign_changes.Add(std::move(update), response, status);
    return [reactor, status] { reactor->Finish(ToGrpc(*status)); };
  });
  return reactor;
}

// Gives creatives without an id "cr-<position>".
void NameCreatives(Campaign& c) {
  for (int i = 0; i < c.creatives_size(); ++i) {
    if (c.creatives(i).id().empty()) c.mutable_creatives(i)->set_id(absl::StrCat("cr-", i + 1));
  }
}

}  // namespace

grpc::ServerUnaryReactor* CampaignsService::CreateCampaign(grpc::CallbackServerContext* ctx,
                                                           const Campaign* request,
                                                           Campaign* response) {
  auto caller = core_->auth.Authorize(ctx, kAllowed);
  if (!caller.ok()) return Reply(ctx, caller.status());
  Campaign c = *request;
  if (caller->role == Role::ROLE_ADVERTISER) {
    if (!c.advertiser_id().empty() && c.advertiser_id() != caller->account_id) {
      return Reply(ctx, absl::PermissionDeniedError(
                            "advertiser_id: an advertiser creates campaigns only for itself"));
    }
    c.set_advertiser_id(caller->account_id);
  } else if (c.advertiser_id().empty()) {
    return Reply(ctx,
                 absl::InvalidArgumentError("advertiser_id: an operator must name the advertiser"));
  }
  if (c.status() == attex::v1::CAMPAIGN_STATUS_UNSPECIFIED) {
    c.set_status(attex::v1::CAMPAIGN_STATUS_ACTIVE);
  }
  if (auto s = api::ValidateNewCampaign(c, core_->catalog_manager.model()->d_model()); !s.ok()) {
    return Reply(ctx, s);
  }
  c.clear_id();
  c.clear_version();
  NameCreatives(c);
  return Defer(*core_, ctx, [this, c = std::move(c), response]() mutable -> absl::Status {
    auto stored = core_->store->InsertCampaign(std::move(c), NowMs());
    if (!stored.ok()) return stored.status();
    core_->catalog_manager.Upsert(*stored);
    *response = *std::move(stored);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CampaignsService::UpdateCampaign(grpc::CallbackServerContext* ctx,
                                                           const Campaign* request,
                                                           Campaign* response) {
  auto caller = core_->auth.Authorize(ctx, kAllowed);
  if (!caller.ok()) return Reply(ctx, caller.status());
  if (auto s = api::ValidateCampaignUpdate(*request, core_->catalog_manager.model()->d_model());
      !s.ok()) {
    return Reply(ctx, s);
  }
  store::CampaignUpdate update{
      .id = request->id(),
      .expected_version = request->version(),
      .edit = [caller = *caller, request](const Campaign& stored) -> absl::StatusOr<Campaign> {
        if (auto s = CheckChangeable(caller, stored); !s.ok()) return s;
        if (!request->advertiser_id().empty() &&
            request->advertiser_id() != stored.advertiser_id()) {
          return absl::InvalidArgumentError("advertiser_id: a campaign cannot change owner");
        }
        Campaign c = *request;
        if (c.status() == attex::v1::CAMPAIGN_STATUS_UNSPECIFIED) c.set_status(stored.status());
        if (c.status() == attex::v1::CAMPAIGN_STATUS_ARCHIVED) {
          return absl::InvalidArgumentError("status: archive with SetCampaignStatus");
        }
        NameCreatives(c);
        return c;
      }};
  return QueueChange(*core_, ctx, std::move(update), response);
}

grpc::ServerUnaryReactor* CampaignsService::GetCampaign(
    grpc::CallbackServerContext* ctx, const attex::v1::GetCampaignRequest* request,
    Campaign* response) {
  auto caller = core_->auth.Authorize(ctx, kAllowed);
  if (!caller.ok()) return Reply(ctx, caller.status());
  return Defer(*core_, ctx, [this, caller = *caller, request, response]() -> absl::Status {
    auto campaign = ReadOwned(*core_, caller, request->id());
    if (!campaign.ok()) return campaign.status();
    *response = *std::move(campaign);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CampaignsService::ListCampaigns(
    grpc::CallbackServerContext* ctx, const attex::v1::ListCampaignsRequest* request,
    attex::v1::ListCampaignsResponse* response) {
  auto caller = core_->auth.Authorize(ctx, kAllowed);
  if (!caller.ok()) return Reply(ctx, caller.status());
  if (auto s = api::ValidateListCampaigns(*request); !s.ok()) return Reply(ctx, s);
  std::string advertiser = request->advertiser_id();
  if (caller->role == Role::ROLE_ADVERTISER) {
    if (!advertiser.empty() && advertiser != caller->account_id) {
      return Reply(ctx, absl::PermissionDeniedError(
                            "advertiser_id: advertisers list only their own campaigns"));
    }
    advertiser = caller->account_id;
  }
  const int page_size = request->page_size() > 0 ? request->page_size() : api::kDefaultPageSize;
  return Defer(*core_, ctx, [this, advertiser, page_size, request, response]() -> absl::Status {
    auto page = core_->store->ListCampaigns(advertiser, request->page_token(), page_size + 1);
    if (!page.ok()) return page.status();
    const bool more = static_cast<int>(page->size()) > page_size;
    if (more) page->resize(page_size);
    for (auto& c : *page) *response->add_campaigns() = std::move(c);
    if (more) response->set_next_page_token(response->campaigns().rbegin()->id());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CampaignsService::SetCampaignStatus(
    grpc::CallbackServerContext* ctx, const attex::v1::SetCampaignStatusRequest* request,
    Campaign* response) {
  auto caller = core_->auth.Authorize(ctx, kAllowed);
  if (!caller.ok()) return Reply(ctx, caller.status());
  if (auto s = api::ValidateSetCampaignStatus(*request); !s.ok()) return Reply(ctx, s);
  store::CampaignUpdate update{
      .id = request->id(),
      .edit = [caller = *caller, request](const Campaign& stored) -> absl::StatusOr<Campaign> {
        if (auto s = CheckChangeable(caller, stored); !s.ok()) return s;
        Campaign c = stored;
        c.set_status(request->status());
        return c;
      }};
  return QueueChange(*core_, ctx, std::move(update), response);
}

grpc::ServerUnaryReactor* CampaignsService::GetSpend(grpc::CallbackServerContext* ctx,
                                                     const attex::v1::GetSpendRequest* request,
                                                     attex::v1::SpendReport* response) {
  auto caller = core_->auth.Authorize(ctx, kAllowed);
  if (!caller.ok()) return Reply(ctx, caller.status());
  return Defer(*core_, ctx, [this, caller = *caller, request, response]() -> absl::Status {
    auto campaign = ReadOwned(*core_, caller, request->campaign_id(), "campaign_id");
    if (!campaign.ok()) return campaign.status();
    const int64_t now_ms = NowMs();
    auto spend = core_->store->GetSpend(campaign->id(),
                                        now_ms / auction::kMillisPerDay * auction::kMillisPerDay);
    if (!spend.ok()) return spend.status();
    response->set_campaign_id(campaign->id());
    response->set_total_micros(spend->total_micros);
    response->set_today_micros(spend->today_micros);
    response->set_impressions(spend->impressions);
    response->set_clicks(spend->clicks);
    const int64_t remaining = auction::RemainingBudget(campaign->budget().daily_micros(),
                                                       campaign->budget().total_micros(),
                                                       spend->total_micros, spend->today_micros);
    response->set_remaining_micros(std::max<int64_t>(remaining, 0));
    return absl::OkStatus();
  });
}

}  // namespace attex::server
