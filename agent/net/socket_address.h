#ifndef NETPROBE_AGENT_NET_SOCKET_ADDRESS_H_
#define NETPROBE_AGENT_NET_SOCKET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace netprobe {

// An IPv4 or IPv6 socket address (value type).
class SocketAddress {
 public:
  SocketAddress() = default;
  // Numeric literal only ("198.18.0.2", "2001:2::a", "fe80::1%eth0"); nullopt
  // for anything else, names included.
  static std::optional<SocketAddress> FromLiteral(absl::string_view ip,
                                                  uint16_t port = 0);
  static SocketAddress FromSockaddr(const sockaddr* sa, socklen_t len);

  int family() const { return storage_.ss_family; }
  bool valid() const { return family() == AF_INET || family() == AF_INET6; }
  uint16_t port() const;
  void set_port(uint16_t port);
  // IPv6: sin6_flowinfo = htonl(flow_info), what connect() and sendto() send
  // as the flow label once the socket has IPV6_FLOWINFO_SEND (see
  // net/flow_label.h). No effect on IPv4.
  void set_flow_info(uint32_t flow_info);
  // IPv6: ntohl(sin6_flowinfo); IPv4: 0.
  uint32_t flow_info() const;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* mutable_get() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t length() const {
    return family() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  }
  // Numeric address without port ("198.18.0.2", "2001:2::a").
  std::string ip() const;
  // "198.18.0.2:80", "[2001:2::a]:80".
  std::string ToString() const;

 private:
  sockaddr_storage storage_{};
};

// A "host:port" or "[v6]:port" target as written by a caller.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Splits a target. `field` names it in errors ("targets[2]"). The port must be
// 1..65535; the host non-empty; IPv6 literals need brackets.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, absl::string_view field);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_SOCKET_ADDRESS_H_
