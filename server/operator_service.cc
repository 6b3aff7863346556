#include "server/operator_service.h"

#include "absl/strings/str_cat.h"
#include "api/validation.h"
#include "spdlog/spdlog.h"

namespace attex::server {
namespace {

using attex::v1::Role;

constexpr std::initializer_list<Role> kOperator = {Role::ROLE_OPERATOR};

// An account as operators see it: never with a token.
attex::v1::Account ToProto(const store::AccountRecord& record) {
  attex::v1::Account account;
  account.set_id(record.id);
  account.set_role(record.role);
  account.set_name(record.name);
  account.set_created_at(record.created_at_ms);
  account.set_revoked(record.revoked);
  return account;
}

}  // namespace

absl::StatusOr<attex::v1::Account> CreateAccount(Core& core, Role role, const std::string& name) {
  const std::string token = Authenticator::NewToken();
  auto record = core.store->CreateAccount(role, name, auction::Sha256Hex(token));
  if (!record.ok()) return record.status();
  core.auth.Add(*record);
  attex::v1::Account account = ToProto(*record);
  account.set_token(token);
  spdlog::info("created account {} ({})", record->id, attex::v1::Role_Name(role));
  return account;
}

grpc::ServerUnaryReactor* OperatorService::Ping(grpc::CallbackServerContext* ctx,
                                                const attex::v1::PingRequest* request,
                                                attex::v1::PingResponse* response) {
  if (auto s = core_->admission.Admit(*ctx); !s.ok()) return Reply(ctx, s);
  auto caller =
      core_->auth.Authorize(ctx, {Role::ROLE_PLATFORM, Role::ROLE_ADVERTISER, Role::ROLE_OPERATOR});
  if (!caller.ok()) return Reply(ctx, caller.status());
  if (auto s = api::ValidatePing(*request); !s.ok()) return Reply(ctx, s);
  response->set_payload(request->payload());
  return Reply(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* OperatorService::CreateAccount(
    grpc::CallbackServerContext* ctx, const attex::v1::CreateAccountRequest* request,
    attex::v1::Account* response) {
  auto caller = core_->auth.Authorize(ctx, kOperator);
  if (!caller.ok()) return Reply(ctx, caller.status());
  if (auto s = api::ValidateCreateAccount(*request); !s.ok()) return Reply(ctx, s);
  return Defer(*core_, ctx, [this, request, response]() -> absl::Status {
    auto account = server::CreateAccount(*core_, request->role(), request->name());
    if (!account.ok()) return account.status();
    *response = *std::move(account);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OperatorService::GetStats(grpc::CallbackServerContext* ctx,
                                                    const attex::v1::GetStatsRequest* request,
                                                    attex::v1::Stats* response) {
  auto caller = core_->auth.Authorize(ctx, kOperator);
  if (!caller.ok()) return Reply(ctx, caller.status());
  const auto catalog = core_->catalog_manager.Current();
  const int64_t now_ms = NowMs();
  const Metrics::Totals totals = core_->metrics.totals();
  response->set_uptime_s(absl::ToInt64Seconds(absl::Now() - core_->started));
  response->set_bids(totals.bids);
  response->set_placements(totals.placements);
  response->set_fill_rate(totals.slots > 0 ? static_cast<double>(totals.placements) / totals.slots
                                           : 0.0);
  response->set_events_accepted(totals.events_accepted);
  int64_t spend_today = 0;
  for (const auto& campaign : catalog->campaigns) spend_today += campaign->budget->today(now_ms);
  response->set_spend_today_micros(spend_today);
  response->set_active_campaigns(catalog->active_campaigns);
  response->set_active_ads(catalog->active_ads);
  response->set_model_version(catalog->model->version());
  core_->metrics.FillRates(core_->admission.max_in_flight(), response);
  return Reply(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* OperatorService::ReloadModel(grpc::CallbackServerContext* ctx,
                                                       const attex::v1::ReloadModelRequest* request,
                                                       attex::v1::ReloadModelResponse* response) {
  auto caller = core_->auth.Authorize(ctx, kOperator);
  if (!caller.ok()) return Reply(ctx, caller.status());
  if (auto s = core_->admission.Admit(*ctx); !s.ok()) return Reply(ctx, s);
  auto* reactor = ctx->DefaultReactor();
  // Re-embedded off the work queue; answered once the new model serves.
  core_->reloader.Start(request->path(), [reactor, response](absl::StatusOr<ReloadResult> r) {
    if (r.ok()) {
      response->set_model_version(r->model_version);
      response->set_ads_embedded(r->ads_embedded);
      response->set_embed_seconds(r->embed_seconds);
      response->set_swap_seconds(r->swap_seconds);
    }
    reactor->Finish(ToGrpc(r.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* OperatorService::GetLedgerBalances(
    grpc::CallbackServerContext* ctx, const attex::v1::GetLedgerBalancesRequest* request,
    attex::v1::LedgerBalances* response) {
  auto caller = core_->auth.Authorize(ctx, kOperator);
  if (!caller.ok()) return Reply(ctx, caller.status());
  if (auto s = api::ValidateGetLedgerBalances(*request); !s.ok()) return Reply(ctx, s);
  return Defer(*core_, ctx, [this, request, response]() -> absl::Status {
    // An exact account is read as a prefix, and the longer names it also
    // starts ("user:u1" of "user:u10") are left out.
    const std::string& exact = request->account();
    auto balances = core_->store->Balances(exact.empty() ? request->prefix() : exact);
    if (!balances.ok()) return balances.status();
    for (const auto& b : balances->accounts) {
      if (!exact.empty() && b.account != exact) continue;
      auto* out = response->add_balances();
      out->set_account(b.account);
      out->set_balance_micros(b.balance_micros);
    }
    response->set_ledger_sum_micros(balances->ledger_sum_micros);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OperatorService::CheckLedger(grpc::CallbackServerContext* ctx,
                                                       const attex::v1::CheckLedgerRequest* request,
                                                       attex::v1::LedgerCheck* response) {
  auto caller = core_->auth.Authenticate(*ctx, kOperator);
  if (!caller.ok()) return Reply(ctx, caller.status());
  return Defer(*core_, ctx, [this, response]() -> absl::Status {
    auto check = core_->store->CheckLedger();
    if (!check.ok()) return check.status();
    response->set_ok(check->ok());
    response->set_events_checked(check->events_checked);
    response->set_accounts_checked(check->accounts_checked);
    response->set_campaigns_checked(check->campaigns_checked);
    response->set_ledger_sum_micros(check->ledger_sum_micros);
    for (const auto& problem : check->problems) response->add_problems(problem);
    if (!check->ok()) spdlog::error("ledger check: {} problems", check->problems.size());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OperatorService::ListAccounts(
    grpc::CallbackServerContext* ctx, const attex::v1::ListAccountsRequest* request,
    attex::v1::ListAccountsResponse* response) {
  auto caller = core_->auth.Authorize(ctx, kOperator);
  if (!caller.ok()) return Reply(ctx, caller.status());
  return Defer(*core_, ctx, [this, response]() -> absl::Status {
    auto accounts = core_->store->ListAccounts();
    if (!accounts.ok()) return accounts.status();
    for (const auto& record : *accounts) *response->add_accounts() = ToProto(record);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* OperatorService::RevokeToken(grpc::CallbackServerContext* ctx,
                                                       const attex::v1::RevokeTokenRequest* request,
                                                       attex::v1::Account* response) {
  auto caller = core_->auth.Authorize(ctx, kOperator);
  if (!caller.ok()) return Reply(ctx, caller.status());
  if (auto s = api::ValidateRevokeToken(*request); !s.ok()) return Reply(ctx, s);
  return Defer(*core_, ctx, [this, request, response]() -> absl::Status {
    auto record = core_->store->RevokeAccount(request->account_id());
    if (!record.ok()) return record.status();
    core_->auth.Remove(record->id);
    *response = ToProto(*record);
    spdlog::info("revoked the token of account {}", record->id);
    return absl::OkStatus();
  });
}

}  // namespace attex::server
