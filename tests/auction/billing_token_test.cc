#include "auction/billing_token.h"

#include "gtest/gtest.h"

namespace attex::auction {
namespace {

BillingClaims SampleClaims() {
  BillingClaims c;
  c.campaign_id = "cmp-1";
  c.creative_id = "cr-1";
  c.advertiser_id = "acc-3";
  c.platform_id = "acc-2";
  c.slot_id = "top";
  c.request_id = "req-42";
  c.user_key = "u-7";
  c.price_cpm_micros = 1'234'567;
  c.issued_ms = 1000;
  c.expires_ms = 2000;
  c.nonce = 99;
  return c;
}

TEST(BillingTokenTest, SignedClaimsVerifyUnchanged) {
  TokenSigner signer(std::string(32, 'k'));
  auto claims = signer.Verify(signer.Sign(SampleClaims()));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->campaign_id, "cmp-1");
  EXPECT_EQ(claims->platform_id, "acc-2");
  EXPECT_EQ(claims->user_key, "u-7");
  EXPECT_EQ(claims->price_cpm_micros, 1'234'567);
  EXPECT_EQ(claims->expires_ms, 2000);
  EXPECT_EQ(claims->nonce, 99u);
  EXPECT_FALSE(claims->test);
}

TEST(BillingTokenTest, AnotherSecretsTokenIsRejected) {
  TokenSigner ours(std::string(32, 'k')), theirs(std::string(32, 'x'));
  EXPECT_FALSE(ours.Verify(theirs.Sign(SampleClaims())).ok());
}

TEST(BillingTokenTest, TamperedPayloadIsRejected) {
  TokenSigner signer(std::string(32, 'k'));
  std::string token = signer.Sign(SampleClaims());
  token[5] = token[5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(signer.Verify(token).ok());
}

TEST(BillingTokenTest, MalformedTokensAreRejectedNotCrashed) {
  TokenSigner signer(std::string(32, 'k'));
  for (const char* bad : {"", "v1.", "v1..", "v2.abc.def", "v1.abc", "v1.!!!.???", "garbage"}) {
    EXPECT_FALSE(signer.Verify(bad).ok()) << bad;
  }
}

TEST(BillingTokenTest, EqualClaimsWithDifferentNoncesGiveDifferentTokens) {
  TokenSigner signer(std::string(32, 'k'));
  BillingClaims a = SampleClaims(), b = SampleClaims();
  b.nonce = 100;
  EXPECT_NE(signer.Sign(a), signer.Sign(b));
}

TEST(BillingTokenTest, Sha256HexIsTheKnownDigest) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace attex::auction
