// The fused pass's inner loops, written once with GCC vector extensions and
// compiled three times (fused_portable.cc, fused_avx2.cc, fused_avx512.cc)
// with different target flags and vector widths (one zmm register under
// AVX-512, one ymm under AVX2, one xmm on the baseline). Include only from
// those files. Everything here has internal linkage, so the three copies never
// merge at link time (an AVX-512 copy must not serve the portable path); for
// the same reason the kernels call no inline function of another library.
#ifndef ATTEX_ATTENTION_FUSED_KERNEL_H_
#define ATTEX_ATTENTION_FUSED_KERNEL_H_

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "attention/fused.h"
#include "attention/fused_math.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace fused_kernel {
namespace {

using attex::attention::KeyFormat;
using attex::attention::TiledKeys;
using attex::attention::internal::PassArgs;
using attex::attention::internal::ScanArgs;

constexpr int kLanes = TiledKeys::kTileRows;  // Ads per tile.
static_assert(kLanes % kW == 0);

// Column j of a tile (16 ads' j-th coordinate) as floats.
template <KeyFormat F>
inline V Column(const uint8_t* tile, int j, int o) {
  if constexpr (F == KeyFormat::kFloat32) {
    return Load(reinterpret_cast<const float*>(tile) + j * kLanes + o);
  } else if constexpr (F == KeyFormat::kBfloat16) {
    VU16 h;
    std::memcpy(&h, tile + (j * kLanes + o) * 2, sizeof(h));
    const VU32 bits = __builtin_convertvector(h, VU32) << 16;
    V v;
    std::memcpy(&v, &bits, sizeof(v));
    return v;
  } else {
    // GCC scalarises a generic int8 -> int32 conversion: sign-extend natively.
    const uint8_t* p = tile + j * kLanes + o;
#if defined(__AVX512F__)
    const __m512i x = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return reinterpret_cast<V>(_mm512_cvtepi32_ps(x));
#elif defined(__AVX2__)
    const __m256i x = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    return reinterpret_cast<V>(_mm256_cvtepi32_ps(x));
#else
    static_assert(kW == 4);
    int32_t word;
    std::memcpy(&word, p, sizeof(word));
    if constexpr (std::endian::native == std::endian::little) {
      const VI x = ((VI{} + word) << VI{24, 16, 8, 0}) >> 24;
      return __builtin_convertvector(x, V);
    } else {
      const VI x = ((VI{} + word) << VI{0, 8, 16, 24}) >> 24;
      return __builtin_convertvector(x, V);
    }
#endif
  }
}

constexpr int kFlushTiles = 64;  // Float partial sums move to doubles this often.

// kDh: the head width when known at compile time (the common 16 and 32 are
// unrolled with four accumulators), 0 otherwise. kFixed: a.offsets holds,
// per slot and head, a bound no score exceeds and that no eligible score
// is more than 80 under (so that exp(score - bound) stays a normal float):
// the sums are taken relative to it, with no running max to keep (no
// compare, no branch, no rescaling). Otherwise the running max per lane.
template <KeyFormat F, int kDh, bool kFixed>
void PassImpl(const PassArgs& a) {
  const int d = a.d_model;
  const int heads = a.heads;
  const int dh = kDh > 0 ? kDh : d / heads;
  const int64_t rows = a.rows;
  const int64_t tiles = (rows + kLanes - 1) / kLanes;
  const int slots = a.slots;
  const int sh = slots * heads;
  const size_t slot_stride = static_cast<size_t>(tiles) * heads * kLanes;
  const float kNegInf = -std::numeric_limits<float>::infinity();

  // Running state per (slot, head) and lane, in the caller's `state`
  // (L1-resident): the lane max, and float partial sums of exp(score - max)
  // and of exp(score - max) x value since the last flush to the doubles.
  float* const m_state = a.state;
  float* const z_state = a.state + sh * kLanes;
  float* const c_state = a.state + 2 * sh * kLanes;
  for (int k = 0; k < sh * kLanes; ++k) {
    m_state[k] = kFixed ? a.offsets[k / kLanes] : kNegInf;
    z_state[k] = 0.0f;
    c_state[k] = 0.0f;
    a.lane_z[k] = 0.0;
    a.lane_c[k] = 0.0;
  }
  VI eligible[attex::attention::kMaxPassSlots];
  for (int s = 0; s < slots; ++s) eligible[s] = VI{};

  auto flush = [&] {
    for (int k = 0; k < sh * kLanes; ++k) {
      a.lane_z[k] += z_state[k];
      a.lane_c[k] += c_state[k];
      z_state[k] = 0.0f;
      c_state[k] = 0.0f;
    }
  };

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
    const uint8_t* tile = a.tiles + t * a.tile_bytes;
    float* tile_scores = a.scores + t * heads * kLanes;
    for (int o = 0; o < kLanes; o += kW) {
      VU16 mask16;
      std::memcpy(&mask16, mask_ptr + o, sizeof(mask16));
      const VI mbits = __builtin_convertvector(mask16, VI);
      if (!Any(mbits)) {
        // No ad here is eligible for any slot: not scored.
        for (int s = 0; s < slots; ++s) {
          for (int h = 0; h < heads; ++h) {
            Store(tile_scores + s * slot_stride + h * kLanes + o, Splat(kNegInf));
          }
        }
        continue;
      }
      const V values = Load(value_ptr + o);
      V ad_scale = Splat(1.0f);
      if constexpr (F == KeyFormat::kInt8) {
        ad_scale = Load(reinterpret_cast<const float*>(tile + kLanes * d) + o);
      }
      for (int s = 0; s < slots; ++s) {
        const VI ok = (mbits & (1 << s)) != 0;
        float* out = tile_scores + s * slot_stride + o;
        if (!Any(ok)) {
          for (int h = 0; h < heads; ++h) Store(out + h * kLanes, Splat(kNegInf));
          continue;
        }
        eligible[s] -= ok;
        const float* q = a.queries + s * d;
        for (int h = 0; h < heads; ++h) {
          const int j0 = h * dh;
          V score;
          if constexpr (kDh > 0 && kDh % 4 == 0) {
            V acc[4] = {};
#pragma GCC unroll 32
            for (int jj = 0; jj < kDh; jj += 4) {
              for (int u = 0; u < 4; ++u)
                acc[u] += Column<F>(tile, j0 + jj + u, o) * q[j0 + jj + u];
            }
            score = (acc[0] + acc[1]) + (acc[2] + acc[3]);
          } else {
            V acc0 = Splat(0.0f), acc1 = Splat(0.0f);
            int jj = 0;
            for (; jj + 2 <= dh; jj += 2) {
              acc0 += Column<F>(tile, j0 + jj, o) * q[j0 + jj];
              acc1 += Column<F>(tile, j0 + jj + 1, o) * q[j0 + jj + 1];
            }
            if (jj < dh) acc0 += Column<F>(tile, j0 + jj, o) * q[j0 + jj];
            score = acc0 + acc1;
          }
          if constexpr (F == KeyFormat::kInt8) score *= ad_scale;
          score = ok ? score : Splat(kNegInf);
          Store(out + h * kLanes, score);

          const int k = (s * heads + h) * kLanes + o;
          if constexpr (kFixed) {
            const V e = ok ? Exp(score - a.offsets[s * heads + h]) : Splat(0.0f);
            Store(z_state + k, Load(z_state + k) + e);
            Store(c_state + k, Load(c_state + k) + e * values);
            continue;
          }
          const V m_old = Load(m_state + k);
          const V m_new = Max(m_old, score);
          const VI grew = m_new > m_old;
          if (Any(grew)) [[unlikely]] {
            // Rescale what was summed relative to the old max.
            const V r = grew ? Exp(m_old - m_new) : Splat(1.0f);
            Store(z_state + k, Load(z_state + k) * r);
            Store(c_state + k, Load(c_state + k) * r);
            for (int l = 0; l < kW; ++l) {
              if (m_new[l] > m_old[l]) {
                const double rd = std::exp(static_cast<double>(m_old[l]) - m_new[l]);
                a.lane_z[k + l] *= rd;
                a.lane_c[k + l] *= rd;
              }
            }
            Store(m_state + k, m_new);
          }
          const V e = ok ? Exp(score - m_new) : Splat(0.0f);
          Store(z_state + k, Load(z_state + k) + e);
          Store(c_state + k, Load(c_state + k) + e * values);
        }
      }
    }
    if ((t + 1) % kFlushTiles == 0) flush();
  }
  flush();
  std::memcpy(a.lane_max, m_state, sizeof(float) * sh * kLanes);
  for (int s = 0; s < slots; ++s) {
    int64_t total = 0;
    for (int l = 0; l < kW; ++l) total += eligible[s][l];
    a.eligible[s] = total;
  }
}

template <KeyFormat F, bool kFixed>
void PassForWidth(const PassArgs& a) {
  switch (a.d_model / a.heads) {
    case 16:
      return PassImpl<F, 16, kFixed>(a);
    case 32:
      return PassImpl<F, 32, kFixed>(a);
    default:
      return PassImpl<F, 0, kFixed>(a);
  }
}

template <KeyFormat F>
void PassForWidth(const PassArgs& a) {
  if (a.offsets != nullptr) return PassForWidth<F, true>(a);
  return PassForWidth<F, false>(a);
}

void Pass(const PassArgs& a) {
  switch (a.format) {
    case KeyFormat::kFloat32:
      return PassForWidth<KeyFormat::kFloat32>(a);
    case KeyFormat::kBfloat16:
      return PassForWidth<KeyFormat::kBfloat16>(a);
    case KeyFormat::kInt8:
      return PassForWidth<KeyFormat::kInt8>(a);
  }
}

// Eligible lanes of tiles [begin, ...) whose weight x value, computed in
// float, is at least the threshold, as (row, weight x value) pairs; stops
// after the tile that brings the count within 16 of `capacity`. Returns the
// count; *next = the first tile not scanned. The weight is a mean over heads
// of exp(score_h - log_norm_h); the mean of ExpUpperBound's (a few
// instructions each, at most 7% above) bounds it closely, so lanes under
// the threshold by that bound cost no exp. (score_h - log_norm_h <= 0: the
// log normaliser is at least every eligible score.)
int Scan(const ScanArgs& a, int64_t begin, int64_t* next, int64_t* rows_out, float* u_out,
         int capacity) {
  const int heads = a.heads;
  const float threshold = a.threshold;
  const float inv_heads = 1.0f / heads;
  const int64_t tiles = (a.rows + kLanes - 1) / kLanes;
  int n = 0;
  int64_t t = begin;
  float tail[kLanes];
  for (; t < tiles && n + kLanes <= capacity; ++t) {
    const float* tile = a.scores + t * heads * kLanes;
    const float* value_ptr = a.values + t * kLanes;
    if ((t + 1) * kLanes > a.rows) {
      for (int64_t l = 0; l < kLanes; ++l) tail[l] = t * kLanes + l < a.rows ? value_ptr[l] : 0.0f;
      value_ptr = tail;
    }
    for (int o = 0; o < kLanes; o += kW) {
      const V s0 = Load(tile + o);
      const VI eligible = s0 > -std::numeric_limits<float>::infinity();
      if (!Any(eligible)) continue;
      const V values = Load(value_ptr + o);
      V bound = ExpUpperBound(s0 - a.log_norm[0]);
      for (int h = 1; h < heads; ++h) {
        bound += ExpUpperBound(Load(tile + h * kLanes + o) - a.log_norm[h]);
      }
      if (!Any(eligible & (bound * inv_heads * values >= threshold))) continue;
      V w = Exp(s0 - a.log_norm[0]);
      for (int h = 1; h < heads; ++h) w += Exp(Load(tile + h * kLanes + o) - a.log_norm[h]);
      const V u = w * inv_heads * values;
      const VI pass = eligible & (u >= threshold);
      if (!Any(pass)) continue;
      for (int l = 0; l < kW; ++l) {
        if (pass[l]) {
          rows_out[n] = t * kLanes + o + l;
          u_out[n++] = u[l];
        }
      }
    }
  }
  *next = t;
  return n;
}

}  // namespace
}  // namespace fused_kernel

#endif  // ATTEX_ATTENTION_FUSED_KERNEL_H_
