// Typed reads of a parsed JSON document (simdjson's DOM) for the OpenRTB
// mapping: each value is read with its path, so that an error names the
// field ("imp[1].banner.w: must be an integer"). The path is built only
// when an error is reported. A Document holds its thread's parser: one
// Document at a time per thread, and the Fields read from it are valid
// until the next Parse on that thread.
#ifndef ATTEX_SERVER_OPENRTB_JSON_READ_H_
#define ATTEX_SERVER_OPENRTB_JSON_READ_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "simdjson.h"

namespace attex::openrtb {

// A value and where it is: a member (key) of its parent object, or an
// element (index) of its parent array. The root has no parent.
struct Field {
  absl::string_view key;
  simdjson::dom::element value;
  const Field* parent = nullptr;  // Outlives this Field.
  int index = -1;                 // >= 0: an array element.

  std::string Path() const;  // "imp[1].banner.w"; "" for the root.
};

// The members of an object, as Fields whose parent is the object's Field.
class Object {
 public:
  class Iterator {
   public:
    Iterator(simdjson::dom::object::iterator it, const Field* self) : it_(it), self_(self) {}
    Field operator*() const {
      auto kv = *it_;
      return Field{absl::string_view(kv.key.data(), kv.key.size()), kv.value, self_, -1};
    }
    Iterator& operator++() {
      ++it_;
      return *this;
    }
    bool operator!=(const Iterator& other) const { return it_ != other.it_; }

   private:
    simdjson::dom::object::iterator it_;
    const Field* self_;
  };
  Object() = default;
  Object(simdjson::dom::object obj, const Field* self) : obj_(obj), self_(self) {}
  Iterator begin() const { return Iterator(obj_.begin(), self_); }
  Iterator end() const { return Iterator(obj_.end(), self_); }

 private:
  simdjson::dom::object obj_;
  const Field* self_ = nullptr;
};

class Document {
 public:
  // INVALID_ARGUMENT "body: malformed JSON (...)" when `json` does not parse.
  absl::Status Parse(absl::string_view json);
  const Field& root() const { return root_; }

 private:
  Field root_;
};

// INVALID_ARGUMENT "<path>: <what>"; the first names `f`, the second the
// member `key` of `parent` (the root when null; `key` empty: parent itself).
absl::Status Bad(const Field& f, absl::string_view what);
absl::Status Bad(const Field* parent, absl::string_view key, absl::string_view what);

absl::Status AsObject(const Field& f, Object* out);
absl::Status String(const Field& f, absl::string_view* out);
// An integer (a number with a fraction is an error).
absl::Status Int(const Field& f, int64_t* out);
absl::Status Number(const Field& f, double* out);
// OpenRTB's integer flags: 0 false, anything else true (booleans accepted).
absl::Status Flag(const Field& f, bool* out);
// Each element of an array, in order; stops at the first error `fn`
// returns.
absl::Status Elements(const Field& f, const std::function<absl::Status(const Field&)>& fn);
absl::Status Objects(const Field& f, const std::function<absl::Status(const Object&)>& fn);
absl::Status Strings(const Field& f, const std::function<void(absl::string_view)>& fn);
absl::Status Ints(const Field& f, const std::function<void(int64_t)>& fn);
// The value as minified JSON.
std::string Minified(const Field& f);

// Returns the status of `expr` when it is not OK (as in api/validation.cc).
#define ATTEX_RETURN_IF_ERROR(expr) \
  do {                              \
    absl::Status _s = (expr);       \
    if (!_s.ok()) return _s;        \
  } while (0)

}  // namespace attex::openrtb

#endif  // ATTEX_SERVER_OPENRTB_JSON_READ_H_
