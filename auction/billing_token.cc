#include "auction/billing_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace attex::auction {
namespace {

constexpr absl::string_view kPrefix = "v1.";
constexpr char kSep = '\x1f';  // Validation keeps control characters out of ids.
constexpr size_t kMaxTokenBytes = 4096;

}  // namespace

TokenSigner::TokenSigner(std::string secret) : secret_(std::move(secret)) {}

std::string TokenSigner::Mac(absl::string_view payload) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &mac_len);
  return std::string(reinterpret_cast<char*>(mac), mac_len);
}

std::string TokenSigner::Sign(const BillingClaims& c) const {
  const std::string fields[] = {c.campaign_id,
                                c.creative_id,
                                c.advertiser_id,
                                c.platform_id,
                                c.slot_id,
                                c.request_id,
                                c.user_key,
                                absl::StrCat(c.price_cpm_micros),
                                absl::StrCat(c.issued_ms),
                                absl::StrCat(c.expires_ms),
                                c.test ? "1" : "0",
                                absl::StrCat(c.nonce)};
  std::string payload =
      absl::StrJoin(std::begin(fields), std::end(fields), absl::string_view(&kSep, 1));
  return absl::StrCat(kPrefix, absl::WebSafeBase64Escape(payload), ".",
                      absl::WebSafeBase64Escape(Mac(payload)));
}

absl::StatusOr<BillingClaims> TokenSigner::Verify(absl::string_view token) const {
  if (token.size() > kMaxTokenBytes || token.substr(0, kPrefix.size()) != kPrefix) {
    return absl::InvalidArgumentError("billing token: unknown format");
  }
  token.remove_prefix(kPrefix.size());
  size_t dot = token.find('.');
  if (dot == absl::string_view::npos) {
    return absl::InvalidArgumentError("billing token: missing signature");
  }
  std::string payload, mac;
  if (!absl::WebSafeBase64Unescape(token.substr(0, dot), &payload) ||
      !absl::WebSafeBase64Unescape(token.substr(dot + 1), &mac)) {
    return absl::InvalidArgumentError("billing token: bad encoding");
  }
  std::string expected = Mac(payload);
  if (mac.size() != expected.size() ||
      CRYPTO_memcmp(mac.data(), expected.data(), mac.size()) != 0) {
    return absl::InvalidArgumentError("billing token: bad signature");
  }
  std::vector<absl::string_view> f = absl::StrSplit(payload, kSep);
  if (f.size() != 12) return absl::InvalidArgumentError("billing token: bad claims");
  BillingClaims c;
  c.campaign_id = std::string(f[0]);
  c.creative_id = std::string(f[1]);
  c.advertiser_id = std::string(f[2]);
  c.platform_id = std::string(f[3]);
  c.slot_id = std::string(f[4]);
  c.request_id = std::string(f[5]);
  c.user_key = std::string(f[6]);
  int test = 0;
  if (!absl::SimpleAtoi(f[7], &c.price_cpm_micros) || !absl::SimpleAtoi(f[8], &c.issued_ms) ||
      !absl::SimpleAtoi(f[9], &c.expires_ms) || !absl::SimpleAtoi(f[10], &test) ||
      !absl::SimpleAtoi(f[11], &c.nonce) || c.price_cpm_micros < 0) {
    return absl::InvalidArgumentError("billing token: bad claims");
  }
  c.test = test != 0;
  return c;
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest)));
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();  // No entropy: nothing secure can be done.
  }
  return out;
}

std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

}  // namespace attex::auction
