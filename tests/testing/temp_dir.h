// A temporary directory for a test: hermetic files (stores, port files,
// certificates) that vanish with the test.
#ifndef ATTEX_TESTS_TESTING_TEMP_DIR_H_
#define ATTEX_TESTS_TESTING_TEMP_DIR_H_

#include <string>

namespace attex::testing {

// A fresh directory under $TMPDIR (/tmp when unset or empty), removed with
// everything in it when the object is destroyed. If it cannot be made, the
// test fails (ADD_FAILURE) and path() is empty. Not copyable.
class TempDir final {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace attex::testing

#endif  // ATTEX_TESTS_TESTING_TEMP_DIR_H_
