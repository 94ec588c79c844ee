#include "agent/net/icmp.h"

#include "absl/strings/str_cat.h"

namespace netprobe::icmp {
namespace {

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
void PutBe16(uint8_t* p, uint16_t v) {
  p[0] = v >> 8;
  p[1] = v & 0xff;
}
void PutBe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
// The filler after our header: byte i of the payload is (i & 0xff), like
// iputils' default pattern, so a corrupted byte is visible.
uint8_t PatternByte(size_t index) { return static_cast<uint8_t>(index & 0xff); }

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed ICMP packet: ", why));
}

bool IsV4Error(uint8_t type) { return type == 3 || type == 11 || type == 12; }
bool IsV6Error(uint8_t type) { return type >= 1 && type <= 4; }

// The quoted IPv4 packet of an ICMP error: our echo request, or kOther.
ParsedIcmp ParseQuotedV4(uint8_t type, uint8_t code, absl::Span<const uint8_t> quoted) {
  ParsedIcmp out;  // kOther unless everything checks out
  if (quoted.size() < 20 || (quoted[0] >> 4) != 4) return out;
  const size_t ihl = (quoted[0] & 0x0f) * 4u;
  if (ihl < 20 || ihl > quoted.size()) return out;  // IHL 0..4, or beyond the quote
  if (quoted[9] != 1) return out;                   // not ICMP
  absl::Span<const uint8_t> inner = quoted.subspan(ihl);
  if (inner.size() < 8 || inner[0] != kEchoRequestV4) return out;
  out.kind = ParsedIcmp::Kind::kError;
  out.error.type = type;
  out.error.code = code;
  out.error.quoted_destination.assign(quoted.begin() + 16, quoted.begin() + 20);
  out.error.id = Be16(&inner[4]);
  out.error.sequence16 = Be16(&inner[6]);
  out.error.payload = ParsePayload(inner.subspan(8));
  return out;
}

ParsedIcmp ParseQuotedV6(uint8_t type, uint8_t code, absl::Span<const uint8_t> quoted) {
  ParsedIcmp out;
  if (quoted.size() < 40 || (quoted[0] >> 4) != 6) return out;
  if (quoted[6] != 58)
    return out;  // next header not ICMPv6 (extension headers: not ours)
  absl::Span<const uint8_t> inner = quoted.subspan(40);
  if (inner.size() < 8 || inner[0] != kEchoRequestV6) return out;
  out.kind = ParsedIcmp::Kind::kError;
  out.error.type = type;
  out.error.code = code;
  out.error.quoted_destination.assign(quoted.begin() + 24, quoted.begin() + 40);
  out.error.id = Be16(&inner[4]);
  out.error.sequence16 = Be16(&inner[6]);
  out.error.payload = ParsePayload(inner.subspan(8));
  return out;
}

ParsedIcmp EchoReplyOf(absl::Span<const uint8_t> icmp, uint8_t ttl) {
  ParsedIcmp out;
  out.kind = ParsedIcmp::Kind::kEchoReply;
  out.reply.id = Be16(&icmp[4]);
  out.reply.sequence16 = Be16(&icmp[6]);
  out.reply.payload_size = icmp.size() - 8;
  out.reply.payload = ParsePayload(icmp.subspan(8));
  out.reply.ttl = ttl;
  return out;
}

}  // namespace

uint16_t Checksum(absl::Span<const uint8_t> data) {
  uint32_t sum = 0;
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += Be16(&data[i]);
  if (i < data.size()) sum += static_cast<uint32_t>(data[i]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> BuildPayload(uint32_t token, uint32_t sequence, size_t size) {
  std::vector<uint8_t> payload(size);
  uint8_t header[kPayloadHeaderSize];
  PutBe32(header, kMagic);
  PutBe32(header + 4, token);
  PutBe32(header + 8, sequence);
  for (size_t i = 0; i < size; ++i) {
    payload[i] = i < kPayloadHeaderSize ? header[i] : PatternByte(i);
  }
  return payload;
}

std::vector<uint8_t> BuildEchoRequest(bool v6, uint16_t id, uint32_t sequence,
                                      uint32_t token, size_t payload_size) {
  std::vector<uint8_t> packet(8);
  packet[0] = v6 ? kEchoRequestV6 : kEchoRequestV4;
  PutBe16(&packet[4], id);
  PutBe16(&packet[6], static_cast<uint16_t>(sequence));
  const std::vector<uint8_t> payload = BuildPayload(token, sequence, payload_size);
  packet.insert(packet.end(), payload.begin(), payload.end());
  if (!v6) PutBe16(&packet[2], Checksum(packet));
  return packet;
}

absl::StatusOr<std::vector<uint8_t>> BuildConstantChecksumEchoRequest(
    bool v6, uint16_t id, uint16_t sequence, uint32_t token, uint16_t flow,
    size_t payload_size) {
  if (payload_size < kPayloadHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("echo payload of ", payload_size, " bytes is below the ",
                     kPayloadHeaderSize, " that carry the compensating word"));
  }
  const uint16_t compensation = static_cast<uint16_t>(0xffff - sequence);
  const uint32_t word = static_cast<uint32_t>(flow) << 16 | compensation;
  std::vector<uint8_t> packet = BuildEchoRequest(v6, id, word, token, payload_size);
  PutBe16(&packet[6], sequence);
  PutBe16(&packet[2], 0);
  if (!v6) PutBe16(&packet[2], Checksum(packet));
  return packet;
}

PayloadHeader ParsePayload(absl::Span<const uint8_t> payload) {
  PayloadHeader out;
  if (payload.size() < 4 || Be32(payload.data()) != kMagic) return out;
  if (payload.size() >= 8) out.token = Be32(&payload[4]);
  if (payload.size() >= 12) out.sequence = Be32(&payload[8]);
  for (size_t i = kPayloadHeaderSize; i < payload.size(); ++i) {
    if (payload[i] != PatternByte(i)) {
      out.pattern_intact = false;
      break;
    }
  }
  return out;
}

absl::StatusOr<ParsedIcmp> ParseIcmpV4(absl::Span<const uint8_t> packet) {
  if (packet.size() < 20) return Malformed("shorter than an IPv4 header");
  if ((packet[0] >> 4) != 4) return Malformed("not IPv4");
  const size_t ihl = (packet[0] & 0x0f) * 4u;
  if (ihl < 20) return Malformed("IHL below 5");
  if (ihl > packet.size()) return Malformed("IHL beyond the bytes received");
  const size_t total = Be16(&packet[2]);
  if (total < ihl) return Malformed("total length below the header length");
  // A total length beyond what arrived means a truncated read: use what came.
  absl::Span<const uint8_t> icmp =
      packet.subspan(ihl, std::min(total, packet.size()) - ihl);
  if (packet[9] != 1) return Malformed("not ICMP");
  if (icmp.size() < 8) return Malformed("shorter than an ICMP header");
  if (Checksum(icmp) != 0) return Malformed("bad ICMP checksum");
  const uint8_t type = icmp[0];
  if (type == kEchoReplyV4) return EchoReplyOf(icmp, packet[8]);
  if (IsV4Error(type)) return ParseQuotedV4(type, icmp[1], icmp.subspan(8));
  return ParsedIcmp{};
}

absl::StatusOr<ParsedIcmp> ParseIcmpV6(absl::Span<const uint8_t> packet) {
  if (packet.size() < 8) return Malformed("shorter than an ICMPv6 header");
  const uint8_t type = packet[0];
  if (type == kEchoReplyV6) return EchoReplyOf(packet, 0);
  if (IsV6Error(type)) return ParseQuotedV6(type, packet[1], packet.subspan(8));
  return ParsedIcmp{};
}

absl::StatusOr<ParsedIcmp> ParseDatagramEchoReply(bool v6,
                                                  absl::Span<const uint8_t> packet) {
  if (packet.size() < 8) return Malformed("shorter than an ICMP header");
  if (packet[0] != (v6 ? kEchoReplyV6 : kEchoReplyV4)) return ParsedIcmp{};
  return EchoReplyOf(packet, 0);
}

}  // namespace netprobe::icmp
