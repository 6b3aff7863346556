#include "client/load/histogram.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace attex::load {
namespace {

TEST(HistogramTest, EveryValueFallsInsideItsBucket) {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{63}, int64_t{64}, int64_t{65}, int64_t{1000},
                    int64_t{123456789}, int64_t{1} << 40, INT64_MAX / 3}) {
    const int b = Histogram::BucketOf(v);
    EXPECT_LE(Histogram::LowerBound(b), v) << v;
    EXPECT_GE(Histogram::UpperBound(b), v) << v;
    EXPECT_LT(b, Histogram::kBuckets);
  }
}

TEST(HistogramTest, BucketsAreNarrowerThanTwoPercentOfTheirValues) {
  // Up to the bucket of the largest int64 (the ones above hold no value).
  const int last = Histogram::BucketOf(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(Histogram::UpperBound(last), std::numeric_limits<int64_t>::max());
  for (int b = Histogram::kSub; b < last; b += 7) {
    const double lo = Histogram::LowerBound(b), hi = Histogram::UpperBound(b);
    EXPECT_LE((hi - lo) / lo, 0.016) << b;
    EXPECT_EQ(Histogram::UpperBound(b) + 1, Histogram::LowerBound(b + 1)) << b;
  }
}

TEST(HistogramTest, PercentilesOfUniformValuesAreWithinBucketPrecision) {
  Histogram h;
  for (int64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);
  EXPECT_EQ(h.count(), 100000);
  EXPECT_NEAR(h.Percentile(0.5), 50000 * 1000.0, 50000 * 1000.0 * 0.02);
  EXPECT_NEAR(h.Percentile(0.99), 99000 * 1000.0, 99000 * 1000.0 * 0.02);
  EXPECT_EQ(h.Percentile(1.0), 100000 * 1000);
  EXPECT_EQ(h.max(), 100000 * 1000);
  EXPECT_EQ(h.min(), 1000);
}

TEST(HistogramTest, OneOutlierInAThousandIsTheP999ButNotTheP99) {
  Histogram h;
  for (int i = 0; i < 999; ++i) h.Record(1'000'000);
  h.Record(200'000'000);
  EXPECT_LT(h.Percentile(0.99), 1'100'000);
  EXPECT_LT(h.Percentile(0.999), 1'100'000);
  EXPECT_EQ(h.Percentile(0.9999), 200'000'000);
}

TEST(HistogramTest, MergeAddsCounts) {
  Histogram a, b;
  a.Record(10);
  b.Record(1'000'000);
  b.Record(5);
  a.Merge(b);
  EXPECT_EQ(a.count(), 3);
  EXPECT_EQ(a.min(), 5);
  EXPECT_EQ(a.max(), 1'000'000);
}

}  // namespace
}  // namespace attex::load
