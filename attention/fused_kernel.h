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
    // Int8 keys are kept in pairs of coordinates, ad by ad (see
    // TiledKeys::Int8Offset): coordinate j of lanes o.. is every other byte
    // from ((j / 2) x 16 + o) x 2 + j % 2. Sign-extended as int16 words,
    // then the byte wanted shifted into place.
    const uint8_t* p = tile + ((j >> 1) * kLanes + o) * 2;
#if defined(__AVX512F__)
    const __m512i w =
        _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    const __m512i x =
        (j & 1) ? _mm512_srai_epi32(w, 8) : _mm512_srai_epi32(_mm512_slli_epi32(w, 24), 24);
    return reinterpret_cast<V>(_mm512_cvtepi32_ps(x));
#elif defined(__AVX2__)
    const __m256i w = _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    const __m256i x =
        (j & 1) ? _mm256_srai_epi32(w, 8) : _mm256_srai_epi32(_mm256_slli_epi32(w, 24), 24);
    return reinterpret_cast<V>(_mm256_cvtepi32_ps(x));
#else
    V v;
    for (int l = 0; l < kW; ++l) v[l] = static_cast<int8_t>(p[2 * l + (j & 1)]);
    return v;
#endif
  }
}

// Where an int8 tile's 16 scales start: after d_model coordinates rounded
// up to pairs (TiledKeys::Int8ScaleOffset; not called from here, as the
// kernels call no inline function of another library).
inline size_t Int8ScaleOffset(int d) { return static_cast<size_t>(kLanes) * ((d + 1) / 2 * 2); }

// Int8 keys times the int16 query, two coordinates at once: for the kW
// lanes from o, coordinate pair `pair` of each ad times the query's pair
// (two int16 in `q_pair`, the lower first), summed in int32 (vpmaddwd).
inline VI MaddPair(const uint8_t* tile, int pair, int o, int32_t q_pair) {
  const uint8_t* p = tile + (pair * kLanes + o) * 2;
#if defined(__AVX512F__)
  const __m512i k = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return reinterpret_cast<VI>(_mm512_madd_epi16(k, _mm512_set1_epi32(q_pair)));
#elif defined(__AVX2__)
  const __m256i k = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return reinterpret_cast<VI>(_mm256_madd_epi16(k, _mm256_set1_epi32(q_pair)));
#else
  // The portable path scores in float (BlockedPass is not used there).
  VI sum;
  const auto q_lo = static_cast<int16_t>(q_pair & 0xffff);
  const auto q_hi = static_cast<int16_t>(static_cast<uint32_t>(q_pair) >> 16);
  for (int l = 0; l < kW; ++l) {
    sum[l] = static_cast<int8_t>(p[2 * l]) * q_lo + static_cast<int8_t>(p[2 * l + 1]) * q_hi;
  }
  return sum;
#endif
}

constexpr int kFlushTiles = 64;  // Float partial sums move to doubles this often.

// The tile after t in a part's share: blocks of a.block_tiles (a power of
// two, a multiple of kFlushTiles when split) from a.tile_begin, every
// a.block_stride-th block (the parts interleave, so that a catalogue's
// eligible rows, often one format's run, are shared out evenly).
inline int64_t NextTile(const PassArgs& a, int64_t t) {
  ++t;
  if (a.block_stride > 1 && ((t - a.tile_begin) & (a.block_tiles - 1)) == 0) {
    t += a.block_tiles * (a.block_stride - 1);
  }
  return t;
}

// The running state both passes keep per (slot, head) and lane in the
// caller's `state` (L1-resident): the lane max, and float partial sums of
// exp(score - max) and of exp(score - max) x value since the last flush to
// the doubles (a.lane_z, a.lane_c); and each request's first slot.
struct PassState {
  float* m;
  float* z;
  float* c;
  int sh;  // slots x heads.
  int first_slot[attex::attention::kMaxPassSlots + 1];

  // Every lane's max set to its request's offset (`fixed`) or -inf, and
  // every sum to 0.
  PassState(const PassArgs& a, bool fixed) {
    const int heads = a.heads;
    sh = a.slots * heads;
    m = a.state;
    z = a.state + sh * kLanes;
    c = a.state + 2 * sh * kLanes;
    first_slot[0] = 0;
    for (int r = 0; r < a.requests; ++r) first_slot[r + 1] = first_slot[r] + a.request_slots[r];
    for (int r = 0; r < a.requests; ++r) {
      for (int s = first_slot[r]; s < first_slot[r + 1]; ++s) {
        for (int h = 0; h < heads; ++h) {
          for (int l = 0; l < kLanes; ++l) {
            const int k = (s * heads + h) * kLanes + l;
            m[k] = fixed ? a.offsets[r * heads + h] : -std::numeric_limits<float>::infinity();
            z[k] = 0.0f;
            c[k] = 0.0f;
            a.lane_z[k] = 0.0;
            a.lane_c[k] = 0.0;
          }
        }
      }
    }
  }
  // Moves the float partial sums to the doubles.
  void Flush(const PassArgs& a) {
    for (int k = 0; k < sh * kLanes; ++k) {
      a.lane_z[k] += z[k];
      a.lane_c[k] += c[k];
      z[k] = 0.0f;
      c[k] = 0.0f;
    }
  }
  // The last flush; the lane maxima and the per-slot eligible counts out.
  void Finish(const PassArgs& a, const VI* eligible) {
    Flush(a);
    std::memcpy(a.lane_max, m, sizeof(float) * sh * kLanes);
    for (int s = 0; s < a.slots; ++s) {
      int64_t total = 0;
      for (int l = 0; l < kW; ++l) total += eligible[s][l];
      a.eligible[s] = total;
    }
  }
};

// Tile t's 16 values (ValueChunks: a tile never straddles two chunks).
inline const float* TileValues(const float* const* chunks, int shift, int64_t t) {
  const int64_t row = t * kLanes;
  return chunks[row >> shift] + (row & ((int64_t{1} << shift) - 1));
}

// Tile t's masks and values; the last, partial tile's copied into `mask`
// and `values` with the lanes past the rows cleared.
inline void TileInputs(const PassArgs& a, int64_t t, uint16_t* mask, float* values,
                       const uint16_t** mask_ptr, const float** value_ptr) {
  *mask_ptr = a.mask + t * kLanes;
  *value_ptr = TileValues(a.value_chunks, a.value_shift, t);
  if ((t + 1) * kLanes > a.rows) {
    const int64_t n = a.rows - t * kLanes;
    for (int l = 0; l < kLanes; ++l) {
      mask[l] = l < n ? (*mask_ptr)[l] : 0;
      values[l] = l < n ? (*value_ptr)[l] : 0.0f;
    }
    *mask_ptr = mask;
    *value_ptr = values;
  }
}

// One request's scores for kW lanes: per head, the dot product of its
// (pre-scaled) query with the keys, times the int8 scale, plus the bias.
template <KeyFormat F, int kDh>
inline void RequestScores(const uint8_t* tile, const float* q, int heads, int dh, int o, V ad_scale,
                          const float* bias, V* score) {
  for (int h = 0; h < heads; ++h) {
    const int j0 = h * dh;
    V acc;
    if constexpr (kDh > 0 && kDh % 4 == 0) {
      V part[4] = {};
#pragma GCC unroll 32
      for (int jj = 0; jj < kDh; jj += 4) {
        for (int u = 0; u < 4; ++u) part[u] += Column<F>(tile, j0 + jj + u, o) * q[j0 + jj + u];
      }
      acc = (part[0] + part[1]) + (part[2] + part[3]);
    } else {
      V acc0 = Splat(0.0f), acc1 = Splat(0.0f);
      int jj = 0;
      for (; jj + 2 <= dh; jj += 2) {
        acc0 += Column<F>(tile, j0 + jj, o) * q[j0 + jj];
        acc1 += Column<F>(tile, j0 + jj + 1, o) * q[j0 + jj + 1];
      }
      if (jj < dh) acc0 += Column<F>(tile, j0 + jj, o) * q[j0 + jj];
      acc = acc0 + acc1;
    }
    if constexpr (F == KeyFormat::kInt8) acc *= ad_scale;
    if (bias != nullptr) acc += Load(bias + h * kLanes + o);
    score[h] = acc;
  }
}

// kDh: the head width when known at compile time (the common 16 and 32 are
// unrolled with four accumulators), 0 otherwise. kFixed: a.offsets holds,
// per request and head, a bound no score exceeds and that no eligible score
// is more than 80 under (so that exp(score - bound) stays a normal float):
// the sums are taken relative to it, with no running max to keep (no
// compare, no branch, no rescaling). Otherwise a running max per slot and
// lane. Either way an ad costs one dot product and one exp per request and
// head; its slots add the exp where their mask bit is set.
template <KeyFormat F, int kDh, bool kFixed>
void PassImpl(const PassArgs& a) {
  const int d = a.d_model;
  const int heads = a.heads;
  const int dh = kDh > 0 ? kDh : d / heads;
  const int64_t rows = a.rows;
  const int64_t tiles = (rows + kLanes - 1) / kLanes;
  const int slots = a.slots;
  const int requests = a.requests;
  const size_t request_stride = static_cast<size_t>(tiles) * heads * kLanes;
  const float kNegInf = -std::numeric_limits<float>::infinity();

  PassState st(a, kFixed);
  float* const m_state = st.m;
  float* const z_state = st.z;
  float* const c_state = st.c;
  const int* const first_slot = st.first_slot;
  VI request_bits[attex::attention::kMaxPassSlots];
  for (int r = 0; r < requests; ++r) {
    request_bits[r] = VI{} + (((1 << a.request_slots[r]) - 1) << first_slot[r]);
  }
  VI eligible[attex::attention::kMaxPassSlots];
  for (int s = 0; s < slots; ++s) eligible[s] = VI{};

  uint16_t tail_mask[kLanes];
  float tail_values[kLanes];
  for (int64_t t = a.tile_begin; t < a.tile_end; t = NextTile(a, t)) {
    const uint16_t* mask_ptr;
    const float* value_ptr;
    TileInputs(a, t, tail_mask, tail_values, &mask_ptr, &value_ptr);
    const uint8_t* tile = a.tiles + t * a.tile_bytes;
    const float* bias =
        a.bias_offset != 0 ? reinterpret_cast<const float*>(tile + a.bias_offset) : nullptr;
    float* tile_scores = a.scores + t * heads * kLanes;
    for (int o = 0; o < kLanes; o += kW) {
      VU16 mask16;
      std::memcpy(&mask16, mask_ptr + o, sizeof(mask16));
      const VI mbits = __builtin_convertvector(mask16, VI);
      if (!Any(mbits)) {
        // No ad here is eligible for any slot: not scored.
        for (int r = 0; r < requests; ++r) {
          for (int h = 0; h < heads; ++h) {
            Store(tile_scores + r * request_stride + h * kLanes + o,
                  Splat(kFixed ? 0.0f : kNegInf));
          }
        }
        continue;
      }
      const V values = Load(value_ptr + o);
      V ad_scale = Splat(1.0f);
      if constexpr (F == KeyFormat::kInt8) {
        ad_scale = Load(reinterpret_cast<const float*>(tile + Int8ScaleOffset(d)) + o);
      }
      for (int r = 0; r < requests; ++r) {
        float* out = tile_scores + r * request_stride + o;
        const VI in_request = (mbits & request_bits[r]) != 0;
        if (!Any(in_request)) {
          for (int h = 0; h < heads; ++h) Store(out + h * kLanes, Splat(kFixed ? 0.0f : kNegInf));
          continue;
        }
        // The request's slots with an eligible lane here, and those whose
        // every lane is (no select needed).
        VI ok[attex::attention::kMaxPassSlots];
        uint32_t some = 0, every = 0;
        for (int s = first_slot[r]; s < first_slot[r + 1]; ++s) {
          ok[s] = (mbits & (1 << s)) != 0;
          eligible[s] -= ok[s];
          if (Any(ok[s])) some |= 1u << s;
          if (All(ok[s])) every |= 1u << s;
        }
        V score[attex::attention::kMaxPassHeads];
        RequestScores<F, kDh>(tile, a.queries + r * d, heads, dh, o, ad_scale, bias, score);
        for (int h = 0; h < heads; ++h) {
          if constexpr (kFixed) {
            // The buffer keeps exp(score - bound): the scan and Weight
            // need only multiply it by the head's exp(bound - normaliser).
            // Lanes outside the request are never read (the mask says).
            const V e = Exp(score[h] - a.offsets[r * heads + h]);
            Store(out + h * kLanes, e);
            const V ev = e * values;
            for (int s = first_slot[r]; s < first_slot[r + 1]; ++s) {
              if (!((some >> s) & 1)) continue;
              const int k = (s * heads + h) * kLanes + o;
              const bool all = (every >> s) & 1;
              Store(z_state + k, Load(z_state + k) + (all ? e : (ok[s] ? e : Splat(0.0f))));
              Store(c_state + k, Load(c_state + k) + (all ? ev : (ok[s] ? ev : Splat(0.0f))));
            }
            continue;
          }
          Store(out + h * kLanes, in_request ? score[h] : Splat(kNegInf));
          for (int s = first_slot[r]; s < first_slot[r + 1]; ++s) {
            if (!((some >> s) & 1)) continue;
            const int k = (s * heads + h) * kLanes + o;
            const V sc = ok[s] ? score[h] : Splat(kNegInf);
            const V m_old = Load(m_state + k);
            const V m_new = Max(m_old, sc);
            const VI grew = m_new > m_old;
            if (Any(grew)) [[unlikely]] {
              // Rescale what was summed relative to the old max.
              const V rs = grew ? Exp(m_old - m_new) : Splat(1.0f);
              Store(z_state + k, Load(z_state + k) * rs);
              Store(c_state + k, Load(c_state + k) * rs);
              for (int l = 0; l < kW; ++l) {
                if (m_new[l] > m_old[l]) {
                  const double rd = std::exp(static_cast<double>(m_old[l]) - m_new[l]);
                  a.lane_z[k + l] *= rd;
                  a.lane_c[k + l] *= rd;
                }
              }
              Store(m_state + k, m_new);
            }
            const V e = ok[s] ? Exp(sc - m_new) : Splat(0.0f);
            Store(z_state + k, Load(z_state + k) + e);
            Store(c_state + k, Load(c_state + k) + e * values);
          }
        }
      }
    }
    if ((t + 1) % kFlushTiles == 0) st.Flush(a);
  }
  st.Finish(a, eligible);
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

// The fixed-offset pass for the common shapes (kHeads heads of kDh), a
// whole tile at a time: every head's dot products of the tile's kSub
// vectors accumulate in registers side by side (kHeads x kSub independent
// chains, each query coordinate broadcast once per tile), then one exp per
// head and vector, kept in the buffer for the top-k, and each slot of the
// request adds them to its sums where its mask bits are set.
template <KeyFormat F, int kHeads, int kDh>
void BlockedPass(const PassArgs& a) {
  constexpr int kSub = kLanes / kW;
  // Chains per coordinate step; split further where too few to hide the
  // FMA latency (AVX-512: one vector per tile).
  constexpr int kSplit = kHeads * kSub >= 8 ? 1 : 2;
  static_assert(kDh % kSplit == 0);
  // Int8 keys against the int16 query with vpmaddwd.
  constexpr bool kIntPairs = F == KeyFormat::kInt8 && kDh % 2 == 0;
  const int d = a.d_model;
  const int64_t rows = a.rows;
  const int64_t tiles = (rows + kLanes - 1) / kLanes;
  const int slots = a.slots;
  const int requests = a.requests;
  const size_t request_stride = static_cast<size_t>(tiles) * kHeads * kLanes;

  PassState st(a, /*fixed=*/true);  // Every lane's max is its bound.
  float* const z_state = st.z;
  float* const c_state = st.c;
  const int* const first_slot = st.first_slot;
  VI eligible[attex::attention::kMaxPassSlots];
  for (int s = 0; s < slots; ++s) eligible[s] = VI{};

  uint16_t tail_mask[kLanes];
  float tail_values[kLanes];
  for (int64_t t = a.tile_begin; t < a.tile_end; t = NextTile(a, t)) {
    const uint16_t* mask_ptr;
    const float* value_ptr;
    TileInputs(a, t, tail_mask, tail_values, &mask_ptr, &value_ptr);
    const uint8_t* tile = a.tiles + t * a.tile_bytes;
    float* tile_scores = a.scores + t * kHeads * kLanes;
    VI mbits[kSub];
    bool any = false;
    for (int o = 0; o < kSub; ++o) {
      VU16 mask16;
      std::memcpy(&mask16, mask_ptr + o * kW, sizeof(mask16));
      mbits[o] = __builtin_convertvector(mask16, VI);
      any |= Any(mbits[o]);
    }
    if (!any) {
      // No ad here is eligible for any slot: not scored (and never read).
      if ((t + 1) % kFlushTiles == 0) st.Flush(a);
      continue;
    }
    const float* bias =
        a.bias_offset != 0 ? reinterpret_cast<const float*>(tile + a.bias_offset) : nullptr;
    V values[kSub], ad_scale[kSub];
    for (int o = 0; o < kSub; ++o) {
      values[o] = Load(value_ptr + o * kW);
      ad_scale[o] = Splat(1.0f);
      if constexpr (F == KeyFormat::kInt8) {
        ad_scale[o] = Load(reinterpret_cast<const float*>(tile + Int8ScaleOffset(d)) + o * kW);
      }
    }
    for (int r = 0; r < requests; ++r) {
      float* out = tile_scores + r * request_stride;
      bool in_request = false;
      VI ok[attex::attention::kMaxPassSlots][kSub];
      uint32_t some = 0, every = 0;
      for (int s = first_slot[r]; s < first_slot[r + 1]; ++s) {
        bool s_any = false, s_all = true;
        for (int o = 0; o < kSub; ++o) {
          ok[s][o] = (mbits[o] & (1 << s)) != 0;
          eligible[s] -= ok[s][o];
          s_any |= Any(ok[s][o]);
          s_all &= All(ok[s][o]);
        }
        if (s_any) some |= 1u << s;
        if (s_all) every |= 1u << s;
        in_request |= s_any;
      }
      if (!in_request) continue;  // Lanes outside the request are never read.
      const float* q = a.queries + r * d;
      V acc[kSplit][kHeads][kSub] = {};
      if constexpr (kIntPairs) {
        // Two coordinates a multiply-add, exactly in int32, scaled once.
        const int32_t* q_pairs = a.query_pairs + r * ((d + 1) / 2);
        VI iacc[kHeads][kSub] = {};
#pragma GCC unroll 64
        for (int jp = 0; jp < kDh / 2; ++jp) {
          for (int h = 0; h < kHeads; ++h) {
            const int pair = h * (kDh / 2) + jp;
            for (int o = 0; o < kSub; ++o)
              iacc[h][o] += MaddPair(tile, pair, o * kW, q_pairs[pair]);
          }
        }
        for (int h = 0; h < kHeads; ++h) {
          for (int o = 0; o < kSub; ++o) {
            acc[0][h][o] = __builtin_convertvector(iacc[h][o], V) * a.query_scales[r * kHeads + h];
          }
        }
      } else {
#pragma GCC unroll 64
        for (int j = 0; j < kDh; j += kSplit) {
          for (int p = 0; p < kSplit; ++p) {
            for (int h = 0; h < kHeads; ++h) {
              const float qv = q[h * kDh + j + p];
              for (int o = 0; o < kSub; ++o) {
                acc[p][h][o] += Column<F>(tile, h * kDh + j + p, o * kW) * qv;
              }
            }
          }
        }
      }
      for (int h = 0; h < kHeads; ++h) {
        const float offset = a.offsets[r * kHeads + h];
        for (int o = 0; o < kSub; ++o) {
          V score = acc[0][h][o];
          if constexpr (kSplit == 2 && !kIntPairs) score += acc[1][h][o];
          if constexpr (F == KeyFormat::kInt8) score *= ad_scale[o];
          if (bias != nullptr) score += Load(bias + h * kLanes + o * kW);
          // exp(score - bound): what the top-k and Weight read back.
          const V e = Exp(score - offset);
          Store(out + h * kLanes + o * kW, e);
          const V ev = e * values[o];
          for (int s = first_slot[r]; s < first_slot[r + 1]; ++s) {
            if (!((some >> s) & 1)) continue;
            const int k = (s * kHeads + h) * kLanes + o * kW;
            if ((every >> s) & 1) {
              Store(z_state + k, Load(z_state + k) + e);
              Store(c_state + k, Load(c_state + k) + ev);
            } else {
              Store(z_state + k, Load(z_state + k) + (ok[s][o] ? e : Splat(0.0f)));
              Store(c_state + k, Load(c_state + k) + (ok[s][o] ? ev : Splat(0.0f)));
            }
          }
        }
      }
    }
    if ((t + 1) % kFlushTiles == 0) st.Flush(a);
  }
  st.Finish(a, eligible);
}

template <KeyFormat F>
void PassForWidth(const PassArgs& a) {
  if (a.offsets == nullptr) return PassForWidth<F, false>(a);
  if constexpr (kW < 8) {
    // The portable path (CPUs without AVX2, and the tests' cross-check)
    // keeps the general kernel: the register-blocked ones, unrolled for
    // 16 lanes of 4-float vectors, took most of the build's compile time.
    return PassForWidth<F, true>(a);
  } else {
    const int dh = a.d_model / a.heads;
    if (a.heads == 4 && dh == 16) return BlockedPass<F, 4, 16>(a);
    if (a.heads == 4 && dh == 32) return BlockedPass<F, 4, 32>(a);
    if (a.heads == 8 && dh == 16) return BlockedPass<F, 8, 16>(a);
    if (a.heads == 2 && dh == 32) return BlockedPass<F, 2, 32>(a);
    if (a.heads == 1 && dh == 64) return BlockedPass<F, 1, 64>(a);
    return PassForWidth<F, true>(a);
  }
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
// of exp(score_h - log_norm_h). Where the buffer holds exp(score_h - bound_h)
// (a.factors set) that is a multiply-add per head with factors_h = exp(bound_h
// - log_norm_h) / heads. Otherwise the buffer holds the scores, and the mean
// of ExpUpperBound's (a few instructions each, at most 7% above) bounds the
// weight closely, so lanes under the threshold by that bound cost no exp.
// (score_h - log_norm_h <= 0: the log normaliser is at least every eligible
// score.)
int Scan(const ScanArgs& a, int64_t begin, int64_t* next, int64_t* rows_out, float* u_out,
         int capacity) {
  const int heads = a.heads;
  const float threshold = a.threshold;
  const float inv_heads = 1.0f / heads;
  const int64_t tiles = (a.rows + kLanes - 1) / kLanes;
  const VI bit = VI{} + a.bit;
  int n = 0;
  int64_t t = begin;
  float tail[kLanes];
  uint16_t tail_mask[kLanes];
  for (; t < tiles && n + kLanes <= capacity; ++t) {
    const float* tile = a.scores + t * heads * kLanes;
    const float* value_ptr = TileValues(a.value_chunks, a.value_shift, t);
    const uint16_t* mask_ptr = a.mask + t * kLanes;
    if ((t + 1) * kLanes > a.rows) {
      for (int64_t l = 0; l < kLanes; ++l) {
        const bool in = t * kLanes + l < a.rows;
        tail[l] = in ? value_ptr[l] : 0.0f;
        tail_mask[l] = in ? mask_ptr[l] : 0;
      }
      value_ptr = tail;
      mask_ptr = tail_mask;
    }
    for (int o = 0; o < kLanes; o += kW) {
      VU16 mask16;
      std::memcpy(&mask16, mask_ptr + o, sizeof(mask16));
      const VI eligible = (__builtin_convertvector(mask16, VI) & bit) != 0;
      if (!Any(eligible)) continue;
      const V values = Load(value_ptr + o);
      V u;
      if (a.factors != nullptr) {
        V w = Load(tile + o) * a.factors[0];
        for (int h = 1; h < heads; ++h) w += Load(tile + h * kLanes + o) * a.factors[h];
        u = w * values;
      } else {
        const V s0 = Load(tile + o);
        V bound = ExpUpperBound(s0 - a.log_norm[0]);
        for (int h = 1; h < heads; ++h) {
          bound += ExpUpperBound(Load(tile + h * kLanes + o) - a.log_norm[h]);
        }
        if (!Any(eligible & (bound * inv_heads * values >= threshold))) continue;
        V w = Exp(s0 - a.log_norm[0]);
        for (int h = 1; h < heads; ++h) w += Exp(Load(tile + h * kLanes + o) - a.log_norm[h]);
        u = w * inv_heads * values;
      }
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
