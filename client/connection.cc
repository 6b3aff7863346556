#include "client/connection.h"

#include <chrono>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "client/channel_target.h"
#include "client/credentials.h"
#include "client/request_builder.h"

namespace attex::client {

absl::StatusOr<Connection> Connection::Open(const ClientOptions& options) {
  auto credentials =
      MakeChannelCredentials({options.ca_cert, options.client_cert, options.client_key});
  if (!credentials.ok()) return credentials.status();
  std::shared_ptr<grpc::Channel> channel = BalancedChannel(options.addr, *credentials);
  Connection c;
  c.options_ = options;
  c.stubs_ = {attex::v1::Exchange::NewStub(channel), attex::v1::Campaigns::NewStub(channel),
              attex::v1::Operator::NewStub(channel)};
  return c;
}

void Connection::Prepare(grpc::ClientContext* context) const {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(options_.timeout_ms));
  context->AddMetadata("authorization", absl::StrCat("Bearer ", options_.token));
}

int Connection::Fail(const grpc::Status& status) const {
  std::cerr << "attex: " << FailureMessage(status, options_) << std::endl;
  return kExitRpcError;
}

std::string FailureMessage(const grpc::Status& status, const ClientOptions& options) {
  // gRPC's messages may span lines; the CLI promises one.
  std::string message = absl::StrReplaceAll(status.error_message(), {{"\r", " "}, {"\n", " "}});
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      message = absl::StrCat("cannot reach attex-server at ", options.addr,
                             message.empty() ? "" : ": ", message);
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      message = absl::StrCat("no answer from ", options.addr, " within ", options.timeout_ms,
                             " ms (--timeout_ms)", message.empty() ? "" : ": ", message);
      break;
    default:
      break;
  }
  return std::string(StatusCodeName(status.error_code())) + ": " + message;
}

std::string_view StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    default:
      return "UNKNOWN_CODE";
  }
}

int UsageError(const std::string& message) {
  std::cerr << "attex: " << message << std::endl;
  return kExitUsage;
}

void Print(const google::protobuf::Message& message) {
  std::cout << ToJson(message);
  std::cout.flush();
}

}  // namespace attex::client
