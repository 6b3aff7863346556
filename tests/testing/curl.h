// HTTP from tests through the curl command line tool (Debian's curl, in
// deploy/deps.sh), as a platform would call attex's OpenRTB endpoint.
#ifndef ATTEX_TESTS_TESTING_CURL_H_
#define ATTEX_TESTS_TESTING_CURL_H_

#include <string>
#include <vector>

namespace attex::testing {

struct CurlResult {
  int status = 0;        // The (first) HTTP status; 0 when curl could not connect.
  std::string statuses;  // Every transfer's status, one after another ("200200").
  std::string headers;   // As received, one a line.
  std::string body;
};

// Runs `curl -sS <args...> URL` (args such as {"-H", "Authorization: ...",
// "--data-binary", "@file"}) and returns what came back. Blocking; files go
// to a temporary directory of its own.
CurlResult Curl(const std::vector<std::string>& args, const std::string& url);

}  // namespace attex::testing

#endif  // ATTEX_TESTS_TESTING_CURL_H_
