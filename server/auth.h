// Bearer-token authentication and role checks. Tokens are never kept: the
// table maps the SHA-256 of a token to its account.
#ifndef ATTEX_SERVER_AUTH_H_
#define ATTEX_SERVER_AUTH_H_

#include <initializer_list>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_context.h"
#include "store/store.h"

namespace attex::server {

struct Caller {
  std::string account_id;
  attex::v1::Role role = attex::v1::ROLE_UNSPECIFIED;
};

class Authenticator final {
 public:
  void Add(const store::AccountRecord& account);

  // UNAUTHENTICATED without "authorization: Bearer <token>" or with an
  // unknown token; PERMISSION_DENIED when the account's role is not one of
  // `allowed`.
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& context,
                                      std::initializer_list<attex::v1::Role> allowed) const;

  // A new random token ("attex_" + 48 hex digits).
  static std::string NewToken();

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Caller> by_hash_ ABSL_GUARDED_BY(mu_);
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_AUTH_H_
