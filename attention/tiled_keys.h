// The ads' keys laid out for one streaming pass: tiles of kTileRows ads, each
// tile column-major (the j-th coordinate of its 16 ads is 16 consecutive
// elements), so that one vector load serves 16 ads. Built when campaigns
// change, never per request. Immutable after construction; thread-safe.
#ifndef ATTEX_ATTENTION_TILED_KEYS_H_
#define ATTEX_ATTENTION_TILED_KEYS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

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
  // `keys`: rows x d_model floats, row-major. Aborts on a bad shape.
  TiledKeys(absl::Span<const float> keys, int64_t rows, int d_model, int heads,
            KeyFormat format = KeyFormat::kFloat32);

  int64_t rows() const { return rows_; }
  int64_t tiles() const { return (rows_ + kTileRows - 1) / kTileRows; }
  int d_model() const { return d_model_; }
  int heads() const { return heads_; }
  KeyFormat format() const { return format_; }
  // Bytes one tile occupies (keys, plus 16 float scales for int8).
  size_t tile_bytes() const { return tile_bytes_; }
  const uint8_t* tile(int64_t t) const { return data_.get() + t * tile_bytes_; }
  // Bytes one scoring pass must read for the keys of `rows` ads.
  size_t KeyBytes(int64_t rows) const;

  // The key of `row` as the kernels see it (dequantised), d_model floats.
  void Row(int64_t row, absl::Span<float> out) const;
  // Per head: the largest L2 norm of a key's head block as the kernels see
  // it (dequantised); +inf if any key is not finite. Bounds every score:
  // |q_h . k_h| <= |q_h| x head_norm_max()[h].
  absl::Span<const float> head_norm_max() const { return head_norm_max_; }

 private:
  void ComputeHeadNorms();

  struct Free {
    void operator()(uint8_t* p) const;
  };
  int64_t rows_ = 0;
  int d_model_ = 0;
  int heads_ = 1;
  KeyFormat format_ = KeyFormat::kFloat32;
  size_t tile_bytes_ = 0;
  std::unique_ptr<uint8_t[], Free> data_;  // 64-byte aligned, zero padded.
  std::vector<float> head_norm_max_;
};

// bf16 helpers, shared with the kernels and the tests.
uint16_t FloatToBf16(float x);
float Bf16ToFloat(uint16_t x);

}  // namespace attex::attention

#endif  // ATTEX_ATTENTION_TILED_KEYS_H_
