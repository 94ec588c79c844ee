#ifndef NETPROBE_AGENT_PROBES_PING_CAPTURE_H_
#define NETPROBE_AGENT_PROBES_PING_CAPTURE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/net/captured_packet.h"
#include "agent/net/socket_address.h"

namespace netprobe {

// What a ping capture's filter and classifier know of the probe: per family,
// its socket's echo identifier and its targets' addresses.
struct PingCaptureScope {
  std::optional<uint16_t> id_v4, id_v6;
  std::vector<std::string> v4, v6;  // literals
};

// The BPF filter of a ping's own packets: ICMP/ICMPv6 echo requests and
// replies with its identifier to or from its targets, and the ICMP errors
// (unreachable, time exceeded, parameter problem; v6 also packet too big)
// that quote one of its requests (an IPv4 quote with a 20-byte header, an
// IPv6 quote without extension headers: what the classifier reads).
std::string PingCaptureFilter(const PingCaptureScope& scope);

// A captured packet of a ping, read back: an echo request or reply, or an
// ICMP error quoting an echo request.
struct PingPacket {
  enum class Kind { kRequest, kReply, kError };
  Kind kind = Kind::kRequest;
  bool v6 = false;
  uint16_t id = 0;
  uint16_t sequence16 = 0;
  std::optional<uint32_t> token, wire_sequence;  // from our payload, if captured
  // The request's destination: the target (a reply's source; an error's
  // quoted destination).
  SocketAddress target;
};
std::optional<PingPacket> ParsePingPacket(const CapturedIp& ip);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_PING_CAPTURE_H_
