// Channels to one server or to several: --addr as host:port, as a
// comma-separated list of IPv4 address:port ("127.0.0.1:50051,127.0.0.1:50052")
// or as a gRPC name ("dns:///attex.internal:50051"). Every channel uses gRPC's
// round_robin policy with client-side health checking: calls are spread over
// every address that resolves, and a replica whose health service says
// NOT_SERVING (draining, --drain_delay_s) gets no new calls. Header-only:
// `attex` and attex-load both use it.
#ifndef ATTEX_CLIENT_CHANNEL_TARGET_H_
#define ATTEX_CLIENT_CHANNEL_TARGET_H_

#include <memory>
#include <string>
#include <string_view>

#include "grpcpp/grpcpp.h"

namespace attex::client {

// The gRPC target of --addr: a list becomes "ipv4:a,b,c"; anything else is
// passed on as it is.
inline std::string ChannelTarget(std::string_view addr) {
  if (addr.find(',') == std::string_view::npos || addr.find(':') == 0 ||
      addr.find("://") != std::string_view::npos || addr.substr(0, 5) == "ipv4:") {
    return std::string(addr);
  }
  return "ipv4:" + std::string(addr);
}

// Round robin over the resolved addresses, each health-checked.
inline void UseRoundRobin(grpc::ChannelArguments& args) {
  args.SetServiceConfigJSON(
      R"({"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": ""}})");
}

inline std::shared_ptr<grpc::Channel> BalancedChannel(
    std::string_view addr, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    grpc::ChannelArguments args = {}) {
  UseRoundRobin(args);
  return grpc::CreateCustomChannel(ChannelTarget(addr), credentials, args);
}

}  // namespace attex::client

#endif  // ATTEX_CLIENT_CHANNEL_TARGET_H_
