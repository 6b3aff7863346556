#include "server/openrtb/gzip.h"

#include <zlib.h>

#include "absl/strings/str_cat.h"

namespace attex::openrtb {
namespace {

constexpr int kGzipWindow = 15 + 16;  // zlib's window bits, +16: the gzip wrapper.

}  // namespace

absl::Status Gunzip(absl::string_view in, size_t max_bytes, std::string* out) {
  out->clear();
  z_stream z{};
  if (inflateInit2(&z, kGzipWindow) != Z_OK) return absl::InternalError("zlib: inflateInit2");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  char chunk[16384];
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof(chunk);
    rc = inflate(&z, Z_NO_FLUSH);
    const size_t produced = sizeof(chunk) - z.avail_out;
    if (out->size() + produced > max_bytes) {
      inflateEnd(&z);
      return absl::InvalidArgumentError(
          absl::StrCat("body: inflates to more than ", max_bytes, " bytes"));
    }
    out->append(chunk, produced);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // Input ended before the stream.
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) {
    return absl::InvalidArgumentError(
        absl::StrCat("body: Content-Encoding is gzip but the body is not a whole gzip stream (",
                     z.msg != nullptr ? z.msg : "truncated", ")"));
  }
  return absl::OkStatus();
}

std::string Gzip(absl::string_view in) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindow, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace attex::openrtb
