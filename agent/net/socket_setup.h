#ifndef NETPROBE_AGENT_NET_SOCKET_SETUP_H_
#define NETPROBE_AGENT_NET_SOCKET_SETUP_H_

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/net/socket_address.h"

namespace netprobe {

// Socket options for one probe socket, already validated (see
// probes/socket_options.h for the checks and their messages).
struct SocketSetup {
  std::string interface;                // SO_BINDTODEVICE when set
  std::optional<SocketAddress> source;  // bind() before connect/send
  std::optional<int> ttl;               // IP_TTL / IPV6_UNICAST_HOPS
  std::optional<int> tos;               // IP_TOS / IPV6_TCLASS
  // IP(V6)_MTU_DISCOVER: kSet PROBE, kClear DONT, kDo DO, kWant WANT.
  enum class Df { kDefault, kSet, kClear, kDo, kWant } dont_fragment = Df::kDefault;
  std::optional<int> send_buffer, receive_buffer;
  std::optional<int> priority;   // SO_PRIORITY
  std::optional<uint32_t> mark;  // SO_MARK
  bool tcp_nodelay = false;
  std::optional<absl::Duration> tcp_keepalive_idle;
  // TCP_CONGESTION when not empty ("cubic", "bbr", ...). Without
  // CAP_NET_ADMIN the kernel takes only the algorithms in
  // /proc/sys/net/ipv4/tcp_allowed_congestion_control; the error lists them.
  std::string congestion;
  std::optional<int> mss;  // TCP_MAXSEG, before connect()
  // IPv6 only, ApplyFlowLabel(fd, peer, label): the kernel's automatic flow
  // labels off and, for a non-zero `label`, that label leased toward `peer`;
  // connect() and sendto() must then carry it in sin6_flowinfo
  // (SocketAddress::set_flow_info). A non-zero label on IPv4 is refused.
  struct FlowLabel {
    uint32_t label = 0;
    SocketAddress peer;
  };
  std::optional<FlowLabel> flow_label;
};

// setsockopt() of one option; the error names `what` and the errno.
absl::Status SetSocketOption(int fd, int level, int name, const void* value,
                             socklen_t length, const char* what);
// The same for an int option; the error names its value too.
absl::Status SetIntSocketOption(int fd, int level, int name, int value, const char* what);

// Applies `setup` to a fresh socket of `family` (AF_INET or AF_INET6), before
// it connects or sends. `tcp` enables the TCP-only options. The error names
// the option and the errno.
absl::Status ApplySocketSetup(int fd, int family, bool tcp, const SocketSetup& setup);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_SOCKET_SETUP_H_
