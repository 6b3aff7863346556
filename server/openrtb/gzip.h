// gzip request bodies (Content-Encoding: gzip), inflated with zlib under a
// bound, so that a small compressed body cannot become a large one.
#ifndef ATTEX_SERVER_OPENRTB_GZIP_H_
#define ATTEX_SERVER_OPENRTB_GZIP_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace attex::openrtb {

// Inflates the gzip stream `in` into *out (overwritten). INVALID_ARGUMENT
// ("body: ...") when it is not gzip, is truncated, or inflates to more than
// max_bytes. Thread-safe.
absl::Status Gunzip(absl::string_view in, size_t max_bytes, std::string* out);

// Compresses `in` as one gzip stream (for tests and the load tester).
std::string Gzip(absl::string_view in);

}  // namespace attex::openrtb

#endif  // ATTEX_SERVER_OPENRTB_GZIP_H_
