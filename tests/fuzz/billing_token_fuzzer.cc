// libFuzzer: billing tokens as platforms send them back. Verification must
// reject anything not signed with the key, and a signed token's claims must
// survive a round trip.
#include <cstddef>
#include <cstdint>
#include <string>

#include "auction/billing_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const attex::auction::TokenSigner signer(std::string(32, 'k'));
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto claims = signer.Verify(input);
  // Only a token this signer made verifies; re-signing its claims verifies too.
  if (claims.ok() && !signer.Verify(signer.Sign(*claims)).ok()) __builtin_trap();

  // The input as claims: what Sign writes, Verify reads back unchanged.
  attex::auction::BillingClaims made;
  made.campaign_id = input.substr(0, size / 2);
  made.request_id = input.substr(size / 2);
  made.price_cpm_micros = static_cast<int64_t>(size) * 1000;
  bool printable = true;
  for (unsigned char ch : input) printable &= ch >= 0x20;
  auto back = signer.Verify(signer.Sign(made));
  if (printable && (!back.ok() || back->campaign_id != made.campaign_id ||
                    back->request_id != made.request_id)) {
    __builtin_trap();
  }
  return 0;
}
