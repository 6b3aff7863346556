// Channel credentials for the attex clients (`attex`, `attex-load`):
// plaintext, TLS with a CA file, or mutual TLS with a client certificate.
#ifndef ATTEX_CLIENT_CREDENTIALS_H_
#define ATTEX_CLIENT_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"

namespace attex::client {

struct TlsFiles {
  std::string ca_cert;      // PEM roots; empty: plaintext.
  std::string client_cert;  // PEM chain for mutual TLS (with client_key).
  std::string client_key;
};

// INVALID_ARGUMENT for an incomplete set (naming the flags), NOT_FOUND for
// a file that cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsFiles& files);

}  // namespace attex::client

#endif  // ATTEX_CLIENT_CREDENTIALS_H_
