// attex.v1.Operator: Ping for any account; the rest for operators.
#ifndef ATTEX_SERVER_OPERATOR_SERVICE_H_
#define ATTEX_SERVER_OPERATOR_SERVICE_H_

#include "attex/v1/operator.grpc.pb.h"
#include "server/core.h"

namespace attex::server {

class OperatorService final : public attex::v1::Operator::CallbackService {
 public:
  explicit OperatorService(Core* core) : core_(core) {}

  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* ctx,
                                 const attex::v1::PingRequest* request,
                                 attex::v1::PingResponse* response) override;
  grpc::ServerUnaryReactor* CreateAccount(grpc::CallbackServerContext* ctx,
                                          const attex::v1::CreateAccountRequest* request,
                                          attex::v1::Account* response) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* ctx,
                                     const attex::v1::GetStatsRequest* request,
                                     attex::v1::Stats* response) override;
  grpc::ServerUnaryReactor* ReloadModel(grpc::CallbackServerContext* ctx,
                                        const attex::v1::ReloadModelRequest* request,
                                        attex::v1::ReloadModelResponse* response) override;
  grpc::ServerUnaryReactor* GetLedgerBalances(grpc::CallbackServerContext* ctx,
                                              const attex::v1::GetLedgerBalancesRequest* request,
                                              attex::v1::LedgerBalances* response) override;
  grpc::ServerUnaryReactor* CheckLedger(grpc::CallbackServerContext* ctx,
                                        const attex::v1::CheckLedgerRequest* request,
                                        attex::v1::LedgerCheck* response) override;
  grpc::ServerUnaryReactor* ListAccounts(grpc::CallbackServerContext* ctx,
                                         const attex::v1::ListAccountsRequest* request,
                                         attex::v1::ListAccountsResponse* response) override;
  grpc::ServerUnaryReactor* RevokeToken(grpc::CallbackServerContext* ctx,
                                        const attex::v1::RevokeTokenRequest* request,
                                        attex::v1::Account* response) override;

 private:
  Core* core_;
};

// Creates an account and registers its token; returns it with the token.
// Blocking (the store): call it on the work queue or before serving.
absl::StatusOr<attex::v1::Account> CreateAccount(Core& core, attex::v1::Role role,
                                                 const std::string& name);

}  // namespace attex::server

#endif  // ATTEX_SERVER_OPERATOR_SERVICE_H_
