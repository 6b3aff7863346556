#include "server/auth.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "auction/billing_token.h"

namespace attex::server {

void Authenticator::Add(const store::AccountRecord& account) {
  if (account.revoked) return;
  absl::MutexLock lock(&mu_);
  by_hash_[account.token_hash] = Caller{account.id, account.role};
}

void Authenticator::Remove(const std::string& account_id) {
  absl::MutexLock lock(&mu_);
  absl::erase_if(by_hash_,
                 [&](const auto& entry) { return entry.second.account_id == account_id; });
}

absl::StatusOr<Caller> Authenticator::Authenticate(
    const grpc::ServerContextBase& context, std::initializer_list<attex::v1::Role> allowed) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError("missing authorization metadata: send \"Bearer <token>\"");
  }
  return AuthenticateBearer(absl::string_view(it->second.data(), it->second.size()), allowed);
}

absl::StatusOr<Caller> Authenticator::AuthenticateBearer(
    absl::string_view value, std::initializer_list<attex::v1::Role> allowed) const {
  constexpr absl::string_view kBearer = "Bearer ";
  if (!absl::StartsWithIgnoreCase(value, kBearer) || value.size() == kBearer.size()) {
    return absl::UnauthenticatedError("authorization must be \"Bearer <token>\"");
  }
  const std::string hash = auction::Sha256Hex(value.substr(kBearer.size()));
  Caller caller;
  {
    absl::MutexLock lock(&mu_);
    auto found = by_hash_.find(hash);
    if (found == by_hash_.end()) return absl::UnauthenticatedError("unknown token");
    caller = found->second;
  }
  if (std::find(allowed.begin(), allowed.end(), caller.role) == allowed.end()) {
    return absl::PermissionDeniedError(absl::StrCat("account ", caller.account_id, " (",
                                                    attex::v1::Role_Name(caller.role),
                                                    ") may not call this method"));
  }
  return caller;
}

absl::StatusOr<Caller> Authenticator::Authorize(grpc::ServerContextBase* context,
                                                std::initializer_list<attex::v1::Role> allowed) {
  auto caller = Authenticate(*context, allowed);
  if (!caller.ok()) return caller;
  absl::Duration wait;
  if (auto s = RateLimit(*caller, &wait); !s.ok()) {
    context->AddTrailingMetadata("retry-after-ms", std::to_string(WaitMs(wait)));
    return s;
  }
  return caller;
}

absl::StatusOr<Caller> Authenticator::AuthorizeBearer(
    absl::string_view authorization, std::initializer_list<attex::v1::Role> allowed,
    absl::Duration* retry_after) {
  auto caller = AuthenticateBearer(authorization, allowed);
  if (!caller.ok()) return caller;
  if (auto s = RateLimit(*caller, retry_after); !s.ok()) return s;
  return caller;
}

absl::Status Authenticator::RateLimit(const Caller& caller, absl::Duration* wait) {
  if (limiter_->Admit(caller.account_id, caller.role, wait)) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat("rate limit of account ", caller.account_id,
                                                   " exceeded; retry in ", WaitMs(*wait), " ms"));
}

int64_t Authenticator::WaitMs(absl::Duration wait) {
  return std::max<int64_t>(1, absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))));
}

void Authenticator::SetRateLimits(RateLimitOptions options) {
  limiter_ = std::make_unique<RateLimiter>(std::move(options));
}

std::string Authenticator::NewToken() {
  return absl::StrCat("attex_", auction::Hex(auction::RandomBytes(24)));
}

}  // namespace attex::server
