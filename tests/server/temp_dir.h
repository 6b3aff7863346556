// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
// when the object goes out of scope. Test-only.
#ifndef ATTEX_TESTS_SERVER_TEMP_DIR_H_
#define ATTEX_TESTS_SERVER_TEMP_DIR_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace attex::server {

class TempDir final {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                       "/attex-server-test-XXXXXX";
    const char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr) << "mkdtemp failed for " << tmpl;
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace attex::server

#endif  // ATTEX_TESTS_SERVER_TEMP_DIR_H_
