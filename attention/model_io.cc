// The model file: Save, Load and the checksum that also names the version.
//
// Layout, little-endian: "ATTEXMDL", uint32 format version, int32 d_model,
// int32 heads, int32 buckets, uint64 seed, float32 norm_scale; in format 2
// only, uint32 pooling (Pooling, never kNormalised); then E (buckets x
// d_model), W_Q and W_K (d_model x d_model, row-major) as float32; then the
// CRC-32 (zlib's) of every byte before it. A kNormalised model is written as
// format 1, byte for byte what it was before format 2, so its checksum and
// version do not change.
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "attention/model.h"
#include "zlib.h"

namespace attex::attention {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the model file is written in host order, which must be little-endian");

constexpr char kMagic[8] = {'A', 'T', 'T', 'E', 'X', 'M', 'D', 'L'};
constexpr uint32_t kFormatVersion = 1;                      // Pooling::kNormalised.
constexpr uint32_t kFormatVersionPooling = 2;               // The header names the pooling.
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 4 + 4 + 8 + 4;  // Format 1's.
constexpr size_t kPoolingBytes = 4;                         // What format 2 adds.

template <typename T>
void Append(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

template <typename T>
T ReadAt(const char* bytes, size_t& offset) {
  T value;
  std::memcpy(&value, bytes + offset, sizeof(value));
  offset += sizeof(value);
  return value;
}

uint32_t Crc(uint32_t crc, const void* data, size_t bytes) {
  return static_cast<uint32_t>(
      crc32_z(crc, static_cast<const Bytef*>(data), static_cast<z_size_t>(bytes)));
}

uint32_t Crc(uint32_t crc, const std::vector<float>& v) {
  return Crc(crc, v.data(), v.size() * sizeof(float));
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

bool ReadFloats(std::FILE* f, std::vector<float>& v) {
  return std::fread(v.data(), sizeof(float), v.size(), f) == v.size();
}

bool WriteFloats(std::FILE* f, const std::vector<float>& v) {
  return std::fwrite(v.data(), sizeof(float), v.size(), f) == v.size();
}

}  // namespace

std::string Model::EncodeHeader() const {
  const bool pooled = config_.pooling != Pooling::kNormalised;
  std::string header(kMagic, sizeof(kMagic));
  Append(header, pooled ? kFormatVersionPooling : kFormatVersion);
  Append(header, int32_t{config_.d_model});
  Append(header, int32_t{config_.heads});
  Append(header, int32_t{config_.buckets});
  Append(header, uint64_t{config_.seed});
  Append(header, float{config_.norm_scale});
  if (pooled) Append(header, static_cast<uint32_t>(config_.pooling));
  return header;
}

uint32_t Model::Checksum() const {
  const std::string header = EncodeHeader();
  uint32_t crc = Crc(0, header.data(), header.size());
  crc = Crc(crc, embeddings_);
  crc = Crc(crc, w_q_);
  return Crc(crc, w_k_);
}

absl::Status Model::Save(const std::string& path) const {
  // Write aside and rename, so that a reader never sees half a model.
  const std::string tmp = path + ".tmp";
  File f(std::fopen(tmp.c_str(), "wb"));
  if (f == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("cannot create ", tmp));
  const std::string header = EncodeHeader();
  const uint32_t crc = Checksum();
  bool ok = std::fwrite(header.data(), 1, header.size(), f.get()) == header.size() &&
            WriteFloats(f.get(), embeddings_) && WriteFloats(f.get(), w_q_) &&
            WriteFloats(f.get(), w_k_) && std::fwrite(&crc, sizeof(crc), 1, f.get()) == 1;
  ok = std::fclose(f.release()) == 0 && ok;
  if (!ok) {
    const int error = errno;
    std::remove(tmp.c_str());
    return absl::ErrnoToStatus(error, absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(tmp.c_str());
    return absl::ErrnoToStatus(error, absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<const Model>> Model::Load(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (f == nullptr) {
    const int error = errno;
    if (error == ENOENT) return absl::NotFoundError(absl::StrCat("no model file at ", path));
    return absl::ErrnoToStatus(error, absl::StrCat("cannot open ", path));
  }
  if (std::fseek(f.get(), 0, SEEK_END) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot seek in ", path));
  }
  const long file_bytes = std::ftell(f.get());
  std::rewind(f.get());

  char header[kHeaderBytes];
  if (file_bytes < 0 || static_cast<size_t>(file_bytes) < kHeaderBytes + sizeof(uint32_t) ||
      std::fread(header, 1, kHeaderBytes, f.get()) != kHeaderBytes) {
    return absl::DataLossError(absl::StrCat(path, ": too short for a model file"));
  }
  if (std::memcmp(header, kMagic, sizeof(kMagic)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not an attex model (bad magic)"));
  }
  size_t offset = sizeof(kMagic);
  const uint32_t format = ReadAt<uint32_t>(header, offset);
  if (format != kFormatVersion && format != kFormatVersionPooling) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": unsupported format version ", format));
  }
  ModelConfig config;
  config.d_model = ReadAt<int32_t>(header, offset);
  config.heads = ReadAt<int32_t>(header, offset);
  config.buckets = ReadAt<int32_t>(header, offset);
  config.seed = ReadAt<uint64_t>(header, offset);
  config.norm_scale = ReadAt<float>(header, offset);
  size_t header_bytes = kHeaderBytes;
  if (format == kFormatVersionPooling) {
    uint32_t pooling = 0;
    if (static_cast<size_t>(file_bytes) < kHeaderBytes + kPoolingBytes + sizeof(uint32_t) ||
        std::fread(&pooling, sizeof(pooling), 1, f.get()) != 1) {
      return absl::DataLossError(absl::StrCat(path, ": too short for a model file"));
    }
    // Format 2 exists to name another pooling: kNormalised is format 1's, so
    // that each model has one file (and one checksum, one version).
    if (pooling == static_cast<uint32_t>(Pooling::kNormalised)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": format 2 with pooling 0"));
    }
    config.pooling = static_cast<Pooling>(pooling);
    header_bytes += kPoolingBytes;
  }
  if (absl::Status s = ValidateConfig(config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }

  // The config is bounded now, so the expected size cannot overflow.
  const size_t d = static_cast<size_t>(config.d_model);
  const size_t expected = header_bytes +
                          (static_cast<size_t>(config.buckets) * d + 2 * d * d) * sizeof(float) +
                          sizeof(uint32_t);
  if (static_cast<size_t>(file_bytes) != expected) {
    return absl::DataLossError(absl::StrCat(path, ": ", file_bytes, " bytes, expected ", expected));
  }
  std::vector<float> embeddings(static_cast<size_t>(config.buckets) * d);
  std::vector<float> w_q(d * d);
  std::vector<float> w_k(d * d);
  uint32_t stored_crc = 0;
  if (!ReadFloats(f.get(), embeddings) || !ReadFloats(f.get(), w_q) || !ReadFloats(f.get(), w_k) ||
      std::fread(&stored_crc, sizeof(stored_crc), 1, f.get()) != 1) {
    return absl::DataLossError(absl::StrCat(path, ": short read"));
  }
  std::unique_ptr<const Model> model(
      new Model(config, std::move(embeddings), std::move(w_q), std::move(w_k)));
  if (model->Checksum() != stored_crc) {
    return absl::DataLossError(absl::StrCat(path, ": checksum mismatch"));
  }
  return model;
}

}  // namespace attex::attention
