#include "attention/hashing.h"

#include <cmath>
#include <numbers>

namespace attex::attention {

void FillGaussian(uint64_t seed, uint64_t stream, float* out, int n) {
  // Mixing seed and stream separately keeps streams of neighbouring rows
  // (and neighbouring seeds) unrelated.
  SplitMix64 rng(Mix64(seed) ^ Mix64(stream * 0x9e3779b97f4a7c15ULL + 1));
  for (int i = 0; i < n; i += 2) {
    // 53-bit uniforms in (0, 1], so that log() never sees 0.
    const double u1 = static_cast<double>((rng.Next() >> 11) + 1) * 0x1.0p-53;
    const double u2 = static_cast<double>(rng.Next() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * std::numbers::pi * u2;
    out[i] = static_cast<float>(r * std::cos(theta));
    if (i + 1 < n) out[i + 1] = static_cast<float>(r * std::sin(theta));
  }
}

}  // namespace attex::attention
