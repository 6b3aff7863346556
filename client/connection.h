// The client's side of a gRPC connection to attex-server: stubs, the
// per-call deadline and bearer token, and how failures are reported.
#ifndef ATTEX_CLIENT_CONNECTION_H_
#define ATTEX_CLIENT_CONNECTION_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "attex/v1/campaign.grpc.pb.h"
#include "attex/v1/exchange.grpc.pb.h"
#include "attex/v1/operator.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace attex::client {

// Process exit codes of `attex`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRpcError = 1;
inline constexpr int kExitUsage = 2;

struct ClientOptions {
  std::string addr;       // host:port
  std::string token;      // bearer token; must not be empty
  int timeout_ms = 5000;  // per call
  std::string ca_cert;    // PEM file of trusted roots; empty: plaintext
  std::string client_cert;  // PEM certificate chain for mutual TLS (with client_key)
  std::string client_key;   // PEM private key of client_cert
};

// One channel and its three stubs. Not thread-safe (the CLI makes one call
// at a time).
class Connection final {
 public:
  // Fails (with a message for the user) when the CA file cannot be read.
  static absl::StatusOr<Connection> Open(const ClientOptions& options);

  // Sets the deadline (now + timeout) and the authorization metadata.
  void Prepare(grpc::ClientContext* context) const;

  // Prints one line "attex: CODE: message" on stderr and returns
  // kExitRpcError. Transport failures name the address.
  int Fail(const grpc::Status& status) const;

  attex::v1::Exchange::Stub& exchange() { return *exchange_; }
  attex::v1::Campaigns::Stub& campaigns() { return *campaigns_; }
  attex::v1::Operator::Stub& op() { return *operator_; }

 private:
  Connection() = default;

  ClientOptions options_;
  std::unique_ptr<attex::v1::Exchange::Stub> exchange_;
  std::unique_ptr<attex::v1::Campaigns::Stub> campaigns_;
  std::unique_ptr<attex::v1::Operator::Stub> operator_;
};

// "INVALID_ARGUMENT" and the like.
std::string_view StatusCodeName(grpc::StatusCode code);

// Prints "attex: <message>" on stderr and returns kExitUsage.
int UsageError(const std::string& message);

// Prints `message` as protobuf JSON on stdout.
void Print(const google::protobuf::Message& message);

}  // namespace attex::client

#endif  // ATTEX_CLIENT_CONNECTION_H_
