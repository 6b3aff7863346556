// Signed, expiring billing tokens. A token carries what billing needs (who
// pays whom, how much) so that ReportEvents trusts nothing but the signature.
// Format: "v1." base64url(claims) "." base64url(HMAC-SHA256(secret, claims)).
#ifndef ATTEX_AUCTION_BILLING_TOKEN_H_
#define ATTEX_AUCTION_BILLING_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attex::auction {

struct BillingClaims {
  std::string campaign_id;
  std::string creative_id;
  std::string advertiser_id;
  std::string platform_id;  // The account that received the placement.
  std::string slot_id;
  std::string request_id;
  std::string user_key;  // The user's id, or empty (anonymous or no consent).
  int64_t price_cpm_micros = 0;
  int64_t issued_ms = 0;
  int64_t expires_ms = 0;
  bool test = false;
  uint64_t nonce = 0;  // Makes two otherwise equal placements distinct.
};

// Thread-safe: holds only the immutable secret.
class TokenSigner final {
 public:
  // secret: at least 32 bytes of random data.
  explicit TokenSigner(std::string secret);

  std::string Sign(const BillingClaims& claims) const;
  // INVALID_ARGUMENT when malformed or the signature does not match. Expiry
  // is the caller's to check against its clock.
  absl::StatusOr<BillingClaims> Verify(absl::string_view token) const;

 private:
  std::string Mac(absl::string_view payload) const;
  std::string secret_;
};

// Hex SHA-256 of any string (tokens are stored and deduplicated by it).
std::string Sha256Hex(absl::string_view data);
// n random bytes from the OS's CSPRNG.
std::string RandomBytes(size_t n);
// Lower-case hex of bytes.
std::string Hex(absl::string_view bytes);

}  // namespace attex::auction

#endif  // ATTEX_AUCTION_BILLING_TOKEN_H_
