// TLS and mutual TLS for the gRPC listener.
#ifndef ATTEX_SERVER_TLS_H_
#define ATTEX_SERVER_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"

namespace attex::server {

struct TlsOptions {
  std::string cert_file;       // PEM certificate chain. Empty: plaintext.
  std::string key_file;        // PEM private key of cert_file.
  std::string client_ca_file;  // PEM roots; set: clients must present a certificate they sign.
};

// Plaintext credentials without a certificate; TLS with one; mutual TLS with
// a client CA. INVALID_ARGUMENT for an incomplete set, NOT_FOUND for a file
// that cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsOptions& options);

}  // namespace attex::server

#endif  // ATTEX_SERVER_TLS_H_
