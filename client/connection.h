// The client's side of a gRPC connection to attex-server: stubs, the
// per-call deadline and bearer token, and how failures are reported.
#ifndef ATTEX_CLIENT_CONNECTION_H_
#define ATTEX_CLIENT_CONNECTION_H_

#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

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
  std::string addr;         // host:port
  std::string token;        // bearer token; must not be empty
  int timeout_ms = 5000;    // per call
  std::string ca_cert;      // PEM file of trusted roots; empty: plaintext
  std::string client_cert;  // PEM certificate chain for mutual TLS (with client_key)
  std::string client_key;   // PEM private key of client_cert
};

// A unary method of one of the stubs, e.g. &attex::v1::Exchange::Stub::Bid.
template <typename Stub, typename Request, typename Response>
using UnaryMethod = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

// One channel and its three stubs. Not thread-safe (the CLI makes one call
// at a time).
class Connection final {
 public:
  // Fails (with a message for the user) when the CA file cannot be read.
  static absl::StatusOr<Connection> Open(const ClientOptions& options);

  // Makes one call with the deadline (now + timeout) and the authorization
  // metadata, on the stub `method` belongs to:
  //   conn.Call(&attex::v1::Exchange::Stub::Bid, request, &response)
  // Returns kExitOk with *response filled, or reports the failure (Fail).
  template <typename Stub, typename Request, typename Response>
  int Call(UnaryMethod<Stub, Request, Response> method,
           const std::type_identity_t<Request>& request, Response* response);

  // Call, then Print the response when the call succeeded.
  template <typename Stub, typename Request, typename Response>
  int CallAndPrint(UnaryMethod<Stub, Request, Response> method,
                   const std::type_identity_t<Request>& request);

  // Prints one line "attex: " + FailureMessage(status, options) on stderr and
  // returns kExitRpcError.
  int Fail(const grpc::Status& status) const;

 private:
  Connection() = default;

  void Prepare(grpc::ClientContext* context) const;

  ClientOptions options_;
  std::tuple<std::unique_ptr<attex::v1::Exchange::Stub>,
             std::unique_ptr<attex::v1::Campaigns::Stub>,
             std::unique_ptr<attex::v1::Operator::Stub>>
      stubs_;
};

// "CODE: message" for a failed call, on one line. Transport failures
// (UNAVAILABLE, DEADLINE_EXCEEDED) name the address, and the deadline.
std::string FailureMessage(const grpc::Status& status, const ClientOptions& options);

// "INVALID_ARGUMENT" and the like.
std::string_view StatusCodeName(grpc::StatusCode code);

// Prints "attex: <message>" on stderr and returns kExitUsage.
int UsageError(const std::string& message);

// Prints `message` as protobuf JSON on stdout.
void Print(const google::protobuf::Message& message);

template <typename Stub, typename Request, typename Response>
int Connection::Call(UnaryMethod<Stub, Request, Response> method,
                     const std::type_identity_t<Request>& request, Response* response) {
  grpc::ClientContext context;
  Prepare(&context);
  Stub& stub = *std::get<std::unique_ptr<Stub>>(stubs_);
  grpc::Status status = (stub.*method)(&context, request, response);
  return status.ok() ? kExitOk : Fail(status);
}

template <typename Stub, typename Request, typename Response>
int Connection::CallAndPrint(UnaryMethod<Stub, Request, Response> method,
                             const std::type_identity_t<Request>& request) {
  Response response;
  int rc = Call(method, request, &response);
  if (rc == kExitOk) Print(response);
  return rc;
}

}  // namespace attex::client

#endif  // ATTEX_CLIENT_CONNECTION_H_
