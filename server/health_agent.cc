#include "server/health_agent.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace attex::server {

absl::StatusOr<std::unique_ptr<HealthAgent>> HealthAgent::Listen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535 ||
      ::inet_pton(AF_INET, listen.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--health_agent_listen: \"", listen,
                     "\" is not an IPv4 address:port, e.g. 127.0.0.1:9465"));
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::unique_ptr<HealthAgent> agent(new HealthAgent());
  agent->fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(agent->fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  socklen_t len = sizeof(addr);
  if (agent->fd_ < 0 || ::bind(agent->fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(agent->fd_, 64) != 0 ||
      ::getsockname(agent->fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::UnavailableError(absl::StrCat("--health_agent_listen: cannot listen on ", listen,
                                               ": ", std::strerror(errno)));
  }
  agent->port_ = ntohs(addr.sin_port);
  agent->thread_ = std::thread([a = agent.get()] { a->Run(); });
  return agent;
}

void HealthAgent::Run() {
  while (!stopping_.load()) {
    const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // Shut down.
    }
    // HAProxy reads the line and ignores what comes after it.
    const char* line = draining_.load() ? "drain\n" : "up ready\n";
    [[maybe_unused]] const ssize_t n = ::send(conn, line, std::strlen(line), MSG_NOSIGNAL);
    ::close(conn);
  }
}

HealthAgent::~HealthAgent() {
  stopping_.store(true);
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);  // Wakes accept.
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace attex::server
