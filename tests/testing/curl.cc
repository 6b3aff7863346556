#include "tests/testing/curl.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/testing/temp_dir.h"

namespace attex::testing {
namespace {

// One argument for /bin/sh, single-quoted.
std::string Quote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace

CurlResult Curl(const std::vector<std::string>& args, const std::string& url) {
  TempDir dir;
  const std::string headers = dir.path() + "/headers", body = dir.path() + "/body";
  std::string command =
      "curl -sS --max-time 20 -D " + Quote(headers) + " -o " + Quote(body) + " -w '%{http_code}'";
  for (const auto& arg : args) command += " " + Quote(arg);
  command += " " + Quote(url);
  CurlResult result;
  FILE* out = popen(command.c_str(), "r");
  if (out == nullptr) return result;
  char code[256] = {};
  const size_t n = fread(code, 1, sizeof(code) - 1, out);
  pclose(out);
  result.statuses = std::string(code, n);
  result.status = std::atoi(result.statuses.substr(0, 3).c_str());
  result.headers = ReadFile(headers);
  result.body = ReadFile(body);
  return result;
}

}  // namespace attex::testing
