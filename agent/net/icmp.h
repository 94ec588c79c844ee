#ifndef NETPROBE_AGENT_NET_ICMP_H_
#define NETPROBE_AGENT_NET_ICMP_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace netprobe::icmp {

// Our echo payload starts with this header (all big-endian), as much of it as
// the requested size holds; the rest is a fixed pattern:
//   magic "NPRB" | request token (32 bits) | packet sequence (32 bits)
// The 32-bit sequence disambiguates ICMP's 16-bit one, so a long run never
// wraps into ambiguity; the token tells our requests apart.
inline constexpr uint32_t kMagic = 0x4e505242;
inline constexpr size_t kPayloadHeaderSize = 12;

inline constexpr uint8_t kEchoRequestV4 = 8, kEchoReplyV4 = 0;
inline constexpr uint8_t kEchoRequestV6 = 128, kEchoReplyV6 = 129;

// RFC 1071 Internet checksum of `data`.
uint16_t Checksum(absl::Span<const uint8_t> data);

// An ICMP (v4: with its checksum) or ICMPv6 (checksum left 0: the kernel fills
// it for ICMPv6 raw and datagram sockets) echo request.
std::vector<uint8_t> BuildEchoRequest(bool v6, uint16_t id, uint32_t sequence,
                                      uint32_t token, size_t payload_size);

// Our payload alone, `size` bytes: the header above (as much as fits), then
// the pattern. Echo requests carry it; so do other probes' datagrams (a
// traceroute's UDP probes), which ParsePayload reads back from an error.
std::vector<uint8_t> BuildPayload(uint32_t token, uint32_t sequence, size_t size);

// An echo request whose checksum is the same for every `sequence` (Paris
// traceroute: routers that balance ICMP by its first bytes see one flow).
// Its payload (at least kPayloadHeaderSize bytes, else INVALID_ARGUMENT) is
//   magic | token | flow (16 bits) | 0xffff - sequence (16 bits) | pattern
// so the ones' complement sum of the sequence and its compensating word is
// always 0xffff: the checksum depends on (id, token, flow, size) only, and
// `flow` picks a distinct checksum. The payload's sequence field reads as
// flow << 16 | (0xffff - sequence). v6: checksum left 0, as BuildEchoRequest.
absl::StatusOr<std::vector<uint8_t>> BuildConstantChecksumEchoRequest(
    bool v6, uint16_t id, uint16_t sequence, uint32_t token, uint16_t flow,
    size_t payload_size);

// What our payload header says, where the bytes hold it.
struct PayloadHeader {
  std::optional<uint32_t> token;
  std::optional<uint32_t> sequence;
  // False when the bytes after our header differ from the pattern we send.
  bool pattern_intact = true;
};
PayloadHeader ParsePayload(absl::Span<const uint8_t> payload);

// The addresses inside packets, as raw bytes (4 or 16).
using AddressBytes = std::vector<uint8_t>;

struct EchoReply {
  uint16_t id = 0;
  uint16_t sequence16 = 0;
  PayloadHeader payload;
  size_t payload_size = 0;
  // v4: from the IP header; v6: not in the packet (0; the caller has it).
  uint8_t ttl = 0;
};

// An ICMP error that quotes an echo request.
struct QuotedEchoError {
  uint8_t type = 0;
  uint8_t code = 0;
  AddressBytes quoted_destination;  // the request's destination
  uint16_t id = 0;
  uint16_t sequence16 = 0;
  PayloadHeader payload;  // of the quoted request, where quoted far enough
};

struct ParsedIcmp {
  enum class Kind {
    kEchoReply,
    kError,  // an error quoting an echo request
    kOther,  // valid but not for us: other types, errors quoting other packets
  };
  Kind kind = Kind::kOther;
  EchoReply reply;
  QuotedEchoError error;
};

// Parses what a raw IPv4 ICMP socket receives: the IPv4 header, then ICMP.
// Trusts nothing: IHL >= 5 and within the bytes received, total length, the
// ICMP checksum, the quoted header's IHL and every quoted length.
// INVALID_ARGUMENT for malformed packets.
absl::StatusOr<ParsedIcmp> ParseIcmpV4(absl::Span<const uint8_t> packet);

// Parses what a raw ICMPv6 socket receives: the ICMPv6 message (no IPv6
// header). Quoted packets must be IPv6 carrying ICMPv6 directly.
absl::StatusOr<ParsedIcmp> ParseIcmpV6(absl::Span<const uint8_t> packet);

// Parses an echo reply as an ICMP datagram ("ping") socket delivers it: the
// ICMP header without an IP header, v4 or v6.
absl::StatusOr<ParsedIcmp> ParseDatagramEchoReply(bool v6,
                                                  absl::Span<const uint8_t> packet);

}  // namespace netprobe::icmp

#endif  // NETPROBE_AGENT_NET_ICMP_H_
