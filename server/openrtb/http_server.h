// A small HTTP/1.1 server for the OpenRTB endpoint, on Boost.Beast and
// Asio (Debian's Boost 1.74, header-only): a fixed set of io threads serves
// every connection (no thread per connection), keep-alive, one request at a
// time per connection, bodies bounded. What a request means is the
// handler's; this file knows sockets and HTTP only.
//
// Thread safety: Listen, Serve, port, StopAccepting, Drain and Stop from one owner
// thread; the handler runs on an io thread and may answer from any thread.
#ifndef ATTEX_SERVER_OPENRTB_HTTP_SERVER_H_
#define ATTEX_SERVER_OPENRTB_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace attex::openrtb {

// One request, as the handler sees it. The views stay valid until the
// handler's reply has been called.
struct HttpRequest {
  absl::string_view method;  // "POST", "GET", ...
  absl::string_view target;  // "/openrtb2/bid?x=1"
  absl::string_view authorization;
  absl::string_view content_encoding;
  absl::string_view body;
  absl::Time arrived;  // When the whole request had been read.
};

struct HttpResponse {
  int status = 200;
  std::string body;           // Sent as application/json unless empty.
  int64_t retry_after_s = 0;  // > 0: a Retry-After header.
};

class HttpServer final {
 public:
  struct Options {
    std::string listen = "127.0.0.1:8080";  // host:port; port 0: any free one.
    int threads = 2;
    size_t max_body_bytes = 1 << 20;
    // Keep-alive connections idle this long are closed.
    absl::Duration idle_timeout = absl::Seconds(60);
    // Sent with every answer, e.g. {"x-openrtb-version", "2.6"}.
    std::vector<std::pair<std::string, std::string>> headers;
  };
  // Answers one request: call exactly once, from any thread.
  using Reply = std::function<void(HttpResponse)>;
  using Handler = std::function<void(const HttpRequest&, Reply)>;

  // Binds and listens (connections wait in the backlog until Serve).
  // UNAVAILABLE when the address cannot be bound, INVALID_ARGUMENT when it
  // does not parse.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Listen(const Options& options);
  // Starts the io threads, which accept and hand requests to `handler`.
  // Once.
  void Serve(Handler handler);
  ~HttpServer();  // Stop.

  int port() const { return port_; }
  // Closes the listening socket; requests read from now on are answered
  // 503 and answers close their connection. Returns once no handler call
  // is running, so that what the handlers hand work to can be stopped next
  // (their replies still get written until Stop). Idempotent.
  void StopAccepting();
  // Waits until every request handed to the handler has been answered and
  // written, or `deadline`; true if all were.
  bool Drain(absl::Time deadline);
  // Stops the io threads and closes every connection. Idempotent.
  void Stop();

  // Requests handed to the handler and not yet written back.
  int64_t in_flight() const { return in_flight_.load(); }

  struct Impl;  // The io context, the acceptor and what connections share.

 private:
  HttpServer() = default;

  std::unique_ptr<Impl> impl_;
  std::vector<std::thread> threads_;
  std::atomic<int64_t> in_flight_{0};
  int port_ = 0;
};

// The value of query parameter `name` in `target` ("/p?a=1&b=x%20y"),
// percent-decoded ('+' a space); false when absent.
bool QueryParam(absl::string_view target, absl::string_view name, std::string* value);

}  // namespace attex::openrtb

#endif  // ATTEX_SERVER_OPENRTB_HTTP_SERVER_H_
