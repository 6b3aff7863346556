// Currency rates (server/openrtb/currency.h): the file format, its errors
// naming the line, and conversions exact in integers with the stated
// rounding.
#include "server/openrtb/currency.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace attex::openrtb {
namespace {

TEST(CurrencyRatesTest, ReadsOneCurrencyALineSkippingCommentsAndBlankLines) {
  auto rates = CurrencyRates::Parse(
      "# Rates of 2026-12-01\n\nEUR 1.0842\r\nJPY\t0.0066\n  GBP   1.27  \nUSD 1\n", "r.txt",
      "USD");
  ASSERT_TRUE(rates.ok()) << rates.status();
  EXPECT_EQ(rates->account(), "USD");
  EXPECT_EQ(rates->size(), 3u);
  EXPECT_EQ(rates->Rate("EUR"), 1'084'200'000);
  EXPECT_EQ(rates->Rate("JPY"), 6'600'000);
  EXPECT_EQ(rates->Rate("GBP"), 1'270'000'000);
  EXPECT_EQ(rates->Rate("USD"), CurrencyRates::kOne);
  EXPECT_EQ(rates->Rate("CHF"), 0);
  EXPECT_EQ(CurrencyRates("EUR").Rate("EUR"), CurrencyRates::kOne);
  EXPECT_EQ(CurrencyRates("EUR").Rate("USD"), 0);
}

TEST(CurrencyRatesTest, ErrorsNameTheFileAndTheLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"EUR 1.1\nEUR", "r.txt:2: expected \"CODE RATE\" (e.g. \"EUR 1.0842\"), not \"EUR\""},
      {"eur 1.1", "r.txt:1: \"eur\" is not an ISO 4217 code such as EUR (three capital letters)"},
      {"EUR 1,1", "r.txt:1: the rate of EUR, \"1,1\", is not a decimal number such as 1.0842"},
      {"EUR -1", "r.txt:1: the rate of EUR, \"-1\", is not a decimal number such as 1.0842"},
      {"EUR 0", "r.txt:1: the rate of EUR, \"0\", must be 0.000001 to 1000000"},
      {"EUR 0.0000001", "r.txt:1: the rate of EUR, \"0.0000001\", must be 0.000001 to 1000000"},
      {"EUR 1.0000000001",
       "r.txt:1: the rate of EUR, \"1.0000000001\", has more than 9 digits after the point"},
      {"EUR 2000000", "r.txt:1: the rate of EUR, \"2000000\", is above 1000000"},
      {"# c\nEUR 1.1\nEUR 1.2", "r.txt:3: EUR has a rate already"},
      {"USD 1.01", "r.txt:1: USD is the account currency: its rate is 1"},
      {"EUR 1.1 extra",
       "r.txt:1: expected \"CODE RATE\" (e.g. \"EUR 1.0842\"), not \"EUR 1.1 extra\""},
  };
  for (const Case& c : cases) {
    auto rates = CurrencyRates::Parse(c.text, "r.txt", "USD");
    ASSERT_FALSE(rates.ok()) << c.text;
    EXPECT_EQ(rates.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(rates.status().message(), c.message);
  }
}

TEST(CurrencyRatesTest, ConversionsAreExactAndRoundAsStated) {
  const int64_t eur = 1'084'200'000;  // 1 EUR = 1.0842 USD.
  // 2.5 EUR = 2.7105 USD exactly.
  EXPECT_EQ(CurrencyRates::ToAccountUp(2'500'000, eur), 2'710'500);
  EXPECT_EQ(CurrencyRates::ToAccountDown(2'500'000, eur), 2'710'500);
  // 1 micro of EUR is 1.0842 micros of USD: up 2, down 1.
  EXPECT_EQ(CurrencyRates::ToAccountUp(1, eur), 2);
  EXPECT_EQ(CurrencyRates::ToAccountDown(1, eur), 1);
  // 1.555676 USD = 1.434860... EUR: down.
  EXPECT_EQ(CurrencyRates::FromAccountDown(1'555'676, eur), 1'434'860);
  // The largest values stay exact (128-bit products), and past int64 saturate.
  EXPECT_EQ(CurrencyRates::ToAccountUp(1'000'000'000'000, 1'000'000'000'000'000),
            1'000'000'000'000'000'000);
  EXPECT_EQ(CurrencyRates::FromAccountDown(1'000'000'000'000, 1'000), 1'000'000'000'000'000'000);
  EXPECT_EQ(CurrencyRates::ToAccountUp(1'000'000'000'000'000, 1'000'000'000'000'000),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(CurrencyRates::FromAccountDown(std::numeric_limits<int64_t>::max(), 1'000),
            std::numeric_limits<int64_t>::max());
}

TEST(CurrencyRatesTest, APriceConvertedBackIsNeverBelowTheFloorItCleared) {
  // floor (request currency) -> account, up; price >= that floor -> back,
  // down: still >= the floor, for any rate.
  const int64_t rates[] = {1'000,         6'600'000,     999'999'999,
                           1'084'200'000, 7'777'777'777, 1'000'000'000'000'000};
  for (int64_t rate : rates) {
    for (int64_t floor = 0; floor < 2'000; floor += 37) {
      const int64_t account = CurrencyRates::ToAccountUp(floor, rate);
      EXPECT_GE(CurrencyRates::FromAccountDown(account, rate), floor) << rate << " " << floor;
    }
  }
}

}  // namespace
}  // namespace attex::openrtb
