// The ads' keys laid out for one streaming pass: tiles of kTileRows ads, each
// tile column-major (the j-th coordinate of its 16 ads is 16 consecutive
// elements), so that one vector load serves 16 ads; int8 keys column-major
// by pairs of coordinates (coordinates 2p and 2p + 1 of an ad side by side,
// then the next ad's: Int8Offset), so that one integer multiply-add
// (vpmaddwd) takes two coordinates of each ad. A tile may also carry,
// per ad and head, an additive score term (the head bias: the part of a
// score that depends on the ad alone, such as its format's query term),
// so that the pass reads it with the keys. Built when campaigns change,
// never per request. Immutable after construction; thread-safe. Copies
// share the tiles (a copy costs a pointer, not the keys), so that
// catalogue versions with the same keys hold them once.
#ifndef ATTEX_ATTENTION_TILED_KEYS_H_
#define ATTEX_ATTENTION_TILED_KEYS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace attex::attention {

enum class KeyFormat : int {
  kFloat32 = 0,
  kBfloat16 = 1,  // Round-to-nearest-even truncation of each float.
  kInt8 = 2,      // Symmetric per-ad scale: key = scale x int8.
};

// "float32", "bf16", "int8". Parse errors are INVALID_ARGUMENT.
std::string_view KeyFormatName(KeyFormat format);
absl::StatusOr<KeyFormat> ParseKeyFormat(std::string_view name);

class TiledKeys final {
 public:
  static constexpr int kTileRows = 16;

  TiledKeys() = default;
  // `keys`: rows x d_model floats, row-major. `head_bias`: empty, or rows
  // x heads floats (row-major) added to each head's scaled score. Aborts on
  // a bad shape.
  TiledKeys(absl::Span<const float> keys, int64_t rows, int d_model, int heads,
            KeyFormat format = KeyFormat::kFloat32, absl::Span<const float> head_bias = {});
  // Fills row by row instead of from one row-major copy of every key: for
  // each row in order, `fill(row, key, head_bias)` writes its d_model floats
  // into `key` and, with `has_head_bias`, its heads floats into `head_bias`
  // (an empty span without). Aborts on a bad shape.
  using RowFill =
      absl::FunctionRef<void(int64_t row, absl::Span<float> key, absl::Span<float> head_bias)>;
  TiledKeys(int64_t rows, int d_model, int heads, KeyFormat format, bool has_head_bias,
            RowFill fill);

  int64_t rows() const { return rows_; }
  int64_t tiles() const { return (rows_ + kTileRows - 1) / kTileRows; }
  int d_model() const { return d_model_; }
  int heads() const { return heads_; }
  KeyFormat format() const { return format_; }
  // Bytes one tile occupies: keys, then 16 float scales for int8 (at
  // Int8ScaleOffset), then the head bias (heads x 16 floats) if any;
  // 64-byte aligned.
  size_t tile_bytes() const { return tile_bytes_; }
  // Where coordinate j of the ad in `lane` is in an int8 tile: pairs of
  // coordinates, ad by ad (an odd d_model has a zero last column); and
  // where the tile's 16 scales start.
  static constexpr size_t Int8Offset(int j, int lane) {
    return (static_cast<size_t>(j >> 1) * kTileRows + lane) * 2 + (j & 1);
  }
  static constexpr size_t Int8ScaleOffset(int d_model) {
    return static_cast<size_t>(kTileRows) * ((d_model + 1) / 2 * 2);
  }
  bool has_head_bias() const { return bias_offset_ != 0; }
  // Where a tile's head bias starts (0: none); floats h x 16 + lane.
  size_t bias_offset() const { return bias_offset_; }
  // The head bias of one ad (0 without one).
  float HeadBias(int64_t row, int head) const;
  const uint8_t* tile(int64_t t) const { return data_.get() + t * tile_bytes_; }
  // Whether `other` is a copy of this one (the same tiles in memory).
  bool SharesTiles(const TiledKeys& other) const { return data_ == other.data_; }
  // Bytes one scoring pass must read for the keys (and head biases) of
  // `rows` ads.
  size_t KeyBytes(int64_t rows) const;

  // The key of `row` as the kernels see it (dequantised), d_model floats.
  void Row(int64_t row, absl::Span<float> out) const;
  // Per head: the largest L2 norm of a key's head block as the kernels see
  // it (dequantised); +inf if any key is not finite. Bounds every score:
  // |q_h . k_h| <= |q_h| x head_norm_max()[h].
  absl::Span<const float> head_norm_max() const { return head_norm_max_; }
  // Per head: the largest |head bias| (0 without one; +inf if not finite).
  absl::Span<const float> head_bias_max() const { return head_bias_max_; }

  // What a key becomes in storage `format` (rounded to bf16, or quantised
  // to int8 with its scale), as floats: what Row returns once it is tiled.
  static void AsStored(KeyFormat format, absl::Span<const float> key, absl::Span<float> out);

 private:
  void ComputeHeadNorms();

  int64_t rows_ = 0;
  int d_model_ = 0;
  int heads_ = 1;
  KeyFormat format_ = KeyFormat::kFloat32;
  size_t tile_bytes_ = 0;
  size_t bias_offset_ = 0;
  // 64-byte aligned, zero padded; shared by copies, never written after
  // construction.
  std::shared_ptr<uint8_t> data_;
  std::vector<float> head_norm_max_;
  std::vector<float> head_bias_max_;
};

// bf16 helpers, shared with the kernels and the tests.
uint16_t FloatToBf16(float x);
float Bf16ToFloat(uint16_t x);

}  // namespace attex::attention

#endif  // ATTEX_ATTENTION_TILED_KEYS_H_
