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
  int rc = conn.CallAndPrint(&attex::v1::Operator::Stub::CreateAccount, request);
  if (rc != kExitOk) return rc;
  // On stderr, so that stdout stays plain JSON for scripts.
  std::cerr << "attex: the token is shown this once (only its hash is stored); "
               "keep it now"
            << std::endl;
  return kExitOk;
}

int RunStats(Connection& conn) {
  return conn.CallAndPrint(&attex::v1::Operator::Stub::GetStats, {});
}

int RunPing(Connection& conn) { return conn.CallAndPrint(&attex::v1::Operator::Stub::Ping, {}); }

int RunBalances(Connection& conn, const std::string& prefix) {
  attex::v1::GetLedgerBalancesRequest request;
  request.set_prefix(prefix);
  return conn.CallAndPrint(&attex::v1::Operator::Stub::GetLedgerBalances, request);
}

int RunLedgerCheck(Connection& conn) {
  attex::v1::LedgerCheck response;
  int rc = conn.Call(&attex::v1::Operator::Stub::CheckLedger, {}, &response);
  if (rc != kExitOk) return rc;
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
  attex::v1::LedgerBalances response;
  int rc = conn.Call(&attex::v1::Operator::Stub::GetLedgerBalances, request, &response);
  if (rc != kExitOk) return rc;
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
  return conn.CallAndPrint(&attex::v1::Operator::Stub::ReloadModel, request);
}

}  // namespace attex::client
