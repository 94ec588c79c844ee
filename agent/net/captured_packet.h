#ifndef NETPROBE_AGENT_NET_CAPTURED_PACKET_H_
#define NETPROBE_AGENT_NET_CAPTURED_PACKET_H_

#include <cstdint>
#include <optional>

#include "absl/types/span.h"
#include "agent/net/socket_address.h"

namespace netprobe {

// The IP layer of a captured frame: what a classifier of a probe's own
// packets looks at. Trusts nothing: IHL >= 5, lengths within the bytes
// captured (a snaplen may cut the packet: `l4` is what was captured of it).
struct CapturedIp {
  int family = 0;  // AF_INET or AF_INET6
  SocketAddress source, destination;
  uint8_t protocol = 0;  // IPv4 protocol / IPv6 next header (no extension headers skipped
                         // but hop-by-hop, routing, fragment and destination options)
  uint8_t ttl = 0;       // TTL / hop limit
  absl::Span<const uint8_t> ip;  // the IP header onwards, as captured
  absl::Span<const uint8_t> l4;  // after the IP header (and extension headers)
  bool fragment = false;         // not the first fragment: l4 holds no L4 header
};

// The link-layer header of `link_type` (DLT_LINUX_SLL, DLT_LINUX_SLL2,
// DLT_EN10MB with at most two VLAN tags, DLT_RAW, DLT_IPV4, DLT_IPV6,
// DLT_NULL/DLT_LOOP) stripped and the IP header read; nullopt for other link
// types, other protocols and malformed packets.
std::optional<CapturedIp> ParseCapturedIp(int link_type, absl::Span<const uint8_t> frame);

// A TCP or UDP packet's endpoints (ports set), or those of the packet an
// ICMP/ICMPv6 error quotes (destination unreachable, time exceeded, packet
// too big; `quoted` set: its source is ours, the error came back to us).
struct CapturedFlow {
  SocketAddress source, destination;
  bool quoted = false;
  uint8_t tcp_flags = 0;                   // TCP, not quoted
  uint32_t tcp_sequence = 0, tcp_ack = 0;  // TCP (quoted: the sequence alone)
  // After the TCP/UDP header; quoted: a UDP datagram's, as far as quoted.
  absl::Span<const uint8_t> payload;
};
// `protocol`: IPPROTO_TCP or IPPROTO_UDP. nullopt for other packets.
std::optional<CapturedFlow> ParseCapturedFlow(const CapturedIp& ip, uint8_t protocol);

// Reads a big-endian 16-bit value at `offset`; nullopt beyond the span.
std::optional<uint16_t> Read16(absl::Span<const uint8_t> data, size_t offset);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_CAPTURED_PACKET_H_
