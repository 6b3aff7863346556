// Deterministic hashing and pseudo-random numbers for the default model.
// Everything here is a pure function of its arguments, identical on every
// platform, and allocation-free.
#ifndef ATTEX_ATTENTION_HASHING_H_
#define ATTEX_ATTENTION_HASHING_H_

#include <cstdint>
#include <string_view>

namespace attex::attention {

inline constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;

// 64-bit FNV-1a of `bytes`, continuing from `hash`, so that a prefix and a
// body can be hashed without building the concatenated string.
constexpr uint64_t Fnv1a64(std::string_view bytes, uint64_t hash = kFnvOffsetBasis) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// The splitmix64 finaliser: a bijection that spreads every input bit.
constexpr uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// The bucket of E for a token hashed from `hash` (an Fnv1a64 value).
// FNV-1a's low bits are weak for short strings; Mix64 fixes that.
inline uint64_t BucketOf(uint64_t hash, int buckets) {
  return Mix64(hash) % static_cast<uint64_t>(buckets);
}

// The splitmix64 generator: tiny, fast, and good enough for weights.
class SplitMix64 final {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return Mix64(state_);
  }

 private:
  uint64_t state_;
};

// Fills out[0..n) with independent N(0,1) draws (Box-Muller) from the
// stream identified by (seed, stream).
void FillGaussian(uint64_t seed, uint64_t stream, float* out, int n);

}  // namespace attex::attention

#endif  // ATTEX_ATTENTION_HASHING_H_
