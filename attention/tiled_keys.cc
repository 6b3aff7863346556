#include "attention/tiled_keys.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attention/check.h"

namespace attex::attention {
namespace {

size_t ElementBytes(KeyFormat format) {
  switch (format) {
    case KeyFormat::kFloat32:
      return 4;
    case KeyFormat::kBfloat16:
      return 2;
    case KeyFormat::kInt8:
      return 1;
  }
  return 4;
}

}  // namespace

std::string_view KeyFormatName(KeyFormat format) {
  switch (format) {
    case KeyFormat::kFloat32:
      return "float32";
    case KeyFormat::kBfloat16:
      return "bf16";
    case KeyFormat::kInt8:
      return "int8";
  }
  return "?";
}

absl::StatusOr<KeyFormat> ParseKeyFormat(std::string_view name) {
  for (KeyFormat f : {KeyFormat::kFloat32, KeyFormat::kBfloat16, KeyFormat::kInt8}) {
    if (name == KeyFormatName(f)) return f;
  }
  return absl::InvalidArgumentError(absl::StrCat("key_storage: '",
                                                 absl::string_view(name.data(), name.size()),
                                                 "' is none of float32, bf16, int8"));
}

uint16_t FloatToBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if (std::isnan(x)) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fff + ((bits >> 16) & 1);  // Round to nearest, ties to even.
  return static_cast<uint16_t>(bits >> 16);
}

float Bf16ToFloat(uint16_t x) {
  const uint32_t bits = static_cast<uint32_t>(x) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

namespace {

// The int8 scale of a key: its largest finite |coordinate| maps to 127.
float Int8Scale(absl::Span<const float> key) {
  float max_abs = 0.0f;
  for (float x : key) {
    if (std::isfinite(x)) max_abs = std::max(max_abs, std::abs(x));
  }
  return max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
}

int8_t ToInt8(float x, float scale) {
  const float v = std::isfinite(x) ? x / scale : 0.0f;
  return static_cast<int8_t>(std::clamp(std::lround(v), -127L, 127L));
}

// Coordinates stored per ad: int8 keys are kept in pairs, so an odd
// d_model gets one zero column.
int StoredColumns(KeyFormat format, int d_model) {
  return format == KeyFormat::kInt8 ? (d_model + 1) / 2 * 2 : d_model;
}

}  // namespace

void TiledKeys::AsStored(KeyFormat format, absl::Span<const float> key, absl::Span<float> out) {
  ATTEX_CHECK(out.size() == key.size());
  switch (format) {
    case KeyFormat::kFloat32:
      std::copy(key.begin(), key.end(), out.begin());
      return;
    case KeyFormat::kBfloat16:
      for (size_t j = 0; j < key.size(); ++j) out[j] = Bf16ToFloat(FloatToBf16(key[j]));
      return;
    case KeyFormat::kInt8: {
      const float scale = Int8Scale(key);
      for (size_t j = 0; j < key.size(); ++j) out[j] = scale * ToInt8(key[j], scale);
      return;
    }
  }
}

namespace {

// `rows`, once the row-major keys and head biases are checked to hold it.
int64_t CheckedRows(absl::Span<const float> keys, int64_t rows, int d_model, int heads,
                    absl::Span<const float> head_bias) {
  ATTEX_CHECK(rows >= 0 && d_model > 0 && heads > 0);
  ATTEX_CHECK(keys.size() == static_cast<size_t>(rows) * d_model);
  ATTEX_CHECK(head_bias.empty() || head_bias.size() == static_cast<size_t>(rows) * heads);
  return rows;
}

}  // namespace

TiledKeys::TiledKeys(absl::Span<const float> keys, int64_t rows, int d_model, int heads,
                     KeyFormat format, absl::Span<const float> head_bias)
    : TiledKeys(CheckedRows(keys, rows, d_model, heads, head_bias), d_model, heads, format,
                !head_bias.empty(), [&](int64_t i, absl::Span<float> key, absl::Span<float> bias) {
                  std::copy_n(keys.data() + i * d_model, d_model, key.begin());
                  std::copy_n(head_bias.data() + i * heads, bias.size(), bias.begin());
                }) {}

TiledKeys::TiledKeys(int64_t rows, int d_model, int heads, KeyFormat format, bool has_head_bias,
                     RowFill fill)
    : rows_(rows), d_model_(d_model), heads_(heads), format_(format) {
  ATTEX_CHECK(rows >= 0 && d_model > 0 && heads > 0 && d_model % heads == 0);
  tile_bytes_ =
      static_cast<size_t>(kTileRows) * StoredColumns(format, d_model) * ElementBytes(format);
  if (format == KeyFormat::kInt8) tile_bytes_ += kTileRows * sizeof(float);
  if (has_head_bias) {
    bias_offset_ = tile_bytes_;
    tile_bytes_ += static_cast<size_t>(kTileRows) * heads * sizeof(float);
  }
  tile_bytes_ = (tile_bytes_ + 63) / 64 * 64;
  const size_t total = std::max<size_t>(64, tiles() * tile_bytes_);
  data_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, total)),
              [](uint8_t* p) { std::free(p); });
  ATTEX_CHECK(data_ != nullptr);
  std::memset(data_.get(), 0, total);
  head_bias_max_.assign(heads, 0.0f);
  std::vector<float> key_buffer(d_model);
  std::vector<float> bias_buffer(has_head_bias ? heads : 0);
  for (int64_t i = 0; i < rows; ++i) {
    fill(i, absl::MakeSpan(key_buffer), absl::MakeSpan(bias_buffer));
    const float* key = key_buffer.data();
    uint8_t* tile = data_.get() + (i / kTileRows) * tile_bytes_;
    const int lane = static_cast<int>(i % kTileRows);
    switch (format) {
      case KeyFormat::kFloat32: {
        auto* out = reinterpret_cast<float*>(tile);
        for (int j = 0; j < d_model; ++j) out[j * kTileRows + lane] = key[j];
        break;
      }
      case KeyFormat::kBfloat16: {
        auto* out = reinterpret_cast<uint16_t*>(tile);
        for (int j = 0; j < d_model; ++j) out[j * kTileRows + lane] = FloatToBf16(key[j]);
        break;
      }
      case KeyFormat::kInt8: {
        const float scale = Int8Scale(absl::MakeConstSpan(key, d_model));
        auto* out = reinterpret_cast<int8_t*>(tile);
        for (int j = 0; j < d_model; ++j) out[Int8Offset(j, lane)] = ToInt8(key[j], scale);
        auto* scales = reinterpret_cast<float*>(tile + Int8ScaleOffset(d_model));
        scales[lane] = scale;
        break;
      }
    }
    if (bias_offset_ != 0) {
      auto* bias = reinterpret_cast<float*>(tile + bias_offset_);
      for (int h = 0; h < heads; ++h) {
        const float b = bias_buffer[h];
        bias[h * kTileRows + lane] = b;
        head_bias_max_[h] = std::isfinite(b) ? std::max(head_bias_max_[h], std::abs(b))
                                             : std::numeric_limits<float>::infinity();
      }
    }
  }
  ComputeHeadNorms();
}

float TiledKeys::HeadBias(int64_t row, int head) const {
  ATTEX_CHECK(row >= 0 && row < rows_ && head >= 0 && head < heads_);
  if (bias_offset_ == 0) return 0.0f;
  const auto* bias = reinterpret_cast<const float*>(tile(row / kTileRows) + bias_offset_);
  return bias[head * kTileRows + row % kTileRows];
}

void TiledKeys::ComputeHeadNorms() {
  const int dh = d_model_ / heads_;
  std::vector<double> max_sq(heads_, 0.0);
  std::vector<float> key(d_model_);
  for (int64_t i = 0; i < rows_; ++i) {
    Row(i, absl::MakeSpan(key));
    for (int h = 0; h < heads_; ++h) {
      double sq = 0.0;
      for (int j = h * dh; j < (h + 1) * dh; ++j) sq += static_cast<double>(key[j]) * key[j];
      // NaN compares false: a non-finite key makes the bound infinite.
      max_sq[h] =
          std::isfinite(sq) ? std::max(max_sq[h], sq) : std::numeric_limits<double>::infinity();
    }
  }
  head_norm_max_.resize(heads_);
  // Rounded up a little: the bound must hold for the kernels' float sums.
  for (int h = 0; h < heads_; ++h) {
    head_norm_max_[h] = static_cast<float>(std::sqrt(max_sq[h]) * (1 + 1e-6));
  }
}

size_t TiledKeys::KeyBytes(int64_t rows) const {
  size_t per_row = StoredColumns(format_, d_model_) * ElementBytes(format_);
  if (format_ == KeyFormat::kInt8) per_row += sizeof(float);
  if (bias_offset_ != 0) per_row += heads_ * sizeof(float);
  return per_row * rows;
}

void TiledKeys::Row(int64_t row, absl::Span<float> out) const {
  ATTEX_CHECK(row >= 0 && row < rows_ && out.size() == static_cast<size_t>(d_model_));
  const uint8_t* t = tile(row / kTileRows);
  const int lane = static_cast<int>(row % kTileRows);
  for (int j = 0; j < d_model_; ++j) {
    switch (format_) {
      case KeyFormat::kFloat32:
        out[j] = reinterpret_cast<const float*>(t)[j * kTileRows + lane];
        break;
      case KeyFormat::kBfloat16:
        out[j] = Bf16ToFloat(reinterpret_cast<const uint16_t*>(t)[j * kTileRows + lane]);
        break;
      case KeyFormat::kInt8: {
        const float scale = reinterpret_cast<const float*>(t + Int8ScaleOffset(d_model_))[lane];
        out[j] = scale * reinterpret_cast<const int8_t*>(t)[Int8Offset(j, lane)];
        break;
      }
    }
  }
}

}  // namespace attex::attention
