// attex account create, stats, ping, balances, ledger check, earnings,
// reload_model.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/commands.h"

namespace attex::client {

int RunAccountCreate(Connection& conn, const std::string& role, const std::string& name) {
  attex::v1::CreateAccountRequest request;
  if (role == "platform") {
    request.set_role(attex::v1::ROLE_PLATFORM);
  } else if (role == "advertiser") {
    request.set_role(attex::v1::ROLE_ADVERTISER);
  } else if (role == "operator") {
    request.set_role(attex::v1::ROLE_OPERATOR);
  } else {
    return UsageError(
        absl::StrCat("--role '", role, "': expected platform, advertiser or operator"));
  }
  request.set_name(name);
  grpc::ClientContext context;
  conn.Prepare(&context);
  attex::v1::Account response;
  grpc::Status status = conn.op().CreateAccount(&context, request, &response);
  if (!status.ok()) return conn.Fail(status);
  Print(response);
  // On stderr, so that stdout stays plain JSON for scripts.
  std::cerr << "attex: the token is shown this once (only its hash is stored); "
               "keep it now"
            << std::endl;
  return kExitOk;
}

int RunStats(Connection& conn) {
  grpc::ClientContext context;
  conn.Prepare(&context);
  attex::v1::Stats response;
  grpc::Status status =
      conn.op().GetStats(&context, attex::v1::GetStatsRequest(), &response);
  if (!status.ok()) return conn.Fail(status);
  Print(response);
  return kExitOk;
}

int RunPing(Connection& conn) {
  grpc::ClientContext context;
  conn.Prepare(&context);
  attex::v1::PingResponse response;
  grpc::Status status = conn.op().Ping(&context, attex::v1::PingRequest(), &response);
  if (!status.ok()) return conn.Fail(status);
  Print(response);
  return kExitOk;
}

int RunBalances(Connection& conn, const std::string& prefix) {
  attex::v1::GetLedgerBalancesRequest request;
  request.set_prefix(prefix);
  grpc::ClientContext context;
  conn.Prepare(&context);
  attex::v1::LedgerBalances response;
  grpc::Status status = conn.op().GetLedgerBalances(&context, request, &response);
  if (!status.ok()) return conn.Fail(status);
  Print(response);
  return kExitOk;
}

int RunLedgerCheck(Connection& conn) {
  grpc::ClientContext context;
  conn.Prepare(&context);
  attex::v1::LedgerCheck response;
  grpc::Status status =
      conn.op().CheckLedger(&context, attex::v1::CheckLedgerRequest(), &response);
  if (!status.ok()) return conn.Fail(status);
  Print(response);
  if (!response.ok()) {
    std::cerr << "attex: the ledger check found " << response.problems_size() << " problems"
              << std::endl;
    return kExitRpcError;
  }
  return kExitOk;
}

int RunEarnings(Connection& conn, const std::string& user_id, const std::string& platform_id) {
  if (user_id.empty() == platform_id.empty()) {
    return UsageError("earnings: pass exactly one of --user ID or --platform ID");
  }
  attex::v1::GetLedgerBalancesRequest request;
  request.set_account(user_id.empty() ? absl::StrCat("platform:", platform_id)
                                      : absl::StrCat("user:", user_id));
  grpc::ClientContext context;
  conn.Prepare(&context);
  attex::v1::LedgerBalances response;
  grpc::Status status = conn.op().GetLedgerBalances(&context, request, &response);
  if (!status.ok()) return conn.Fail(status);
  // An account with no entries has earned nothing yet: print it as zero.
  if (response.balances_size() == 0) {
    auto* none = response.add_balances();
    none->set_account(request.account());
  }
  Print(response);
  return kExitOk;
}

int RunReloadModel(Connection& conn, const std::string& path) {
  attex::v1::ReloadModelRequest request;
  request.set_path(path);
  grpc::ClientContext context;
  conn.Prepare(&context);
  attex::v1::ReloadModelResponse response;
  grpc::Status status = conn.op().ReloadModel(&context, request, &response);
  if (!status.ok()) return conn.Fail(status);
  Print(response);
  return kExitOk;
}

}  // namespace attex::client
