#ifndef NETPROBE_AGENT_NET_FLOW_LABEL_H_
#define NETPROBE_AGENT_NET_FLOW_LABEL_H_

#include <cstdint>

#include "absl/status/status.h"
#include "agent/net/socket_address.h"

namespace netprobe {

// The largest IPv6 flow label (20 bits).
inline constexpr uint32_t kMaxFlowLabel = 0xfffff;
// The largest label the kernel's flow label manager leases while
// net.ipv6.flowlabel_state_ranges is 1: 0x80000 and up are then the
// stateless range (RFC 6437), refused with ERANGE.
inline constexpr uint32_t kMaxStatefulFlowLabel = 0x7ffff;

// Makes the IPv6 socket `fd` send `label`, constant for its whole life:
//  - the kernel's automatic labels (a hash of the flow, rehashed on some
//    events) are turned off (IPV6_AUTOFLOWLABEL 0), so label 0 means "no
//    label", and
//  - a non-zero label is leased from the kernel's flow label manager
//    (IPV6_FLOWLABEL_MGR, shared with any socket: the flows of a trace and
//    concurrent traces may use the same label) toward `peer`, and
//    IPV6_FLOWINFO_SEND is set, so the label must then be in the
//    sin6_flowinfo of the address given to connect() or sendto()
//    (SocketAddress::set_flow_info); the kernel refuses a send or connect
//    with EINVAL for a label this socket has not leased.
// Call before connect(). REQUIRES: `fd` is AF_INET6, `label` <= kMaxFlowLabel.
// INVALID_ARGUMENT naming `flow_label` when the kernel refuses the label as
// stateless (see kMaxStatefulFlowLabel); else the setsockopt's errno.
absl::Status ApplyFlowLabel(int fd, const SocketAddress& peer, uint32_t label);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_FLOW_LABEL_H_
