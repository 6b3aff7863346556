// The fused pass's inner loops, written once with GCC vector extensions and
// compiled three times (fused_portable.cc, fused_avx2.cc, fused_avx512.cc)
// with different target flags: a 16-lane vector is one zmm register under
// AVX-512, two ymm under AVX2 and four xmm on the baseline. Include only from
// those files. Everything here has internal linkage, so the three copies never
// merge at link time (an AVX-512 copy must not serve the portable path); for
// the same reason the kernels call no inline function of another library.
#ifndef ATTEX_ATTENTION_FUSED_KERNEL_H_
#define ATTEX_ATTENTION_FUSED_KERNEL_H_

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "attention/fused.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace fused_kernel {
namespace {

using attex::attention::KeyFormat;
using attex::attention::TiledKeys;
using attex::attention::internal::PassArgs;
using attex::attention::internal::ScanArgs;

constexpr int kLanes = TiledKeys::kTileRows;
using V = float __attribute__((vector_size(64)));
using VI = int32_t __attribute__((vector_size(64)));
using VU16 = uint16_t __attribute__((vector_size(32)));
using VI8 = int8_t __attribute__((vector_size(16)));
using VU32 = uint32_t __attribute__((vector_size(64)));

inline V Load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void Store(float* p, V v) { std::memcpy(p, &v, sizeof(v)); }
inline V Splat(float x) { return V{} + x; }

inline bool Any(VI m) {
#if defined(__AVX512F__)
  const __m512i x = reinterpret_cast<__m512i>(m);
  return _mm512_test_epi32_mask(x, x) != 0;
#elif defined(__AVX2__)
  __m256i lo, hi;
  std::memcpy(&lo, &m, 32);
  std::memcpy(&hi, reinterpret_cast<const char*>(&m) + 32, 32);
  const __m256i x = _mm256_or_si256(lo, hi);
  return !_mm256_testz_si256(x, x);
#else
  int32_t lanes[kLanes];
  std::memcpy(lanes, &m, sizeof(lanes));
  int32_t any = 0;
  for (int l = 0; l < kLanes; ++l) any |= lanes[l];
  return any != 0;
#endif
}

inline V Max(V a, V b) { return a > b ? a : b; }

// exp(x) to about 1 ulp (Cephes' expf polynomial); 0 below -87.3 (so
// exp(-inf) = 0), x clamped to 88.3 above.
inline V Exp(V x) {
  const VI tiny = x < -87.3f;
  x = x > 88.3f ? Splat(88.3f) : x;
  x = x < -87.3f ? Splat(-87.3f) : x;
  const V t = x * 1.44269504088896341f;
  const VI n = __builtin_convertvector(t + (t >= 0.0f ? Splat(0.5f) : Splat(-0.5f)), VI);
  const V nf = __builtin_convertvector(n, V);
  V r = x - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  V p = Splat(1.9875691500E-4f);
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * (r * r) + r + 1.0f;
  const VI bits = (n + 127) << 23;
  V scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  const V e = p * scale;
  return tiny ? Splat(0.0f) : e;
}

// Column j of a tile (16 ads' j-th coordinate) as floats.
template <KeyFormat F>
inline V Column(const uint8_t* tile, int j) {
  if constexpr (F == KeyFormat::kFloat32) {
    return Load(reinterpret_cast<const float*>(tile) + j * kLanes);
  } else if constexpr (F == KeyFormat::kBfloat16) {
    VU16 h;
    std::memcpy(&h, tile + j * kLanes * 2, sizeof(h));
    const VU32 bits = __builtin_convertvector(h, VU32) << 16;
    V v;
    std::memcpy(&v, &bits, sizeof(v));
    return v;
  } else {
    VI8 b;
    std::memcpy(&b, tile + j * kLanes, sizeof(b));
    return __builtin_convertvector(__builtin_convertvector(b, VI), V);
  }
}

constexpr int kFlushTiles = 64;  // Float partial sums move to doubles this often.

template <KeyFormat F>
void PassImpl(const PassArgs& a) {
  const int d = a.d_model;
  const int heads = a.heads;
  const int dh = d / heads;
  const int64_t rows = a.rows;
  const int64_t tiles = (rows + kLanes - 1) / kLanes;
  auto tile_at = [&](int64_t t) { return a.tiles + t * a.tile_bytes; };
  const int slots = a.slots;
  const int sh = slots * heads;
  const float kNegInf = -std::numeric_limits<float>::infinity();

  // Running state per (slot, head), in the caller's `state` (L1-resident):
  // lane max, and float partial sums of exp(score - max) and of
  // exp(score - max) x value since the last flush to the double sums.
  float* const m_state = a.state;
  float* const z_state = a.state + sh * kLanes;
  float* const c_state = a.state + 2 * sh * kLanes;
  for (int k = 0; k < sh; ++k) {
    Store(m_state + k * kLanes, Splat(kNegInf));
    Store(z_state + k * kLanes, Splat(0.0f));
    Store(c_state + k * kLanes, Splat(0.0f));
    for (int l = 0; l < kLanes; ++l) {
      a.lane_z[k * kLanes + l] = 0.0;
      a.lane_c[k * kLanes + l] = 0.0;
    }
  }
  VI eligible[attex::attention::kMaxPassSlots];
  for (int s = 0; s < slots; ++s) eligible[s] = VI{};

  auto flush = [&] {
    for (int k = 0; k < sh; ++k) {
      for (int l = 0; l < kLanes; ++l) {
        a.lane_z[k * kLanes + l] += z_state[k * kLanes + l];
        a.lane_c[k * kLanes + l] += c_state[k * kLanes + l];
      }
      Store(z_state + k * kLanes, Splat(0.0f));
      Store(c_state + k * kLanes, Splat(0.0f));
    }
  };

  V max_value = Splat(0.0f);
  uint16_t tail_mask[kLanes];
  float tail_values[kLanes];
  for (int64_t t = 0; t < tiles; ++t) {
    const uint16_t* mask_ptr = a.mask + t * kLanes;
    const float* value_ptr = a.values + t * kLanes;
    if ((t + 1) * kLanes > rows) {  // The last, partial tile.
      const int64_t n = rows - t * kLanes;
      for (int l = 0; l < kLanes; ++l) {
        tail_mask[l] = l < n ? mask_ptr[l] : 0;
        tail_values[l] = l < n ? value_ptr[l] : 0.0f;
      }
      mask_ptr = tail_mask;
      value_ptr = tail_values;
    }
    VU16 mask16;
    std::memcpy(&mask16, mask_ptr, sizeof(mask16));
    const VI mbits = __builtin_convertvector(mask16, VI);
    float* tile_scores = a.scores + t * heads * kLanes;
    const size_t slot_stride = static_cast<size_t>(tiles) * heads * kLanes;
    if (!Any(mbits)) {
      // No ad of this tile is eligible anywhere: not scored.
      for (int s = 0; s < slots; ++s) {
        for (int h = 0; h < heads; ++h) {
          Store(tile_scores + s * slot_stride + h * kLanes, Splat(kNegInf));
        }
      }
      continue;
    }
    const uint8_t* tile = tile_at(t);
    const V values = Load(value_ptr);
    max_value = Max(max_value, values);
    V ad_scale = Splat(1.0f);
    if constexpr (F == KeyFormat::kInt8) {
      ad_scale = Load(reinterpret_cast<const float*>(tile + kLanes * d));
    }
    for (int s = 0; s < slots; ++s) {
      const VI ok = (mbits & (1 << s)) != 0;
      float* out = tile_scores + s * slot_stride;
      if (!Any(ok)) {
        for (int h = 0; h < heads; ++h) Store(out + h * kLanes, Splat(kNegInf));
        continue;
      }
      eligible[s] -= ok;
      const float* q = a.queries + s * d;
      for (int h = 0; h < heads; ++h) {
        V acc0 = Splat(0.0f), acc1 = Splat(0.0f);
        const int j0 = h * dh;
        int jj = 0;
        for (; jj + 2 <= dh; jj += 2) {
          acc0 += Column<F>(tile, j0 + jj) * q[j0 + jj];
          acc1 += Column<F>(tile, j0 + jj + 1) * q[j0 + jj + 1];
        }
        if (jj < dh) acc0 += Column<F>(tile, j0 + jj) * q[j0 + jj];
        V score = acc0 + acc1;
        if constexpr (F == KeyFormat::kInt8) score *= ad_scale;
        score = ok ? score : Splat(kNegInf);
        Store(out + h * kLanes, score);

        const int k = s * heads + h;
        float* const mk = m_state + k * kLanes;
        float* const zk = z_state + k * kLanes;
        float* const ck = c_state + k * kLanes;
        const V m_old = Load(mk);
        const V m_new = Max(m_old, score);
        const VI grew = m_new > m_old;
        if (Any(grew)) [[unlikely]] {
          // Rescale what was summed relative to the old max.
          const V r = grew ? Exp(m_old - m_new) : Splat(1.0f);
          Store(zk, Load(zk) * r);
          Store(ck, Load(ck) * r);
          float ml_old[kLanes], ml_new[kLanes];
          Store(ml_old, m_old);
          Store(ml_new, m_new);
          for (int l = 0; l < kLanes; ++l) {
            if (ml_new[l] > ml_old[l]) {
              const double rd = std::exp(static_cast<double>(ml_old[l]) - ml_new[l]);
              a.lane_z[k * kLanes + l] *= rd;
              a.lane_c[k * kLanes + l] *= rd;
            }
          }
          Store(mk, m_new);
        }
        const V e = ok ? Exp(score - m_new) : Splat(0.0f);
        Store(zk, Load(zk) + e);
        Store(ck, Load(ck) + e * values);
      }
    }
    if ((t + 1) % kFlushTiles == 0) flush();
  }
  flush();
  float vmax[kLanes];
  Store(vmax, max_value);
  *a.max_value = 0.0f;
  for (int l = 0; l < kLanes; ++l) *a.max_value = vmax[l] > *a.max_value ? vmax[l] : *a.max_value;
  std::memcpy(a.lane_max, m_state, sizeof(float) * sh * kLanes);
  for (int s = 0; s < slots; ++s) {
    int32_t lanes[kLanes];
    std::memcpy(lanes, &eligible[s], sizeof(lanes));
    int64_t total = 0;
    for (int l = 0; l < kLanes; ++l) total += lanes[l];
    a.eligible[s] = total;
  }
}

void Pass(const PassArgs& a) {
  switch (a.format) {
    case KeyFormat::kFloat32:
      return PassImpl<KeyFormat::kFloat32>(a);
    case KeyFormat::kBfloat16:
      return PassImpl<KeyFormat::kBfloat16>(a);
    case KeyFormat::kInt8:
      return PassImpl<KeyFormat::kInt8>(a);
  }
}

// Lanes of tiles [begin, ...) whose p = max_h(score_h - log_norm_h) is at
// least the threshold, as (row, p) pairs; stops after the tile that brings
// the count within 16 of `capacity`. Returns the count; *next = the first
// tile not scanned.
int Scan(const ScanArgs& a, int64_t begin, int64_t* next, int64_t* rows_out, float* p_out,
         int capacity) {
  const int heads = a.heads;
  const float threshold = a.threshold;
  int n = 0;
  int64_t t = begin;
  for (; t < a.tiles && n + kLanes <= capacity; ++t) {
    const float* tile = a.scores + t * heads * kLanes;
    V p = Load(tile) - a.log_norm[0];
    for (int h = 1; h < heads; ++h) p = Max(p, Load(tile + h * kLanes) - a.log_norm[h]);
    const VI pass = p >= threshold;
    if (!Any(pass)) continue;
    float lanes[kLanes];
    Store(lanes, p);
    for (int l = 0; l < kLanes; ++l) {
      if (lanes[l] >= threshold) {
        rows_out[n] = t * kLanes + l;
        p_out[n++] = lanes[l];
      }
    }
  }
  *next = t;
  return n;
}

}  // namespace
}  // namespace fused_kernel

#endif  // ATTEX_ATTENTION_FUSED_KERNEL_H_
