#include "server/openrtb/json_read.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace attex::openrtb {
namespace {

simdjson::dom::parser& ThreadParser() {
  // Reused: a warm parser keeps its buffers, sized for the largest body it
  // has read (the HTTP server bounds bodies).
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace

std::string Field::Path() const {
  if (parent == nullptr) return "";
  std::string path = parent->Path();
  if (index >= 0) return absl::StrCat(path, "[", index, "]");
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

absl::Status Document::Parse(absl::string_view json) {
  simdjson::dom::element root;
  if (auto err = ThreadParser().parse(json.data(), json.size()).get(root); err) {
    return absl::InvalidArgumentError(
        absl::StrCat("body: malformed JSON (", simdjson::error_message(err), ")"));
  }
  root_ = Field{"", root, nullptr, -1};
  return absl::OkStatus();
}

absl::Status Bad(const Field& f, absl::string_view what) {
  std::string path = f.Path();
  return absl::InvalidArgumentError(absl::StrCat(path.empty() ? "body" : path, ": ", what));
}

absl::Status Bad(const Field* parent, absl::string_view key, absl::string_view what) {
  std::string path = parent == nullptr ? "" : parent->Path();
  if (!key.empty()) path = path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
  return absl::InvalidArgumentError(absl::StrCat(path.empty() ? "body" : path, ": ", what));
}

absl::Status AsObject(const Field& f, Object* out) {
  simdjson::dom::object obj;
  if (f.value.get_object().get(obj) != simdjson::SUCCESS) return Bad(f, "must be an object");
  *out = Object(obj, &f);
  return absl::OkStatus();
}

absl::Status String(const Field& f, absl::string_view* out) {
  std::string_view s;
  if (f.value.get_string().get(s) != simdjson::SUCCESS) return Bad(f, "must be a string");
  *out = absl::string_view(s.data(), s.size());
  return absl::OkStatus();
}

absl::Status Int(const Field& f, int64_t* out) {
  if (f.value.get_int64().get(*out) == simdjson::SUCCESS) return absl::OkStatus();
  double d = 0;
  // 1.0 is an integer too; 2^63 and beyond are not representable.
  if (f.value.get_double().get(d) == simdjson::SUCCESS && d == std::floor(d) &&
      std::fabs(d) < 9e18) {
    *out = static_cast<int64_t>(d);
    return absl::OkStatus();
  }
  return Bad(f, "must be an integer");
}

absl::Status Number(const Field& f, double* out) {
  if (f.value.get_double().get(*out) != simdjson::SUCCESS) return Bad(f, "must be a number");
  return absl::OkStatus();
}

absl::Status Flag(const Field& f, bool* out) {
  if (f.value.get_bool().get(*out) == simdjson::SUCCESS) return absl::OkStatus();
  int64_t v = 0;
  if (f.value.get_int64().get(v) != simdjson::SUCCESS) return Bad(f, "must be 0 or 1");
  *out = v != 0;
  return absl::OkStatus();
}

absl::Status Elements(const Field& f, const std::function<absl::Status(const Field&)>& fn) {
  simdjson::dom::array arr;
  if (f.value.get_array().get(arr) != simdjson::SUCCESS) return Bad(f, "must be an array");
  int i = 0;
  for (simdjson::dom::element e : arr) {
    const Field element{"", e, &f, i++};
    if (auto s = fn(element); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Objects(const Field& f, const std::function<absl::Status(const Object&)>& fn) {
  return Elements(f, [&](const Field& e) -> absl::Status {
    Object obj;
    if (auto s = AsObject(e, &obj); !s.ok()) return s;
    return fn(obj);
  });
}

absl::Status Strings(const Field& f, const std::function<void(absl::string_view)>& fn) {
  return Elements(f, [&](const Field& e) -> absl::Status {
    absl::string_view s;
    if (auto st = String(e, &s); !st.ok()) return st;
    fn(s);
    return absl::OkStatus();
  });
}

absl::Status Ints(const Field& f, const std::function<void(int64_t)>& fn) {
  return Elements(f, [&](const Field& e) -> absl::Status {
    int64_t v = 0;
    if (auto st = Int(e, &v); !st.ok()) return st;
    fn(v);
    return absl::OkStatus();
  });
}

std::string Minified(const Field& f) { return simdjson::minify(f.value); }

}  // namespace attex::openrtb
