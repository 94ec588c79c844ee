#ifndef NETPROBE_AGENT_PROBES_FLOW_CAPTURE_H_
#define NETPROBE_AGENT_PROBES_FLOW_CAPTURE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "agent/net/captured_packet.h"
#include "agent/net/socket_address.h"

namespace netprobe {

// The BPF filter of a TCP or UDP probe's own packets (`protocol`
// IPPROTO_TCP or IPPROTO_UDP): to and from each target's host and port, and
// the ICMP/ICMPv6 errors (unreachable, time exceeded; v6 also packet too
// big) quoting a packet to one of them (an IPv4 quote with a 20-byte header,
// an IPv6 one without extension headers). The probe's local ports are left
// to its classifier: they are known only as its sockets connect.
std::string FlowCaptureFilter(uint8_t protocol,
                              const std::vector<SocketAddress>& targets);

// Of a flow to or from `target` (or an error quoting a packet to it): our
// local port; 0 when the packet is not between us and `target`.
uint16_t LocalPortTowards(const CapturedFlow& flow, const SocketAddress& target);

// Same address (and scope) and port.
bool SameEndpoint(const SocketAddress& a, const SocketAddress& b);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_FLOW_CAPTURE_H_
