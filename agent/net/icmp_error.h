#ifndef NETPROBE_AGENT_NET_ICMP_ERROR_H_
#define NETPROBE_AGENT_NET_ICMP_ERROR_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "agent/net/icmp.h"

namespace netprobe::icmp {

// ICMP errors as traceroute reads them: who answered, with which TTL, the
// quoted packet's header fields and transport bytes, the MTU of "fragmentation
// needed" / "packet too big", and the MPLS label stack of RFC 4950. Pure
// functions on bytes; no length in a packet is trusted.

// One MPLS label stack entry (RFC 4950 / RFC 3032).
struct MplsEntry {
  uint32_t label = 0;         // 20 bits
  uint8_t traffic_class = 0;  // 3 bits ("EXP")
  bool bottom_of_stack = false;
  uint8_t ttl = 0;

  friend bool operator==(const MplsEntry&, const MplsEntry&) = default;
};

// An RFC 4884 extension structure.
struct IcmpExtensions {
  std::vector<MplsEntry> mpls;  // every class 1 / c-type 1 object, in order
  size_t other_objects = 0;     // objects of other classes or c-types
};

// Parses the extension structure that follows an ICMP error's original
// datagram field: a 4-byte header (version 2, checksum over the whole
// structure, checked when non-zero) and objects, each with a length >= 4, a
// multiple of 4, within `extension`, until its last byte. INVALID_ARGUMENT
// when any of that fails.
absl::StatusOr<IcmpExtensions> ParseIcmpExtensions(absl::Span<const uint8_t> extension);

// The packet an ICMP error quotes: its IP header fields and the transport
// bytes, as many as the router quoted (and no more than the quoted length
// says the packet held: not the zero padding of RFC 4884).
struct Quote {
  uint8_t ip_version = 0;  // 4 or 6
  AddressBytes source, destination;
  // v4: the protocol; v6: the first next header, which may be an extension
  // header (then transport holds it and nothing is parsed beyond it).
  uint8_t protocol = 0;
  uint8_t ttl = 0;          // TTL / hop limit as the router saw it (usually 0 or 1)
  uint16_t ip_id = 0;       // v4
  uint32_t flow_label = 0;  // v6 (20 bits)
  // v4: the total length field; v6: 40 + the payload length field.
  uint32_t total_length = 0;
  std::vector<uint8_t> transport;
};

// The quoted transport header, where the quote holds it (RFC 792 guarantees
// 8 bytes, RFC 1812 routers quote more). The payload spans point into
// `quote.transport`: valid while that quote lives, unmodified.
struct QuotedUdp {
  uint16_t source_port = 0, destination_port = 0;
  uint16_t length = 0, checksum = 0;
  absl::Span<const uint8_t> payload;  // what was quoted, up to `length`
};
struct QuotedTcp {
  uint16_t source_port = 0, destination_port = 0;
  uint32_t sequence = 0;  // the last of the 8 bytes every router quotes
};
struct QuotedEcho {
  uint8_t type = 0, code = 0;
  uint16_t id = 0, sequence = 0;
  absl::Span<const uint8_t> payload;  // what was quoted
};
// Each: nullopt unless the quote carries that protocol directly (v4 protocol
// / v6 next header 17, 6, 1 / 58) and holds the 8 bytes read.
std::optional<QuotedUdp> QuotedUdpOf(const Quote& quote);
std::optional<QuotedTcp> QuotedTcpOf(const Quote& quote);
std::optional<QuotedEcho> QuotedEchoOf(const Quote& quote);

struct IcmpError {
  uint8_t type = 0, code = 0;
  // v4: the outer header's TTL. v6: 0 (not in what a raw ICMPv6 socket
  // reads; callers take it from the IPV6_HOPLIMIT control message).
  uint8_t reply_ttl = 0;
  // v4 type 3 code 4 (bytes 6-7), v6 type 2 (bytes 4-7); 0 otherwise.
  uint32_t next_hop_mtu = 0;
  AddressBytes responder;  // v4: the outer source; v6: empty (the caller's from)
  Quote quote;
  // True when a valid RFC 4884 extension structure followed the quote; its
  // MPLS entries and the count of other objects.
  bool has_extensions = false;
  std::vector<MplsEntry> mpls;
  size_t other_extension_objects = 0;
};

// Parses what a raw IPv4 ICMP socket receives: the IPv4 header, then ICMP.
// nullopt for types other than 3, 11, 12 (not an error traceroute reads).
// INVALID_ARGUMENT when the outer header (version, IHL, total length equal to
// the bytes received, protocol), the ICMP checksum or the quoted IPv4 header
// (version, IHL within the quote) is malformed. An extension structure that
// fails validation is ignored (has_extensions false), the error still parsed.
// The extension starts at the RFC 4884 length (byte 5, 32-bit words, at least
// 128 bytes); when that is 0 and more than 128 bytes follow the ICMP header,
// at byte 128 if a valid structure with a non-zero checksum sits there (RFC
// 4884 section 5's compatibility rule).
absl::StatusOr<std::optional<IcmpError>> ParseIcmpErrorV4(
    absl::Span<const uint8_t> packet);

// Parses what a raw ICMPv6 socket receives: the ICMPv6 message, no IPv6
// header (the kernel checked its checksum). nullopt for types other than 1-4.
// INVALID_ARGUMENT when shorter than the ICMPv6 header or when the quote does
// not hold an IPv6 header. Extensions as for v4, for types 1 and 3 (length at
// byte 4, in 64-bit words).
absl::StatusOr<std::optional<IcmpError>> ParseIcmpErrorV6(
    absl::Span<const uint8_t> message);

// The extension structure of an error read from a socket's error queue,
// whose data is the original datagram without its first `skipped` bytes (the
// quoted IP header, and for UDP sockets the UDP header too).
// `rfc4884_offset` is the kernel's ee_rfc4884.len (IP_RECVERR_RFC4884):
// already an offset in `data`. When it is 0, the compatibility rule: at
// original datagram byte 128, data byte 128 - `skipped`, when a structure
// with a non-zero, valid checksum sits there. nullopt when no valid
// extension structure is found.
std::optional<IcmpExtensions> ErrorQueueExtensions(absl::Span<const uint8_t> data,
                                                   size_t rfc4884_offset, size_t skipped);

}  // namespace netprobe::icmp

#endif  // NETPROBE_AGENT_NET_ICMP_ERROR_H_
