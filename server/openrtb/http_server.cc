#include "server/openrtb/http_server.h"

#include <chrono>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "server/openrtb/openrtb_mapping.h"

namespace attex::openrtb {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

absl::string_view View(beast::string_view s) { return absl::string_view(s.data(), s.size()); }

std::chrono::steady_clock::duration Chrono(absl::Duration d) {
  return std::chrono::microseconds(absl::ToInt64Microseconds(d));
}

}  // namespace

struct HttpServer::Impl {
  explicit Impl(int threads)
      : ioc(threads), work(net::make_work_guard(ioc)), acceptor(net::make_strand(ioc)) {}
  void Accept();

  net::io_context ioc;
  // Keeps the io threads running while no socket is open (answers posted
  // from other threads must still find them).
  net::executor_work_guard<net::io_context::executor_type> work;
  tcp::acceptor acceptor;                            // On its own strand.
  net::steady_timer retry{acceptor.get_executor()};  // Accepting again after an error.
  Options options;
  Handler handler;
  std::atomic<bool> draining{false};
  std::atomic<int64_t> handling{0};  // Handler calls running now.
  std::atomic<int64_t>* in_flight = nullptr;
};

namespace {

// One connection: read a request, hand it to the handler, write its answer,
// and again while the client keeps the connection alive. Every step runs on
// the connection's strand; the Session lives as long as a step holds it.
class Session final : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {}

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(Chrono(server_->options.idle_timeout));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      Close();
      return;
    }
    server_->in_flight->fetch_add(1);
    if (ec) {
      // What does not parse as HTTP is answered once, and the connection closed.
      keep_alive_ = false;
      HttpResponse r;
      r.status = ec == http::error::body_limit ? 413 : 400;
      WriteError(absl::InvalidArgumentError(absl::StrCat("request: ", ec.message())), &r.body);
      Write(std::move(r));
      return;
    }
    stream_.expires_never();  // The handler's deadline is its own.
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    // Counted before draining is read, as StopAccepting sets draining before
    // it reads the count: either this request is refused, or StopAccepting
    // waits until the handler has returned (seq_cst on both sides).
    server_->handling.fetch_add(1);
    if (server_->draining.load()) {
      server_->handling.fetch_sub(1);
      keep_alive_ = false;
      HttpResponse r;
      r.status = 503;
      r.retry_after_s = 1;
      WriteError(absl::UnavailableError("the server is shutting down"), &r.body);
      Write(std::move(r));
      return;
    }
    HttpRequest view;
    view.method = View(req.method_string());
    view.target = View(req.target());
    view.authorization = View(req[http::field::authorization]);
    view.content_encoding = View(req[http::field::content_encoding]);
    view.body = req.body();
    view.arrived = absl::Now();
    server_->handler(view, [self = shared_from_this()](HttpResponse r) {
      net::post(self->stream_.get_executor(),
                [self, r = std::move(r)]() mutable { self->Write(std::move(r)); });
    });
    server_->handling.fetch_sub(1);
  }

  void Write(HttpResponse r) {
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(r.status));
    response_.set(http::field::server, "attex");
    for (const auto& [name, value] : server_->options.headers) response_.set(name, value);
    if (!r.body.empty()) response_.set(http::field::content_type, "application/json");
    if (r.retry_after_s > 0)
      response_.set(http::field::retry_after, std::to_string(r.retry_after_s));
    response_.body() = std::move(r.body);
    keep_alive_ = keep_alive_ && !server_->draining.load();
    response_.keep_alive(keep_alive_);
    // A 204 has no body and no Content-Length (RFC 9110 8.6).
    if (r.status != 204) response_.prepare_payload();
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(
        stream_, response_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    server_->in_flight->fetch_sub(1);
    if (ec || !keep_alive_) {
      Close();
      return;
    }
    Read();
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  HttpServer::Impl* const server_;
  bool keep_alive_ = true;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(std::move(socket), this)->Start();
      Accept();
      return;
    }
    // Errors such as EMFILE (out of descriptors) pass once connections
    // close: accept again shortly, rather than spin on the error.
    retry.expires_after(std::chrono::milliseconds(10));
    retry.async_wait([this](beast::error_code) {
      if (acceptor.is_open()) Accept();
    });
  });
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Listen(const Options& options) {
  const size_t colon = options.listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(options.listen).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--openrtb_listen: \"", options.listen, "\" is not host:port"));
  }
  std::string host = options.listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--openrtb_listen: \"", host, "\" is not an IP address"));
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>(std::max(1, options.threads));
  Impl& impl = *server->impl_;
  impl.options = options;
  impl.in_flight = &server->in_flight_;
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, " (OpenRTB): ", ec.message()));
  }
  server->port_ = impl.acceptor.local_endpoint().port();
  return server;
}

void HttpServer::Serve(Handler handler) {
  Impl& impl = *impl_;
  impl.handler = std::move(handler);
  impl.Accept();
  for (int i = 0; i < std::max(1, impl.options.threads); ++i) {
    threads_.emplace_back([&impl] { impl.ioc.run(); });
  }
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::StopAccepting() {
  if (impl_ == nullptr) return;
  impl_->draining = true;
  net::post(impl_->acceptor.get_executor(), [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->retry.cancel();
  });
  // A handler call only hands its request on (to the bid or work queue);
  // once none is running, nothing new reaches what the owner stops next.
  while (impl_->handling.load() > 0) absl::SleepFor(absl::Microseconds(100));
}

bool HttpServer::Drain(absl::Time deadline) {
  while (in_flight_.load() > 0) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

void HttpServer::Stop() {
  if (impl_ == nullptr) return;
  impl_->ioc.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  impl_.reset();  // Closes what is left, connections included.
}

bool QueryParam(absl::string_view target, absl::string_view name, std::string* value) {
  const size_t q = target.find('?');
  if (q == absl::string_view::npos) return false;
  for (absl::string_view pair : absl::StrSplit(target.substr(q + 1), '&')) {
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    const absl::string_view raw = eq == absl::string_view::npos ? "" : pair.substr(eq + 1);
    value->clear();
    for (size_t i = 0; i < raw.size(); ++i) {
      int hi = 0, lo = 0;
      if (raw[i] == '%' && i + 2 < raw.size() && absl::ascii_isxdigit(raw[i + 1]) &&
          absl::ascii_isxdigit(raw[i + 2])) {
        hi = absl::ascii_isdigit(raw[i + 1]) ? raw[i + 1] - '0' : (raw[i + 1] | 0x20) - 'a' + 10;
        lo = absl::ascii_isdigit(raw[i + 2]) ? raw[i + 2] - '0' : (raw[i + 2] | 0x20) - 'a' + 10;
        value->push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      } else {
        value->push_back(raw[i] == '+' ? ' ' : raw[i]);
      }
    }
    return true;
  }
  return false;
}

}  // namespace attex::openrtb
