// A log-bucketed latency histogram in the manner of HdrHistogram: values
// (nanoseconds) fall into 2^kSubBits sub-buckets per power of two, so a
// recorded value is known to within 1/2^kSubBits (about 1.6%) of itself, in
// a fixed 30 KiB whatever the range. Not thread-safe; merge per-thread ones.
#ifndef ATTEX_CLIENT_LOAD_HISTOGRAM_H_
#define ATTEX_CLIENT_LOAD_HISTOGRAM_H_

#include <array>
#include <cstdint>
#include <functional>

namespace attex::load {

class Histogram final {
 public:
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  // Negative values count as 0.
  void Record(int64_t value);
  void Merge(const Histogram& other);
  void Clear() { *this = Histogram(); }

  int64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  // The smallest recorded value v such that at least q (in [0, 1]) of all
  // values are <= v, up to the bucket's precision (the bucket's upper end,
  // capped by max()). 0 when empty.
  int64_t Percentile(double q) const;

  // Calls fn(lower, upper, count) for every non-empty bucket, in order;
  // a bucket holds values in [lower, upper].
  void ForEachBucket(const std::function<void(int64_t, int64_t, int64_t)>& fn) const;

  static int BucketOf(int64_t value);
  static int64_t LowerBound(int bucket);
  static int64_t UpperBound(int bucket);

 private:
  std::array<int64_t, kBuckets> counts_{};
  int64_t count_ = 0;
  int64_t min_ = INT64_MAX;
  int64_t max_ = 0;
  int64_t sum_ = 0;
};

}  // namespace attex::load

#endif  // ATTEX_CLIENT_LOAD_HISTOGRAM_H_
