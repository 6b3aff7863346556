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
#include "server/rate_limiter.h"
#include "store/store.h"

namespace attex::server {

struct Caller {
  std::string account_id;
  attex::v1::Role role = attex::v1::ROLE_UNSPECIFIED;
};

class Authenticator final {
 public:
  // Registers an account's token hash (revoked accounts are ignored).
  void Add(const store::AccountRecord& account);
  // Forgets every token of the account: its calls are UNAUTHENTICATED from now on.
  void Remove(const std::string& account_id);

  // UNAUTHENTICATED without "authorization: Bearer <token>" or with an
  // unknown token; PERMISSION_DENIED when the account's role is not one of
  // `allowed`.
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& context,
                                      std::initializer_list<attex::v1::Role> allowed) const;
  // The same, from the value of an authorization header ("Bearer <token>";
  // HTTP's Authorization header for the OpenRTB endpoint).
  absl::StatusOr<Caller> AuthenticateBearer(absl::string_view authorization,
                                            std::initializer_list<attex::v1::Role> allowed) const;

  // Authenticate, then the caller's rate limit: past it RESOURCE_EXHAUSTED,
  // with the wait in trailing metadata "retry-after-ms".
  absl::StatusOr<Caller> Authorize(grpc::ServerContextBase* context,
                                   std::initializer_list<attex::v1::Role> allowed);
  // The same from a header value; past the rate limit, *retry_after is the
  // wait (for HTTP's Retry-After).
  absl::StatusOr<Caller> AuthorizeBearer(absl::string_view authorization,
                                         std::initializer_list<attex::v1::Role> allowed,
                                         absl::Duration* retry_after);
  // Replaces the rate limits (at start, before serving).
  void SetRateLimits(RateLimitOptions options);
  // The share of the limits this replica admits (RateLimiter::SetShare).
  void SetRateShare(double share) { limiter_->SetShare(share); }

  // A new random token ("attex_" + 48 hex digits).
  static std::string NewToken();

 private:
  // RESOURCE_EXHAUSTED past the caller's rate limit, *wait set.
  absl::Status RateLimit(const Caller& caller, absl::Duration* wait);
  static int64_t WaitMs(absl::Duration wait);  // At least 1.

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Caller> by_hash_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<RateLimiter> limiter_ = std::make_unique<RateLimiter>(RateLimitOptions{});
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_AUTH_H_
