// The HAProxy agent-check port: a TCP listener that answers each connection
// with one line and closes it, "up ready" while the server is SERVING and
// "drain" once it is draining, so that HAProxy (which cannot ask the gRPC
// health service in 2.6) stops sending new calls to a draining replica
// during --drain_delay_s. See deploy/haproxy.cfg.in.
#ifndef ATTEX_SERVER_HEALTH_AGENT_H_
#define ATTEX_SERVER_HEALTH_AGENT_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace attex::server {

class HealthAgent final {
 public:
  // Listens on `listen` (address:port, port 0: any). Errors name the flag.
  static absl::StatusOr<std::unique_ptr<HealthAgent>> Listen(const std::string& listen);
  ~HealthAgent();  // Stops listening.

  int port() const { return port_; }
  void SetDraining() { draining_.store(true); }

 private:
  HealthAgent() = default;
  void Run();

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace attex::server

#endif  // ATTEX_SERVER_HEALTH_AGENT_H_
