#include "client/load/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace attex::load {

// Values below kSub get a bucket each; above, the top kSubBits bits after
// the leading one pick the sub-bucket of the value's power of two.
int Histogram::BucketOf(int64_t value) {
  if (value < kSub) return static_cast<int>(std::max<int64_t>(value, 0));
  const auto v = static_cast<uint64_t>(value);
  const int exponent = 63 - std::countl_zero(v);  // >= kSubBits
  const int shift = exponent - kSubBits;
  const int sub = static_cast<int>((v >> shift) & (kSub - 1));
  return (shift + 1) * kSub + sub;
}

// The top buckets lie past int64's range (no int64 value falls in them):
// their bounds saturate at its maximum.
int64_t Histogram::LowerBound(int bucket) {
  if (bucket < kSub) return bucket;
  const int shift = bucket / kSub - 1;
  const uint64_t mantissa = static_cast<uint64_t>(kSub) + bucket % kSub;
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  if (mantissa > (kMax >> shift)) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(mantissa << shift);
}

int64_t Histogram::UpperBound(int bucket) {
  if (bucket < kSub) return bucket;
  const int shift = bucket / kSub - 1;
  const uint64_t hi = static_cast<uint64_t>(LowerBound(bucket)) + ((uint64_t{1} << shift) - 1);
  return static_cast<int64_t>(std::min<uint64_t>(hi, std::numeric_limits<int64_t>::max()));
}

void Histogram::Record(int64_t value) {
  value = std::max<int64_t>(value, 0);
  ++counts_[BucketOf(value)];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::Merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

int64_t Histogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * count_)));
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(UpperBound(i), min(), max_);
  }
  return max_;
}

void Histogram::ForEachBucket(const std::function<void(int64_t, int64_t, int64_t)>& fn) const {
  for (int i = 0; i < kBuckets; ++i) {
    if (counts_[i] > 0) fn(LowerBound(i), UpperBound(i), counts_[i]);
  }
}

}  // namespace attex::load
