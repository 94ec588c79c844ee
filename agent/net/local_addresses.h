#ifndef NETPROBE_AGENT_NET_LOCAL_ADDRESSES_H_
#define NETPROBE_AGENT_NET_LOCAL_ADDRESSES_H_

#include "agent/net/socket_address.h"

namespace netprobe {

// Whether a packet to `address` stays on this host (of the caller's network
// namespace): loopback (127.0.0.0/8, ::1), unspecified (0.0.0.0 and ::
// reach the host itself), the IPv4-mapped forms of those, or an address of
// one of its interfaces. The interfaces are read with getifaddrs() at most
// once a second (an address added since may be missed for that long).
// Thread-safe.
bool IsLocalAddress(const SocketAddress& address);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_LOCAL_ADDRESSES_H_
