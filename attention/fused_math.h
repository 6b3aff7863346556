// The fused kernels' vector arithmetic: GCC vector types of the including
// file's width, loads and stores, and exp with its bounds. Part of
// fused_kernel.h (included only from there, hence from fused_portable.cc,
// fused_avx2.cc and fused_avx512.cc); internal linkage for the same reason.
#ifndef ATTEX_ATTENTION_FUSED_MATH_H_
#define ATTEX_ATTENTION_FUSED_MATH_H_

#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace fused_kernel {
namespace {

// Lanes per vector: the including file defines ATTEX_FUSED_WIDTH as the
// native float width (16 for AVX-512, 8 for AVX2, 4 for the baseline), since
// GCC splits wider generic vectors badly (comparisons become scalar). A tile
// is processed as kLanes / kW sub-tiles.
constexpr int kW = ATTEX_FUSED_WIDTH;
using V = float __attribute__((vector_size(4 * kW)));
using VI = int32_t __attribute__((vector_size(4 * kW)));
using VU16 = uint16_t __attribute__((vector_size(2 * kW)));
using VU32 = uint32_t __attribute__((vector_size(4 * kW)));

inline V Load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void Store(float* p, V v) { std::memcpy(p, &v, sizeof(v)); }
inline V Splat(float x) { return V{} + x; }

inline bool Any(VI m) {
#if defined(__AVX512F__)
  static_assert(kW == 16);
  const __m512i x = reinterpret_cast<__m512i>(m);
  return _mm512_test_epi32_mask(x, x) != 0;
#elif defined(__AVX2__)
  static_assert(kW == 8);
  const __m256i x = reinterpret_cast<__m256i>(m);
  return !_mm256_testz_si256(x, x);
#else
  int32_t lanes[kW];
  std::memcpy(lanes, &m, sizeof(lanes));
  int32_t any = 0;
  for (int l = 0; l < kW; ++l) any |= lanes[l];
  return any != 0;
#endif
}

// Whether every lane of a comparison's result is set.
inline bool All(VI m) {
#if defined(__AVX512F__)
  const __m512i x = reinterpret_cast<__m512i>(m);
  return _mm512_test_epi32_mask(x, x) == 0xffff;
#elif defined(__AVX2__)
  return _mm256_movemask_ps(reinterpret_cast<__m256>(m)) == 0xff;
#else
  int32_t lanes[kW];
  std::memcpy(lanes, &m, sizeof(lanes));
  bool all = true;
  for (int l = 0; l < kW; ++l) all &= lanes[l] != 0;
  return all;
#endif
}

inline V Max(V a, V b) { return a > b ? a : b; }

// exp(x) = 2^n exp(r) for the nearest integer n to x log2(e), r = x - n ln 2
// (ln 2 in two parts, Cephes' expf): returns exp(r), from the polynomial.
inline V ExpReduced(V x, V nf) {
  V r = x - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  V p = Splat(1.9875691500E-4f);
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  return p * (r * r) + r + 1.0f;
}

// exp(x) to about 1 ulp; 0 below -87.3 (so exp(-inf) = 0), x clamped to
// 88.3 above. AVX-512 rounds and scales by 2^n in one instruction each
// (vrndscaleps, vscalefps).
inline V Exp(V x) {
#if defined(__AVX512F__)
  const __mmask16 normal =
      _mm512_cmp_ps_mask(reinterpret_cast<__m512>(x), _mm512_set1_ps(-87.3f), _CMP_GE_OQ);
  x = x > 88.3f ? Splat(88.3f) : x;
  x = x < -87.3f ? Splat(-87.3f) : x;
  const V nf =
      reinterpret_cast<V>(_mm512_roundscale_ps(reinterpret_cast<__m512>(x * 1.44269504088896341f),
                                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  const V p = ExpReduced(x, nf);
  return reinterpret_cast<V>(
      _mm512_maskz_scalef_ps(normal, reinterpret_cast<__m512>(p), reinterpret_cast<__m512>(nf)));
#else
  const VI tiny = x < -87.3f;
  x = x > 88.3f ? Splat(88.3f) : x;
  x = x < -87.3f ? Splat(-87.3f) : x;
  const V t = x * 1.44269504088896341f;
  const VI n = __builtin_convertvector(t + (t >= 0.0f ? Splat(0.5f) : Splat(-0.5f)), VI);
  const V p = ExpReduced(x, __builtin_convertvector(n, V));
  const VI bits = (n + 127) << 23;
  V scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  const V e = p * scale;
  return tiny ? Splat(0.0f) : e;
#endif
}

// At least exp(x) and at most 1.07 exp(x) (and at least 2^-126): the
// threshold scan's cheap upper bound. The float whose bits are (t + 127) x
// 2^23, t = x log2(e), is the chord of 2^t between integers (Schraudolph's
// trick), which lies above the convex 2^t; the 1e-4 added covers t's rounding.
inline V ExpUpperBound(V x) {
  V t = x * 1.44269504088896341f + (127.0f + 1e-4f);
  t = t > 253.0f ? Splat(253.0f) : t;
  t = t < 1.0f ? Splat(1.0f) : t;
  const VI bits = __builtin_convertvector(t * 8388608.0f, VI);
  V out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

}  // namespace
}  // namespace fused_kernel

#endif  // ATTEX_ATTENTION_FUSED_MATH_H_
