#include "client/load/openrtb_driver.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "client/load/clock.h"
#include "client/load/openrtb_body.h"
#include "client/load/recorder.h"

namespace attex::load {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

grpc::Status StatusOf(int http_status) {
  switch (http_status) {
    case 200:
    case 204:
      return grpc::Status::OK;
    case 503:
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "503");
    case 504:
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "504");
    case 400:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "400");
    case 401:
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "401");
    case 403:
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "403");
    case 429:
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "429");
    default:
      return grpc::Status(grpc::StatusCode::UNKNOWN, absl::StrCat("HTTP ", http_status));
  }
}

// One keep-alive connection, reconnected after an error or a close.
class Connection final {
 public:
  Connection(std::string host, std::string port, absl::Duration timeout)
      : host_(std::move(host)), port_(std::move(port)), timeout_(timeout), stream_(ioc_) {}

  // POSTs `body`; the HTTP status, or 0 when the exchange failed.
  int Post(const std::string& body, const std::string& authorization, std::string* answer) {
    beast::error_code ec;
    if (!connected_) {
      tcp::resolver resolver(ioc_);
      auto endpoints = resolver.resolve(host_, port_, ec);
      if (ec) return 0;
      stream_.expires_after(std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout_)));
      stream_.connect(endpoints, ec);
      if (ec) return 0;
      stream_.socket().set_option(tcp::no_delay(true), ec);
      connected_ = true;
    }
    http::request<http::string_body> req{http::verb::post, "/openrtb2/bid", 11};
    req.set(http::field::host, host_);
    req.set(http::field::authorization, authorization);
    req.set(http::field::content_type, "application/json");
    req.set("x-openrtb-version", "2.6");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    stream_.expires_after(std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout_)));
    http::write(stream_, req, ec);
    http::response<http::string_body> res;
    if (!ec) http::read(stream_, buffer_, res, ec);
    if (ec) {
      Close();
      return 0;
    }
    if (!res.keep_alive()) Close();
    *answer = std::move(res.body());
    return static_cast<int>(res.result_int());
  }

 private:
  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    connected_ = false;
  }

  const std::string host_, port_;
  const absl::Duration timeout_;
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

// Bids in an answer: one "impid" per bid.
int CountBids(const std::string& body) {
  int n = 0;
  for (size_t at = body.find("\"impid\""); at != std::string::npos;
       at = body.find("\"impid\"", at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

absl::StatusOr<Report> RunOpenRtbLoad(const DriverOptions& options) {
  const size_t colon = options.openrtb_addr.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError("openrtb_addr: must be host:port");
  }
  if (options.requests.empty()) return absl::InvalidArgumentError("requests: none to send");
  const int connections = std::max(1, options.concurrency);
  std::vector<std::string> bodies;
  bodies.reserve(options.requests.size());
  for (const auto& r : options.requests) bodies.push_back(OpenRtbBody(r));
  const Clock& clock = SteadyClock();
  const int64_t start_ns = clock.NowNs();
  const int64_t record_ns = start_ns + absl::ToInt64Nanoseconds(options.warmup);
  const int64_t end_ns = record_ns + absl::ToInt64Nanoseconds(options.duration);
  Recorder recorder(clock, record_ns, options.duration);
  const std::string authorization = "Bearer " + options.token;
  std::atomic<uint64_t> sequence{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      Connection conn(options.openrtb_addr.substr(0, colon), options.openrtb_addr.substr(colon + 1),
                      options.timeout);
      const double interval_ns = options.rate > 0 ? 1e9 * connections / options.rate : 0;
      std::string answer;
      attex::v1::BidResponse response;
      for (int64_t k = 0;; ++k) {
        // Open loop: this connection's k-th call is due at a fixed time.
        int64_t intended = clock.NowNs();
        if (interval_ns > 0) {
          intended = start_ns +
                     static_cast<int64_t>((k + static_cast<double>(c) / connections) * interval_ns);
          const int64_t wait = intended - clock.NowNs();
          if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
        }
        if (intended >= end_ns) break;
        const uint64_t n = sequence.fetch_add(1, std::memory_order_relaxed);
        const size_t i = n % bodies.size();
        const int status = conn.Post(bodies[i], authorization, &answer);
        const grpc::Status s =
            status == 0 ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "connect") : StatusOf(status);
        recorder.Record("OpenRTB", s, intended);
        if (s.ok()) {
          response.Clear();
          const int bids = status == 200 ? CountBids(answer) : 0;
          for (int b = 0; b < bids; ++b) response.add_placements();
          if (bids == 0) response.set_no_bid_reason("no_bid");
          recorder.RecordBid(intended, options.requests[i], response);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  Report report = recorder.Finish();
  report.options = options;
  report.options.requests.clear();
  report.options.token.clear();
  return report;
}

}  // namespace attex::load
