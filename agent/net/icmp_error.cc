#include "agent/net/icmp_error.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace netprobe::icmp {
namespace {

// RFC 4884: the original datagram field is at least this long when extended.
constexpr size_t kMinOriginalDatagram = 128;
constexpr size_t kExtensionHeader = 4;
constexpr size_t kIpv4Header = 20, kIpv6Header = 40;

uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t LoadBe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

absl::Status Invalid(absl::string_view what, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed ", what, ": ", why));
}

// True when `bytes` starts a version 2 extension header whose checksum is
// non-zero and correct: the test for a structure nothing announced.
bool LooksLikeExtension(absl::Span<const uint8_t> bytes) {
  return bytes.size() >= kExtensionHeader && (bytes[0] >> 4) == 2 &&
         LoadBe16(&bytes[2]) != 0 && Checksum(bytes) == 0;
}

// Splits an ICMP error's body (after its 8-byte header) into the original
// datagram and the extension structure (empty when none), from the RFC 4884
// length in bytes (0: not announced). A length below 128 or beyond the body
// announces nothing usable: the whole body is the original datagram.
struct Split {
  absl::Span<const uint8_t> original, extension;
};
Split SplitBody(absl::Span<const uint8_t> body, size_t announced) {
  if (announced != 0) {
    if (announced < kMinOriginalDatagram || announced + kExtensionHeader > body.size()) {
      return {body, {}};
    }
    return {body.first(announced), body.subspan(announced)};
  }
  if (body.size() > kMinOriginalDatagram &&
      LooksLikeExtension(body.subspan(kMinOriginalDatagram))) {
    return {body.first(kMinOriginalDatagram), body.subspan(kMinOriginalDatagram)};
  }
  return {body, {}};
}

void AddExtensions(absl::Span<const uint8_t> extension, IcmpError* out) {
  if (extension.empty()) return;
  absl::StatusOr<IcmpExtensions> parsed = ParseIcmpExtensions(extension);
  if (!parsed.ok()) return;  // a broken extension does not spoil the quote
  out->has_extensions = true;
  out->mpls = std::move(parsed->mpls);
  out->other_extension_objects = parsed->other_objects;
}

// The transport bytes of a quote: from `header` on, no further than the
// quoted packet's own length says it went (when that length is plausible).
std::vector<uint8_t> TransportOf(absl::Span<const uint8_t> quoted, size_t header,
                                 size_t total_length) {
  size_t end = quoted.size();
  if (total_length >= header) end = std::min(end, total_length);
  return std::vector<uint8_t>(quoted.begin() + header, quoted.begin() + end);
}

absl::StatusOr<Quote> ParseQuoteV4(absl::Span<const uint8_t> quoted) {
  if (quoted.size() < kIpv4Header) return Invalid("quote", "shorter than an IPv4 header");
  if ((quoted[0] >> 4) != 4) return Invalid("quote", "not IPv4");
  const size_t ihl = (quoted[0] & 0x0f) * 4u;
  if (ihl < kIpv4Header) return Invalid("quote", "IHL below 5");
  if (ihl > quoted.size()) return Invalid("quote", "IHL beyond the quoted bytes");
  Quote q;
  q.ip_version = 4;
  q.total_length = LoadBe16(&quoted[2]);
  q.ip_id = LoadBe16(&quoted[4]);
  q.ttl = quoted[8];
  q.protocol = quoted[9];
  q.source.assign(quoted.begin() + 12, quoted.begin() + 16);
  q.destination.assign(quoted.begin() + 16, quoted.begin() + 20);
  q.transport = TransportOf(quoted, ihl, q.total_length);
  return q;
}

absl::StatusOr<Quote> ParseQuoteV6(absl::Span<const uint8_t> quoted) {
  if (quoted.size() < kIpv6Header) return Invalid("quote", "shorter than an IPv6 header");
  if ((quoted[0] >> 4) != 6) return Invalid("quote", "not IPv6");
  Quote q;
  q.ip_version = 6;
  q.flow_label = LoadBe32(&quoted[0]) & 0xfffff;
  q.total_length = kIpv6Header + LoadBe16(&quoted[4]);
  q.protocol = quoted[6];
  q.ttl = quoted[7];
  q.source.assign(quoted.begin() + 8, quoted.begin() + 24);
  q.destination.assign(quoted.begin() + 24, quoted.begin() + 40);
  q.transport = TransportOf(quoted, kIpv6Header, q.total_length);
  return q;
}

bool IsTracedV4Error(uint8_t type) { return type == 3 || type == 11 || type == 12; }
bool IsTracedV6Error(uint8_t type) { return type >= 1 && type <= 4; }

}  // namespace

absl::StatusOr<IcmpExtensions> ParseIcmpExtensions(absl::Span<const uint8_t> extension) {
  constexpr absl::string_view kWhat = "ICMP extension structure";
  if (extension.size() < kExtensionHeader)
    return Invalid(kWhat, "shorter than its header");
  if ((extension[0] >> 4) != 2) return Invalid(kWhat, "version is not 2");
  if (LoadBe16(&extension[2]) != 0 && Checksum(extension) != 0) {
    return Invalid(kWhat, "bad checksum");
  }
  IcmpExtensions out;
  size_t at = kExtensionHeader;
  while (at < extension.size()) {
    const absl::Span<const uint8_t> rest = extension.subspan(at);
    if (rest.size() < 4) return Invalid(kWhat, "object header cut short");
    const size_t length = LoadBe16(&rest[0]);
    if (length < 4 || length % 4 != 0) {
      return Invalid(kWhat, absl::StrCat("object length ", length));
    }
    if (length > rest.size()) return Invalid(kWhat, "object beyond the bytes");
    const uint8_t class_num = rest[2], c_type = rest[3];
    if (class_num == 1 && c_type == 1) {
      for (size_t i = 4; i < length; i += 4) {
        const uint32_t word = LoadBe32(&rest[i]);
        out.mpls.push_back(MplsEntry{.label = word >> 12,
                                     .traffic_class = static_cast<uint8_t>(word >> 9 & 7),
                                     .bottom_of_stack = (word >> 8 & 1) != 0,
                                     .ttl = static_cast<uint8_t>(word & 0xff)});
      }
    } else {
      ++out.other_objects;
    }
    at += length;
  }
  return out;
}

std::optional<QuotedUdp> QuotedUdpOf(const Quote& quote) {
  if (quote.protocol != 17 || quote.transport.size() < 8) return std::nullopt;
  const absl::Span<const uint8_t> t(quote.transport);
  QuotedUdp out;
  out.source_port = LoadBe16(&t[0]);
  out.destination_port = LoadBe16(&t[2]);
  out.length = LoadBe16(&t[4]);
  out.checksum = LoadBe16(&t[6]);
  size_t end = t.size();
  if (out.length >= 8) end = std::min<size_t>(end, out.length);
  out.payload = t.subspan(8, end - 8);
  return out;
}

std::optional<QuotedTcp> QuotedTcpOf(const Quote& quote) {
  if (quote.protocol != 6 || quote.transport.size() < 8) return std::nullopt;
  const uint8_t* t = quote.transport.data();
  return QuotedTcp{.source_port = LoadBe16(&t[0]),
                   .destination_port = LoadBe16(&t[2]),
                   .sequence = LoadBe32(&t[4])};
}

std::optional<QuotedEcho> QuotedEchoOf(const Quote& quote) {
  const uint8_t icmp_protocol = quote.ip_version == 6 ? 58 : 1;
  if (quote.protocol != icmp_protocol || quote.transport.size() < 8) return std::nullopt;
  const absl::Span<const uint8_t> t(quote.transport);
  return QuotedEcho{.type = t[0],
                    .code = t[1],
                    .id = LoadBe16(&t[4]),
                    .sequence = LoadBe16(&t[6]),
                    .payload = t.subspan(8)};
}

absl::StatusOr<std::optional<IcmpError>> ParseIcmpErrorV4(
    absl::Span<const uint8_t> packet) {
  constexpr absl::string_view kWhat = "ICMP packet";
  if (packet.size() < kIpv4Header) return Invalid(kWhat, "shorter than an IPv4 header");
  if ((packet[0] >> 4) != 4) return Invalid(kWhat, "not IPv4");
  const size_t ihl = (packet[0] & 0x0f) * 4u;
  if (ihl < kIpv4Header) return Invalid(kWhat, "IHL below 5");
  if (ihl > packet.size()) return Invalid(kWhat, "IHL beyond the bytes received");
  const size_t total = LoadBe16(&packet[2]);
  if (total < ihl) return Invalid(kWhat, "total length below the header length");
  if (total > packet.size())
    return Invalid(kWhat, "total length beyond the bytes received");
  if (packet[9] != 1) return Invalid(kWhat, "not ICMP");
  const absl::Span<const uint8_t> icmp = packet.subspan(ihl, total - ihl);
  if (icmp.size() < 8) return Invalid(kWhat, "shorter than an ICMP header");
  if (Checksum(icmp) != 0) return Invalid(kWhat, "bad ICMP checksum");
  const uint8_t type = icmp[0];
  if (!IsTracedV4Error(type)) return std::nullopt;

  IcmpError out;
  out.type = type;
  out.code = icmp[1];
  out.reply_ttl = packet[8];
  out.responder.assign(packet.begin() + 12, packet.begin() + 16);
  if (type == 3 && out.code == 4) out.next_hop_mtu = LoadBe16(&icmp[6]);
  const Split split = SplitBody(icmp.subspan(8), icmp[5] * 4u);
  absl::StatusOr<Quote> quote = ParseQuoteV4(split.original);
  if (!quote.ok()) return quote.status();
  out.quote = *std::move(quote);
  AddExtensions(split.extension, &out);
  return out;
}

absl::StatusOr<std::optional<IcmpError>> ParseIcmpErrorV6(
    absl::Span<const uint8_t> message) {
  if (message.size() < 8) return Invalid("ICMPv6 message", "shorter than its header");
  const uint8_t type = message[0];
  if (!IsTracedV6Error(type)) return std::nullopt;

  IcmpError out;
  out.type = type;
  out.code = message[1];
  if (type == 2) out.next_hop_mtu = LoadBe32(&message[4]);
  // Only unreachable and time exceeded carry the RFC 4884 length; the others
  // use bytes 4-7 for the MTU or the pointer.
  const bool has_length = type == 1 || type == 3;
  const Split split = has_length ? SplitBody(message.subspan(8), message[4] * 8u)
                                 : Split{message.subspan(8), {}};
  absl::StatusOr<Quote> quote = ParseQuoteV6(split.original);
  if (!quote.ok()) return quote.status();
  out.quote = *std::move(quote);
  AddExtensions(split.extension, &out);
  return out;
}

std::optional<IcmpExtensions> ErrorQueueExtensions(absl::Span<const uint8_t> data,
                                                   size_t rfc4884_offset,
                                                   size_t skipped) {
  size_t at = rfc4884_offset;
  if (at == 0) {
    if (skipped >= kMinOriginalDatagram) return std::nullopt;
    at = kMinOriginalDatagram - skipped;
    if (at >= data.size() || !LooksLikeExtension(data.subspan(at))) return std::nullopt;
  }
  if (at >= data.size()) return std::nullopt;
  absl::StatusOr<IcmpExtensions> parsed = ParseIcmpExtensions(data.subspan(at));
  if (!parsed.ok()) return std::nullopt;
  return *std::move(parsed);
}

}  // namespace netprobe::icmp
