#include "client/credentials.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace attex::client {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  std::stringstream pem;
  pem << in.rdbuf();
  return pem.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsFiles& files) {
  if (files.client_cert.empty() != files.client_key.empty()) {
    return absl::InvalidArgumentError("--client_cert and --client_key go together");
  }
  if (files.ca_cert.empty()) {
    if (!files.client_cert.empty()) {
      return absl::InvalidArgumentError("--client_cert needs --ca_cert (TLS)");
    }
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions ssl;
  auto roots = ReadFile(files.ca_cert);
  if (!roots.ok()) return roots.status();
  ssl.pem_root_certs = *roots;
  if (!files.client_cert.empty()) {
    auto cert = ReadFile(files.client_cert);
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(files.client_key);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace attex::client
