#ifndef NETPROBE_AGENT_NET_UDP_ECHO_PAYLOAD_H_
#define NETPROBE_AGENT_NET_UDP_ECHO_PAYLOAD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace netprobe::udp_echo {

// What every UDP echo datagram of ours carries, so any echo server (an
// agent's responder, an RFC 862 server) returns everything needed to match
// and time the reply. Big-endian:
//   0  magic "NPUE"   4  token (per request)   8  sequence (32-bit)
//   12 reserved, 0    16 send time, ns since the Unix epoch (64-bit)
// followed by a fixed pattern, so corruption anywhere shows.
inline constexpr uint32_t kMagic = 0x4e505545;  // "NPUE"
inline constexpr size_t kHeaderSize = 24;

struct Header {
  uint32_t token = 0;
  uint32_t sequence = 0;
  absl::Time sent;
};

// A datagram of `size` bytes (at least kHeaderSize).
std::vector<uint8_t> Build(const Header& header, size_t size);

struct Parsed {
  Header header;
  // The bytes after the header match the pattern.
  bool intact = true;
};
// nullopt when `datagram` is shorter than the header or not ours (magic).
std::optional<Parsed> Parse(absl::Span<const uint8_t> datagram);

}  // namespace netprobe::udp_echo

#endif  // NETPROBE_AGENT_NET_UDP_ECHO_PAYLOAD_H_
