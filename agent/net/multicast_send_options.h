#ifndef NETPROBE_AGENT_NET_MULTICAST_SEND_OPTIONS_H_
#define NETPROBE_AGENT_NET_MULTICAST_SEND_OPTIONS_H_

#include "absl/status/status.h"

namespace netprobe {

// Sets how `fd` (a UDP socket of `family`) sends to groups: out of
// `interface_index` (IP_MULTICAST_IF / IPV6_MULTICAST_IF; 0 leaves the choice
// to the route), with TTL / hop limit `ttl` (IP_MULTICAST_TTL /
// IPV6_MULTICAST_HOPS), and whether copies loop back to listeners on this
// host (IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP; the kernel's default is on).
// The error names the option.
absl::Status SetMulticastSendOptions(int fd, int family, unsigned interface_index,
                                     int ttl, bool loopback);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_MULTICAST_SEND_OPTIONS_H_
