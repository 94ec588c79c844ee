#include "agent/net/captured_packet.h"

#include <netinet/in.h>
#include <pcap/dlt.h>
#include <sys/socket.h>

#include <cstring>

namespace netprobe {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86dd, kEtherVlan = 0x8100,
                   kEtherQinQ = 0x88a8;

SocketAddress CapturedAddress(int family, const uint8_t* bytes) {
  if (family == AF_INET) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    std::memcpy(&sin.sin_addr, bytes, 4);
    return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  std::memcpy(&sin6.sin6_addr, bytes, 16);
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6));
}

std::optional<CapturedIp> ParseV4(absl::Span<const uint8_t> p) {
  if (p.size() < 20 || (p[0] >> 4) != 4) return std::nullopt;
  const size_t ihl = (p[0] & 0x0f) * 4u;
  if (ihl < 20 || ihl > p.size()) return std::nullopt;
  const size_t total = static_cast<size_t>(p[2]) << 8 | p[3];
  if (total < ihl) return std::nullopt;
  CapturedIp out;
  out.family = AF_INET;
  out.ttl = p[8];
  out.protocol = p[9];
  out.source = CapturedAddress(AF_INET, &p[12]);
  out.destination = CapturedAddress(AF_INET, &p[16]);
  out.fragment = ((static_cast<size_t>(p[6]) << 8 | p[7]) & 0x1fff) != 0;
  // A snaplen may have cut the packet; padding beyond `total` is not ours.
  out.ip = p.subspan(0, std::min(total, p.size()));
  out.l4 = out.ip.subspan(ihl);
  return out;
}

std::optional<CapturedIp> ParseV6(absl::Span<const uint8_t> p) {
  if (p.size() < 40 || (p[0] >> 4) != 6) return std::nullopt;
  const size_t total = 40 + (static_cast<size_t>(p[4]) << 8 | p[5]);
  CapturedIp out;
  out.family = AF_INET6;
  out.ttl = p[7];
  out.source = CapturedAddress(AF_INET6, &p[8]);
  out.destination = CapturedAddress(AF_INET6, &p[24]);
  out.ip = p.subspan(0, std::min(total, p.size()));
  uint8_t next = p[6];
  size_t offset = 40;
  // Hop-by-hop, routing, destination options and fragment headers.
  for (int i = 0; i < 8; ++i) {
    if (next != 0 && next != 43 && next != 60 && next != 44) break;
    if (offset + 8 > out.ip.size()) return std::nullopt;
    const uint8_t following = out.ip[offset];
    size_t length = 0;
    if (next == 44) {
      length = 8;
      out.fragment =
          ((static_cast<size_t>(out.ip[offset + 2]) << 8 | out.ip[offset + 3]) &
           0xfff8) != 0;
    } else {
      length = (static_cast<size_t>(out.ip[offset + 1]) + 1) * 8;
    }
    next = following;
    offset += length;
  }
  if (offset > out.ip.size()) return std::nullopt;
  out.protocol = next;
  out.l4 = out.ip.subspan(offset);
  return out;
}

uint32_t Read32(absl::Span<const uint8_t> p, size_t offset) {
  return static_cast<uint32_t>(p[offset]) << 24 |
         static_cast<uint32_t>(p[offset + 1]) << 16 |
         static_cast<uint32_t>(p[offset + 2]) << 8 | p[offset + 3];
}

std::optional<CapturedIp> ByEtherType(uint16_t type, absl::Span<const uint8_t> p) {
  if (type == kEtherIpv4) return ParseV4(p);
  if (type == kEtherIpv6) return ParseV6(p);
  return std::nullopt;
}

}  // namespace

std::optional<uint16_t> Read16(absl::Span<const uint8_t> data, size_t offset) {
  if (offset + 2 > data.size()) return std::nullopt;
  return static_cast<uint16_t>(data[offset] << 8 | data[offset + 1]);
}

std::optional<CapturedIp> ParseCapturedIp(int link_type, absl::Span<const uint8_t> f) {
  switch (link_type) {
    case DLT_LINUX_SLL: {
      const std::optional<uint16_t> type = Read16(f, 14);
      if (!type) return std::nullopt;
      return ByEtherType(*type, f.subspan(16));
    }
    case DLT_LINUX_SLL2: {
      const std::optional<uint16_t> type = Read16(f, 0);
      if (!type || f.size() < 20) return std::nullopt;
      return ByEtherType(*type, f.subspan(20));
    }
    case DLT_EN10MB: {
      size_t offset = 12;
      std::optional<uint16_t> type = Read16(f, offset);
      for (int tags = 0; tags < 2 && type && (*type == kEtherVlan || *type == kEtherQinQ);
           ++tags) {
        offset += 4;
        type = Read16(f, offset);
      }
      if (!type) return std::nullopt;
      return ByEtherType(*type, f.subspan(offset + 2));
    }
    case DLT_NULL:
    case DLT_LOOP:
      if (f.size() < 4) return std::nullopt;
      if (f.size() > 4 && (f[4] >> 4) == 4) return ParseV4(f.subspan(4));
      if (f.size() > 4 && (f[4] >> 4) == 6) return ParseV6(f.subspan(4));
      return std::nullopt;
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
#if DLT_RAW != 12
    case 12:
#endif
      if (!f.empty() && (f[0] >> 4) == 4) return ParseV4(f);
      if (!f.empty() && (f[0] >> 4) == 6) return ParseV6(f);
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<CapturedFlow> ParseCapturedFlow(const CapturedIp& ip, uint8_t protocol) {
  CapturedFlow flow;
  if (ip.fragment) return std::nullopt;
  if (ip.protocol == protocol) {
    const std::optional<uint16_t> sport = Read16(ip.l4, 0), dport = Read16(ip.l4, 2);
    if (!sport || !dport) return std::nullopt;
    flow.source = ip.source;
    flow.destination = ip.destination;
    flow.source.set_port(*sport);
    flow.destination.set_port(*dport);
    size_t header = 8;
    if (protocol == IPPROTO_TCP) {
      if (ip.l4.size() < 14) return std::nullopt;
      flow.tcp_flags = ip.l4[13];
      flow.tcp_sequence = Read32(ip.l4, 4);
      flow.tcp_ack = Read32(ip.l4, 8);
      header = ip.l4.size() >= 13 ? (ip.l4[12] >> 4) * 4u : 20;
    }
    if (header <= ip.l4.size()) flow.payload = ip.l4.subspan(header);
    return flow;
  }
  const bool v6 = ip.family == AF_INET6;
  if (ip.protocol != (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP) || ip.l4.size() < 8) {
    return std::nullopt;
  }
  const uint8_t type = ip.l4[0];
  const bool error = v6 ? (type >= 1 && type <= 3) : (type == 3 || type == 11);
  if (!error) return std::nullopt;
  const std::optional<CapturedIp> quoted =
      v6 ? ParseV6(ip.l4.subspan(8)) : ParseV4(ip.l4.subspan(8));
  // The quote is cut short (RFC 792: the header and 8 bytes), so its own
  // length field says more than is there: its ports are what we need.
  if (!quoted || quoted->protocol != protocol) return std::nullopt;
  const std::optional<uint16_t> sport = Read16(quoted->l4, 0),
                                dport = Read16(quoted->l4, 2);
  if (!sport || !dport) return std::nullopt;
  flow.quoted = true;
  // A UDP quote's datagram, as far as the error quoted it.
  if (protocol == IPPROTO_UDP && quoted->l4.size() > 8)
    flow.payload = quoted->l4.subspan(8);
  if (protocol == IPPROTO_TCP && quoted->l4.size() >= 8) {
    flow.tcp_sequence = Read32(quoted->l4, 4);
  }
  flow.source = quoted->source;
  flow.destination = quoted->destination;
  flow.source.set_port(*sport);
  flow.destination.set_port(*dport);
  return flow;
}

}  // namespace netprobe
