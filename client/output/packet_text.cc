#include "client/output/packet_text.h"

#include <arpa/inet.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace netprobe::client {
namespace {

// Tunnels (IP in IP) and VLAN tags nest; these bound the nesting so a crafted
// packet cannot recurse deeply or loop long.
constexpr int kMaxIpNesting = 4;
constexpr int kMaxVlanTags = 8;
constexpr int kMaxIpv6ExtensionHeaders = 8;

// One layer of a packet: the captured bytes from its start, and its length on
// the wire (never less than what was captured). Reads past the captured bytes
// return 0; callers check Has() first so they can say "[|proto]" instead.
class Layer {
 public:
  Layer(absl::Span<const uint8_t> captured, uint64_t wire)
      : cap_(captured), wire_(std::max<uint64_t>(wire, captured.size())) {}

  bool Has(size_t n) const { return cap_.size() >= n; }
  size_t captured() const { return cap_.size(); }
  uint64_t wire() const { return wire_; }
  absl::Span<const uint8_t> bytes() const { return cap_; }

  uint8_t U8(size_t at) const { return at < cap_.size() ? cap_[at] : 0; }
  uint16_t U16(size_t at) const {
    return static_cast<uint16_t>(U8(at) << 8 | U8(at + 1));
  }
  uint32_t U32(size_t at) const {
    return static_cast<uint32_t>(U16(at)) << 16 | U16(at + 2);
  }
  // `n` bytes at `at`, or fewer when not captured.
  absl::Span<const uint8_t> Bytes(size_t at, size_t n) const {
    if (at >= cap_.size()) return {};
    return cap_.subspan(at, n);
  }

  // What follows the first `n` bytes.
  Layer After(size_t n) const {
    return Layer(cap_.subspan(std::min(n, cap_.size())), wire_ > n ? wire_ - n : 0);
  }
  // This layer cut to `n` bytes on the wire (a header's length field).
  Layer Limit(uint64_t n) const { return Claimed(std::min(wire_, n)); }
  // This layer as `n` bytes long, as a header claims, even beyond the wire
  // (tcpdump's lengths trust the IP header once it said what is missing).
  Layer Claimed(uint64_t n) const {
    return Layer(cap_.first(std::min<uint64_t>(cap_.size(), n)), n);
  }

 private:
  absl::Span<const uint8_t> cap_;
  uint64_t wire_;
};

std::string Ipv4Text(absl::Span<const uint8_t> a) {
  if (a.size() < 4) return "?";
  return absl::StrFormat("%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

std::string Ipv6Text(absl::Span<const uint8_t> a) {
  if (a.size() < 16) return "?";
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(AF_INET6, a.data(), text, sizeof(text)) == nullptr) return "?";
  return text;
}

std::string MacText(absl::Span<const uint8_t> a) {
  std::string out;
  for (size_t i = 0; i < a.size(); ++i) {
    absl::StrAppendFormat(&out, "%s%02x", i == 0 ? "" : ":", a[i]);
  }
  return out;
}

std::string HexText(absl::Span<const uint8_t> a) {
  std::string out;
  for (uint8_t b : a) absl::StrAppendFormat(&out, "%02x", b);
  return out;
}

bool AllZero(absl::Span<const uint8_t> a) {
  return std::all_of(a.begin(), a.end(), [](uint8_t b) { return b == 0; });
}

const char* EtherTypeName(uint16_t type) {
  switch (type) {
    case 0x0800:
      return "IPv4";
    case 0x0806:
      return "ARP";
    case 0x8035:
      return "Reverse ARP";
    case 0x8100:
      return "802.1Q";
    case 0x86dd:
      return "IPv6";
    case 0x8808:
      return "MAC control";
    case 0x8809:
      return "Slow Protocols";
    case 0x8847:
      return "MPLS unicast";
    case 0x8848:
      return "MPLS multicast";
    case 0x8863:
      return "PPPoE D";
    case 0x8864:
      return "PPPoE S";
    case 0x888e:
      return "EAPOL";
    case 0x88a8:
      return "802.1Q-QinQ";
    case 0x88cc:
      return "LLDP";
    case 0x88e5:
      return "MACsec";
    case 0x88f7:
      return "PTP";
    case 0x8902:
      return "CFM";
    case 0x9000:
      return "Loopback";
    case 0x9100:
      return "802.1Q-9100";
    default:
      return "Unknown";
  }
}

// ICMP "destination unreachable" texts by code, around the unreachable
// address; codes 2, 3 and 4 have formats of their own.
struct UnreachableText {
  const char* before;
  const char* after;
};
constexpr UnreachableText kUnreachableTexts[] = {
    {"net ", " unreachable"},
    {"host ", " unreachable"},
    {"", ""},
    {"", ""},
    {"", ""},
    {"", " unreachable - source route failed"},
    {"net ", " unreachable - unknown"},
    {"host ", " unreachable - unknown"},
    {"", " unreachable - source host isolated"},
    {"net ", " unreachable - admin prohibited"},
    {"host ", " unreachable - admin prohibited"},
    {"net ", " unreachable - tos prohibited"},
    {"host ", " unreachable - tos prohibited"},
    {"host ", " unreachable - admin prohibited filter"},
    {"host ", " unreachable - host precedence violation"},
    {"host ", " unreachable - precedence cutoff"},
};

// Addresses of an IP packet, printed once before its payload: with the ports
// for TCP and UDP ("a.1 > b.2: "), alone otherwise ("a > b: "). After IPv6
// extension headers tcpdump has printed them already and shows the ports
// alone ("1 > 2: ").
struct Endpoints {
  std::string src;
  std::string dst;
  bool printed = false;
};

class Decoder {
 public:
  Decoder(uint64_t frame_length, const InterfaceNames* names,
          TcpSequenceNumbers* sequences)
      : frame_length_(frame_length), names_(names), sequences_(sequences) {}

  std::string Take() { return std::move(out_); }

  void Link(uint32_t link_type, const Layer& l) {
    switch (link_type) {
      case kDltEthernet:
        return Ethernet(l);
      case kDltLinuxSll:
        return Sll(l);
      case kDltLinuxSll2:
        return Sll2(l);
      case kDltRaw:
      case kDltRawOpenBsd:
      case kLinktypeRaw:
      case kDltIpv4:  // like tcpdump, trust the version field over the link type
      case kDltIpv6:
        return RawIp(l, 0);
      case kDltNull:
      case kDltLoop:
        return Loopback(link_type, l);
      default:
        absl::StrAppendFormat(&out_, "unsupported link-type %u, length %u", link_type,
                              frame_length_);
    }
  }

 private:
  void Append(absl::string_view text) { out_.append(text.data(), text.size()); }
  template <typename... Args>
  void Appendf(const absl::FormatSpec<Args...>& format, const Args&... args) {
    absl::StrAppendFormat(&out_, format, args...);
  }
  void Truncated(absl::string_view proto) { absl::StrAppend(&out_, "[|", proto, "]"); }

  void Ethernet(const Layer& l) {
    if (!l.Has(14)) return Truncated("ether");
    // Shown only for EtherTypes not decoded further, as tcpdump does.
    mac_addresses_ =
        absl::StrCat(MacText(l.Bytes(6, 6)), " > ", MacText(l.Bytes(0, 6)), ", ");
    EtherPayload(l.U16(12), l.After(14));
  }

  // What follows an EtherType, VLAN tags included.
  void EtherPayload(uint16_t type, Layer l) {
    for (int tags = 0; type == 0x8100 || type == 0x88a8 || type == 0x9100; ++tags) {
      if (tags == kMaxVlanTags) {
        return Appendf("vlan tags nested too deep, length %u", frame_length_);
      }
      if (!l.Has(4)) return Truncated("vlan");
      Appendf("vlan %u, ", l.U16(0) & 0x0fff);
      type = l.U16(2);
      l = l.After(4);
    }
    switch (type) {
      case 0x0800:
        return Ipv4(l, 0);
      case 0x86dd:
        return Ipv6(l, 0);
      case 0x0806:
        return Arp(l);
      default:
        if (type <= 1500) return Llc(l.Limit(type));
        Appendf("%sethertype %s (0x%04x), length %u", mac_addresses_, EtherTypeName(type),
                type, frame_length_);
    }
  }

  // An 802.2 LLC frame; SNAP frames with an EtherType are decoded further.
  void Llc(const Layer& l) {
    if (!l.Has(3)) return Truncated("llc");
    const uint8_t dsap = l.U8(0), ssap = l.U8(1), control = l.U8(2);
    if (dsap == 0xaa && ssap == 0xaa && control == 0x03) {
      if (!l.Has(8)) return Truncated("snap");
      const uint32_t oui = static_cast<uint32_t>(l.U8(3)) << 16 | l.U16(4);
      if (oui == 0) return EtherPayload(l.U16(6), l.After(8));
      return Appendf("SNAP, oui 0x%06x, pid 0x%04x, length %u", oui, l.U16(6), l.wire());
    }
    Appendf("LLC, dsap 0x%02x, ssap 0x%02x, ctrl 0x%02x, length %u", dsap, ssap, control,
            l.wire());
  }

  // What follows a Linux cooked header: `protocol` is an EtherType, or one of
  // Linux's own values below 0x0600.
  void CookedPayload(uint16_t hatype, uint16_t protocol, const Layer& l) {
    constexpr uint16_t kArphrdNetlink = 824;
    constexpr uint16_t kLinuxSllP8022 = 0x0004;
    if (hatype == kArphrdNetlink) {
      return Appendf("netlink protocol %u, length %u", protocol, l.wire());
    }
    if (protocol >= 0x0600) return EtherPayload(protocol, l);
    if (protocol == kLinuxSllP8022) return Llc(l);
    Appendf("Linux protocol 0x%04x, length %u", protocol, l.wire());
  }

  // Linux cooked v1 (16 bytes). tcpdump prints nothing of it without -e.
  void Sll(const Layer& l) {
    if (!l.Has(16)) return Truncated("sll");
    CookedPayload(l.U16(2), l.U16(14), l.After(16));
  }

  // Linux cooked v2 (20 bytes): tcpdump shows the interface and direction.
  void Sll2(const Layer& l) {
    if (!l.Has(20)) return Truncated("sll2");
    const uint32_t index = l.U32(4);
    std::string name = absl::StrCat("ifindex ", index);
    if (names_ != nullptr) {
      if (auto it = names_->find(index); it != names_->end()) {
        name = absl::CHexEscape(it->second);
      }
    }
    Appendf("%-5s %-3s ", name, Direction(l.U8(10)));
    CookedPayload(l.U16(8), l.U16(0), l.After(20));
  }

  static const char* Direction(uint8_t packet_type) {
    switch (packet_type) {
      case 0:
        return "In";
      case 1:
        return "B";
      case 2:
        return "M";
      case 3:
        return "P";
      case 4:
        return "Out";
      default:
        return "?";
    }
  }

  // DLT_NULL (host byte order of the capturing machine) and DLT_LOOP (network
  // byte order) start with an address family. A value whose low half is zero
  // was written in the other byte order.
  void Loopback(uint32_t link_type, const Layer& l) {
    if (!l.Has(4)) return Truncated("null");
    const uint32_t little = static_cast<uint32_t>(l.U8(3)) << 24 |
                            static_cast<uint32_t>(l.U8(2)) << 16 |
                            static_cast<uint32_t>(l.U8(1)) << 8 | l.U8(0);
    uint32_t family = link_type == kDltLoop ? l.U32(0) : little;
    if ((family & 0xffff) == 0 && family != 0) {
      family = (family >> 24) | ((family >> 8) & 0xff00) | ((family << 8) & 0xff0000) |
               (family << 24);
    }
    switch (family) {
      case 2:  // AF_INET everywhere
        return Ipv4(l.After(4), 0);
      case 10:  // AF_INET6 on Linux
      case 24:  // OpenBSD, NetBSD
      case 28:  // FreeBSD
      case 30:  // macOS
        return Ipv6(l.After(4), 0);
      default:
        Appendf("AF %u, length %u", family, frame_length_);
    }
  }

  void RawIp(const Layer& l, int depth) {
    if (!l.Has(1)) return Truncated("ip");
    switch (l.U8(0) >> 4) {
      case 4:
        return Ipv4(l, depth);
      case 6:
        return Ipv6(l, depth);
      default:
        Appendf("unknown ip %u", l.U8(0) >> 4);
    }
  }

  void Ipv4(const Layer& l, int depth) {
    if (!l.Has(1)) return Truncated("ip");
    const uint8_t version = l.U8(0) >> 4;
    if (version != 4) {
      if (version == 6) return Append("IP6, wrong link-layer encapsulation");
      return Appendf("IP%u (invalid)", version);
    }
    Append("IP ");
    if (!l.Has(20)) return Truncated("ip");
    const uint32_t header_length = (l.U8(0) & 0x0f) * 4;
    if (header_length < 20) return Appendf("bad-hlen %u", header_length);
    uint32_t total = l.U16(2);
    // Zero is what a TSO send looks like before the NIC splits it.
    if (total == 0) total = static_cast<uint32_t>(std::min<uint64_t>(l.wire(), 0xffff));
    if (total > l.wire()) Appendf("truncated-ip - %u bytes missing! ", total - l.wire());
    if (total < header_length) return Appendf("bad-len %u", l.U16(2));
    if (!l.Has(header_length)) return Truncated("ip");

    const uint16_t fragment = l.U16(6);
    const uint32_t offset = (fragment & 0x1fff) * 8;
    const bool more_fragments = (fragment & 0x2000) != 0;
    const uint8_t protocol = l.U8(9);
    Endpoints ends{Ipv4Text(l.Bytes(12, 4)), Ipv4Text(l.Bytes(16, 4))};
    const Layer payload = l.Claimed(total).After(header_length);
    if (offset == 0) {
      Transport(protocol, payload, ends, more_fragments, /*v6=*/false, depth);
    } else {
      // Only the first fragment holds the transport header.
      Appendf("%s > %s: ip-proto-%u", ends.src, ends.dst, protocol);
    }
    if (offset != 0 || more_fragments) {
      Appendf(" (frag %u:%u@%u%s)", l.U16(4), total - header_length, offset,
              more_fragments ? "+" : "");
    }
  }

  void Ipv6(const Layer& l, int depth) {
    if (!l.Has(1)) return Truncated("ip6");
    const uint8_t version = l.U8(0) >> 4;
    if (version != 6) return Appendf("IP6 version %u (invalid)", version);
    Append("IP6 ");
    if (!l.Has(40)) return Truncated("ip6");
    uint8_t next = l.U8(6);
    uint64_t total = 40 + static_cast<uint64_t>(l.U16(4));
    // A zero payload length announces a jumbogram (RFC 2675) or a GSO packet:
    // the wire length is the best there is.
    if (total == 40 && next == 0) total = l.wire();
    if (total > l.wire()) Appendf("truncated-ip6 - %u bytes missing! ", total - l.wire());
    Endpoints ends{Ipv6Text(l.Bytes(8, 16)), Ipv6Text(l.Bytes(24, 16))};
    Layer payload = l.Claimed(total).After(40);
    bool fragmented = false;
    for (int headers = 0;; ++headers) {
      const bool extension = next == 0 || next == 43 || next == 44 || next == 60;
      if (!extension) break;
      Addresses(ends);
      if (headers == kMaxIpv6ExtensionHeaders) {
        return Appendf("too many extension headers, length %u", payload.wire());
      }
      if (next == 44) {
        if (!payload.Has(8)) return Truncated("frag");
        const uint32_t offset = payload.U16(2) & 0xfff8;
        const bool more = (payload.U16(2) & 1) != 0;
        const uint64_t length = payload.wire() >= 8 ? payload.wire() - 8 : 0;
        Appendf("frag (%u|%u)", offset, length);
        if (offset != 0) return;  // no transport header in later fragments
        fragmented = more;
        Append(" ");
        next = payload.U8(0);
        payload = payload.After(8);
        continue;
      }
      if (!payload.Has(2)) return Truncated(next == 0 ? "hbhopts" : "ip6");
      const uint32_t length = (payload.U8(1) + 1) * 8;
      if (next == 0) {
        if (headers != 0) {
          return Append("[The Hop-by-Hop Options header was already found] (invalid)");
        }
        Append("HBH ");
      } else if (next == 60) {
        Append("DSTOPT ");
      } else {
        if (!payload.Has(4)) return Truncated("rt6");
        Appendf("RT6 (len=%u, type=%u, segleft=%u) ", payload.U8(1), payload.U8(2),
                payload.U8(3));
      }
      if (length > payload.wire()) return Truncated("ip6");
      next = payload.U8(0);
      payload = payload.After(length);
    }
    if (next == 59) {
      Addresses(ends);
      return Append("no next header");
    }
    Transport(next, payload, ends, fragmented, /*v6=*/true, depth);
  }

  void Addresses(Endpoints& ends) {
    if (!ends.printed) Appendf("%s > %s: ", ends.src, ends.dst);
    ends.printed = true;
  }

  // "a.1 > b.2: ", or "1 > 2: " once the addresses are out. False when the
  // ports were not captured (the truncation mark is written).
  bool Ports(const Layer& l, Endpoints& ends, absl::string_view proto) {
    if (!l.Has(4)) {
      Addresses(ends);
      Truncated(proto);
      return false;
    }
    if (ends.printed) {
      Appendf("%u > %u: ", l.U16(0), l.U16(2));
    } else {
      Appendf("%s.%u > %s.%u: ", ends.src, l.U16(0), ends.dst, l.U16(2));
      ends.printed = true;
    }
    return true;
  }

  void Transport(uint8_t protocol, const Layer& l, Endpoints& ends, bool fragmented,
                 bool v6, int depth) {
    switch (protocol) {
      case 6:
        return Tcp(l, ends);
      case 17:
        return Udp(l, ends, fragmented);
      case 1:
        if (!v6) {
          Addresses(ends);
          return Icmp(l);
        }
        break;
      case 58:
        if (v6) {
          Addresses(ends);
          return Icmp6(l);
        }
        break;
      case 4:   // IPv4 in IP
      case 41:  // IPv6 in IP
        if (depth + 1 < kMaxIpNesting) {
          Addresses(ends);
          return protocol == 4 ? Ipv4(l, depth + 1) : Ipv6(l, depth + 1);
        }
        break;
      default:
        break;
    }
    Addresses(ends);
    Appendf("ip-proto-%u %u", protocol, l.wire());
  }

  void Udp(const Layer& l, Endpoints& ends, bool fragmented) {
    if (!Ports(l, ends, "udp")) return;
    if (!l.Has(6)) return Truncated("udp");
    if (l.wire() < 8) return Appendf("truncated-udp %u", l.wire());
    const uint32_t udp_length = l.U16(4);
    if (udp_length < 8) return Appendf("truncated-udplength %u", udp_length);
    // A first fragment's UDP length covers the later fragments too.
    if (udp_length > l.wire() && !fragmented) {
      return Appendf("UDP, bad length %u > %u", udp_length - 8, l.wire() - 8);
    }
    Appendf("UDP, length %u", udp_length - 8);
  }

  void Tcp(const Layer& l, Endpoints& ends) {
    if (!Ports(l, ends, "tcp")) return;
    if (!l.Has(14)) return Truncated("tcp");
    const uint32_t header_length = (l.U8(12) >> 4) * 4;
    if (header_length < 20) {
      return Appendf("tcp %u [bad hdr length %u - too short, < 20]",
                     l.wire() > header_length ? l.wire() - header_length : 0,
                     header_length);
    }
    if (!l.Has(20)) return Truncated("tcp");
    const uint8_t flags = l.U8(13);
    constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10, kUrg = 0x20;
    std::string flag_text;
    constexpr std::pair<uint8_t, char> kFlagChars[] = {
        {0x01, 'F'}, {0x02, 'S'}, {0x04, 'R'}, {0x08, 'P'},
        {0x10, '.'}, {0x20, 'U'}, {0x40, 'E'}, {0x80, 'W'}};
    for (const auto& [bit, c] : kFlagChars) {
      if (flags & bit) flag_text.push_back(c);
    }
    Appendf("Flags [%s]", flag_text.empty() ? "none" : flag_text);
    if (header_length > l.wire()) {
      return Appendf(" [bad hdr length %u - too long, > %u]", header_length, l.wire());
    }
    const uint64_t payload = l.wire() - header_length;
    uint32_t seq = l.U32(4), ack = l.U32(8);
    if (sequences_ != nullptr) {
      sequences_->Relativize(ends.src, l.U16(0), ends.dst, l.U16(2), flags & kSyn,
                             flags & kAck, &seq, &ack);
    }
    if (payload > 0 || (flags & (kSyn | kFin | kRst))) {
      Appendf(", seq %u", seq);
      if (payload > 0) Appendf(":%u", static_cast<uint32_t>(seq + payload));
    }
    if (flags & kAck) Appendf(", ack %u", ack);
    Appendf(", win %u", l.U16(14));
    if (flags & kUrg) Appendf(", urg %u", l.U16(18));
    if (header_length > 20) {
      if (!l.Has(header_length)) {
        Append(", options ");
        return Truncated("tcp");
      }
      Append(", options [");
      TcpOptions(l.Limit(header_length).After(20));
      Append("]");
    }
    Appendf(", length %u", payload);
  }

  void TcpOptions(const Layer& l) {
    size_t at = 0;
    for (bool first = true; at < l.captured(); first = false) {
      if (!first) Append(",");
      const uint8_t kind = l.U8(at);
      if (kind == 0) return Append("eol");  // the end: the rest is padding
      if (kind == 1) {
        Append("nop");
        ++at;
        continue;
      }
      if (at + 2 > l.captured()) return Append("[bad opt]");
      const size_t length = l.U8(at + 1);
      if (length < 2 || at + length > l.captured()) return Append("[bad opt]");
      const Layer option = l.After(at + 2).Limit(length - 2);
      const size_t data = length - 2;
      switch (kind) {
        case 2:
          if (data != 2) return Append("[bad opt]");
          Appendf("mss %u", option.U16(0));
          break;
        case 3:
          if (data != 1) return Append("[bad opt]");
          Appendf("wscale %u", option.U8(0));
          break;
        case 4:
          if (data != 0) return Append("[bad opt]");
          Append("sackOK");
          break;
        case 5:
          if (data % 8 != 0) {
            Append("sack invalid sack");
            break;
          }
          Appendf("sack %u ", data / 8);
          for (size_t i = 0; i < data; i += 8) {
            Appendf("{%u:%u}", option.U32(i), option.U32(i + 4));
          }
          break;
        case 8:
          if (data != 8) return Append("[bad opt]");
          Appendf("TS val %u ecr %u", option.U32(0), option.U32(4));
          break;
        case 19:
          Append("md5");
          break;
        case 29:
          Append("tcp-ao");
          break;
        case 30:
          Append("mptcp");
          break;
        case 34:
          Append("tfo");
          break;
        default:
          Appendf("unknown-%u", kind);
          if (data > 0) Appendf(" 0x%s", HexText(option.bytes()));
      }
      at += length;
    }
  }

  // ICMP errors quote the offending packet's IP header from byte 8.
  static std::string QuotedIpv4Destination(const Layer& l) {
    return Ipv4Text(l.Bytes(8 + 16, 4));
  }

  static std::string TimestampText(uint32_t ms) {
    // Milliseconds since midnight UT; a set high bit marks a non-standard value.
    if (ms & 0x80000000u) return absl::StrFormat("%u [non-standard]", ms & 0x7fffffffu);
    return absl::StrFormat("%02u:%02u:%02u.%03u", ms / 3600000 % 24, ms / 60000 % 60,
                           ms / 1000 % 60, ms % 1000);
  }

  void Icmp(const Layer& l) {
    if (!l.Has(2)) return Truncated("icmp");
    const uint8_t type = l.U8(0), code = l.U8(1);
    std::string text;
    switch (type) {
      case 0:
      case 8:
        if (!l.Has(8)) return Truncated("icmp");
        text = absl::StrFormat("echo %s, id %u, seq %u", type == 8 ? "request" : "reply",
                               l.U16(4), l.U16(6));
        break;
      case 3: {
        if (!l.Has(8 + 20)) return Truncated("icmp");
        const std::string dst = QuotedIpv4Destination(l);
        if (code == 2) {
          text = absl::StrFormat("%s protocol %u unreachable", dst, l.U8(8 + 9));
        } else if (code == 3) {
          const size_t quoted_header = (l.U8(8) & 0x0f) * 4;
          if (quoted_header < 20 || !l.Has(8 + quoted_header + 4)) {
            return Truncated("icmp");
          }
          const uint16_t port = l.U16(8 + quoted_header + 2);
          switch (l.U8(8 + 9)) {
            case 6:
              text = absl::StrFormat("%s tcp port %u unreachable", dst, port);
              break;
            case 17:
              text = absl::StrFormat("%s udp port %u unreachable", dst, port);
              break;
            default:
              text = absl::StrFormat("%s protocol %u port %u unreachable", dst,
                                     l.U8(8 + 9), port);
          }
        } else if (code == 4) {
          const uint16_t mtu = l.U16(6);
          text = mtu ? absl::StrFormat("%s unreachable - need to frag (mtu %u)", dst, mtu)
                     : absl::StrFormat("%s unreachable - need to frag", dst);
        } else if (code < std::size(kUnreachableTexts)) {
          text = absl::StrCat(kUnreachableTexts[code].before, dst,
                              kUnreachableTexts[code].after);
        } else {
          text = absl::StrFormat("%s unreachable - #%u", dst, code);
        }
        break;
      }
      case 4:
        text = "source quench";
        break;
      case 5: {
        if (!l.Has(8 + 20)) return Truncated("icmp");
        const std::string dst = QuotedIpv4Destination(l);
        const std::string gateway = Ipv4Text(l.Bytes(4, 4));
        switch (code) {
          case 0:
            text = absl::StrFormat("redirect %s to net %s", dst, gateway);
            break;
          case 1:
            text = absl::StrFormat("redirect %s to host %s", dst, gateway);
            break;
          case 2:
            text = absl::StrFormat("redirect-tos %s to net %s", dst, gateway);
            break;
          case 3:
            text = absl::StrFormat("redirect-tos %s to host %s", dst, gateway);
            break;
          default:
            text = absl::StrFormat("redirect-#%u %s to %s", code, dst, gateway);
        }
        break;
      }
      case 9: {
        if (!l.Has(8)) return Truncated("icmp");
        const uint32_t count = l.U8(4), size = l.U8(5), lifetime = l.U16(6);
        text = "router advertisement lifetime ";
        if (lifetime < 60) {
          absl::StrAppendFormat(&text, "%u", lifetime);
        } else if (lifetime < 3600) {
          absl::StrAppendFormat(&text, "%u:%02u", lifetime / 60, lifetime % 60);
        } else {
          absl::StrAppendFormat(&text, "%u:%02u:%02u", lifetime / 3600,
                                lifetime % 3600 / 60, lifetime % 60);
        }
        absl::StrAppendFormat(&text, " %u:", count);
        if (size != 2) {
          absl::StrAppendFormat(&text, " [size %u]", size);
          break;
        }
        for (uint32_t i = 0; i < count; ++i) {
          const size_t at = 8 + i * 8;
          if (!l.Has(at + 8)) {
            Appendf("ICMP %s ", text);
            return Truncated("icmp");
          }
          absl::StrAppendFormat(&text, " {%s %u}", Ipv4Text(l.Bytes(at, 4)),
                                l.U32(at + 4));
        }
        break;
      }
      case 10:
        text = "router solicitation";
        break;
      case 11:
        if (!l.Has(8 + 20)) return Truncated("icmp");
        text = code == 0   ? "time exceeded in-transit"
               : code == 1 ? "ip reassembly time exceeded"
                           : absl::StrFormat("time exceeded-#%u", code);
        break;
      case 12:
        if (code != 0) {
          text = absl::StrFormat("parameter problem - code %u", code);
        } else {
          if (!l.Has(5)) return Truncated("icmp");
          text = absl::StrFormat("parameter problem - octet %u", l.U8(4));
        }
        break;
      case 13:
        if (!l.Has(8)) return Truncated("icmp");
        text = absl::StrFormat("time stamp query id %u seq %u", l.U16(4), l.U16(6));
        break;
      case 14:
        if (!l.Has(20)) return Truncated("icmp");
        text = absl::StrFormat("time stamp reply id %u seq %u: org %s, recv %s, xmit %s",
                               l.U16(4), l.U16(6), TimestampText(l.U32(8)),
                               TimestampText(l.U32(12)), TimestampText(l.U32(16)));
        break;
      case 15:
        text = "information request";
        break;
      case 16:
        text = "information reply";
        break;
      case 17:
        text = "address mask request";
        break;
      case 18:
        if (!l.Has(12)) return Truncated("icmp");
        text = absl::StrFormat("address mask is 0x%08x", l.U32(8));
        break;
      default:
        text = absl::StrFormat("type-#%u", type);
    }
    Appendf("ICMP %s, length %u", text, l.wire());
  }

  void Icmp6(const Layer& l) {
    Append("ICMP6, ");
    if (!l.Has(2)) return Truncated("icmp6");
    const uint8_t type = l.U8(0), code = l.U8(1);
    // Errors quote the offending packet's IPv6 header from byte 8.
    constexpr size_t kQuoted = 8;
    const bool quoted = l.Has(kQuoted + 40);
    const std::string quoted_src = Ipv6Text(l.Bytes(kQuoted + 8, 16));
    const std::string quoted_dst = Ipv6Text(l.Bytes(kQuoted + 24, 16));
    switch (type) {
      case 1:
        Append("destination unreachable, ");
        switch (code) {
          case 0:
          case 1:
          case 3:
            Append(code == 0   ? "unreachable route"
                   : code == 1 ? "unreachable prohibited"
                               : "unreachable address");
            if (!quoted) return Append(" [|icmp6]");
            Appendf(" %s", quoted_dst);
            break;
          case 2:
            Append("beyond scope");
            if (!quoted) return Append(" [|icmp6]");
            Appendf(" %s, source address %s", quoted_dst, quoted_src);
            break;
          case 4: {
            Append("unreachable port");
            if (!l.Has(kQuoted + 40 + 4)) return Append(" [|icmp6]");
            const uint8_t next = l.U8(kQuoted + 6);
            const uint16_t port = l.U16(kQuoted + 40 + 2);
            if (next == 6 || next == 17) {
              Appendf(", %s %s port %u", quoted_dst, next == 6 ? "tcp" : "udp", port);
            } else {
              Appendf(", %s", quoted_dst);
            }
            break;
          }
          default:
            Appendf("unknown unreach code (%u)", code);
        }
        break;
      case 2:
        Append("packet too big");
        if (!l.Has(8)) return Append(" [|icmp6]");
        Appendf(", mtu %u", l.U32(4));
        break;
      case 3:
        if (code == 0) {
          Append("time exceeded in-transit");
          if (!quoted) return Append(" [|icmp6]");
          Appendf(" for %s", quoted_dst);
        } else if (code == 1) {
          Append("time exceeded in-transit (reassembly)");
        } else {
          Appendf("time exceeded in-transit, unknown code (%u)", code);
        }
        break;
      case 4: {
        Append("parameter problem");
        if (!l.Has(8)) return Append(" [|icmp6]");
        const char* what = code == 0   ? "erroneous - octet"
                           : code == 1 ? "next header - octet"
                           : code == 2 ? "option - octet"
                                       : nullptr;
        if (what == nullptr) {
          Appendf(", code-#%u", code);
        } else {
          Appendf(", %s %u", what, l.U32(4));
        }
        break;
      }
      case 128:
      case 129:
        Appendf("echo %s", type == 128 ? "request" : "reply");
        if (!l.Has(8)) return Append(" [|icmp6]");
        Appendf(", id %u, seq %u", l.U16(4), l.U16(6));
        break;
      case 130:
      case 131:
      case 132: {
        const char* what = type == 130 ? "query" : type == 131 ? "report" : "done";
        Appendf("multicast listener %s", what);
        if (!l.Has(24)) return Append(" [|icmp6]");
        if (type == 130 && l.wire() >= 28) {
          Appendf(" v2, max resp delay: %u addr: %s", l.U16(4), Ipv6Text(l.Bytes(8, 16)));
        } else {
          Appendf(" max resp delay: %u addr: %s", l.U16(4), Ipv6Text(l.Bytes(8, 16)));
        }
        break;
      }
      case 133:
        Append("router solicitation");
        break;
      case 134:
        Append("router advertisement");
        break;
      case 135:
        Append("neighbor solicitation");
        if (!l.Has(24)) return Append(" [|icmp6]");
        Appendf(", who has %s", Ipv6Text(l.Bytes(8, 16)));
        break;
      case 136:
        Append("neighbor advertisement");
        if (!l.Has(24)) return Append(" [|icmp6]");
        Appendf(", tgt is %s", Ipv6Text(l.Bytes(8, 16)));
        break;
      case 137:
        Append("redirect");
        if (!l.Has(40)) return Append(" [|icmp6]");
        Appendf(", %s to %s", Ipv6Text(l.Bytes(24, 16)), Ipv6Text(l.Bytes(8, 16)));
        break;
      case 143:
        Append("multicast listener report v2");
        if (!l.Has(8)) return Append(" [|icmp6]");
        Appendf(", %u group record(s)", l.U16(6));
        break;
      default:
        Appendf("unknown icmp6 type (%u)", type);
    }
    Appendf(", length %u", l.wire());
  }

  static const char* HardwareName(uint16_t hardware) {
    switch (hardware) {
      case 1:
        return "Ethernet";
      case 6:
        return "IEEE 802";
      case 15:
        return "Frame Relay";
      case 24:
        return "IEEE 1394";
      case 32:
        return "InfiniBand";
      default:
        return nullptr;
    }
  }

  void Arp(const Layer& l) {
    if (!l.Has(8)) return Truncated("arp");
    const uint16_t hardware = l.U16(0), protocol = l.U16(2), op = l.U16(6);
    const size_t hlen = l.U8(4), plen = l.U8(5);
    if (protocol != 0x0800 || plen != 4 || hlen == 0) {
      const char* hardware_name = HardwareName(hardware);
      return Appendf("ARP, %s (len %u), %s (len %u), length %u",
                     hardware_name ? hardware_name
                                   : absl::StrFormat("Unknown Hardware (%u)", hardware),
                     hlen,
                     protocol == 0x0800 ? "IPv4"
                     : protocol == 0x86dd
                         ? "IPv6"
                         : absl::StrFormat("Unknown Protocol (0x%04x)", protocol),
                     plen, l.wire());
    }
    if (!l.Has(8 + 2 * hlen + 8)) return Truncated("arp");
    Append("ARP, ");
    const std::string sha = MacText(l.Bytes(8, hlen));
    const std::string spa = Ipv4Text(l.Bytes(8 + hlen, 4));
    const absl::Span<const uint8_t> tha_bytes = l.Bytes(12 + hlen, hlen);
    const std::string tha = MacText(tha_bytes);
    const std::string tpa = Ipv4Text(l.Bytes(12 + 2 * hlen, 4));
    switch (op) {
      case 1:
        Appendf("Request who-has %s", tpa);
        if (!AllZero(tha_bytes)) Appendf(" (%s)", tha);
        Appendf(" tell %s", spa);
        break;
      case 2:
        Appendf("Reply %s is-at %s", spa, sha);
        break;
      case 3:
        Appendf("Reverse Request who-is %s tell %s", tha, sha);
        break;
      case 4:
        Appendf("Reverse Reply %s at %s", tha, tpa);
        break;
      case 8:
        Appendf("Inverse Request who-is %s tell %s", tha, sha);
        break;
      case 9:
        Appendf("Inverse Reply %s at %s", sha, spa);
        break;
      default:
        Appendf("Unknown (%u)", op);
    }
    Appendf(", length %u", l.wire());
  }

  const uint64_t frame_length_;
  const InterfaceNames* const names_;
  TcpSequenceNumbers* const sequences_;  // null: absolute numbers
  std::string mac_addresses_;            // "src > dst, " of an Ethernet frame
  std::string out_;
};

}  // namespace

void TcpSequenceNumbers::Relativize(const std::string& src, uint32_t sport,
                                    const std::string& dst, uint32_t dport, bool syn,
                                    bool ack_set, uint32_t* seq, uint32_t* ack) {
  // As tcpdump: only packets with ACK take part; the key names the
  // conversation whichever way the packet goes.
  if (!ack_set) return;
  const std::string forward = absl::StrCat(src, ".", sport, ">", dst, ".", dport);
  const std::string backward = absl::StrCat(dst, ".", dport, ">", src, ".", sport);
  const bool reversed = backward < forward;
  const std::string& key = reversed ? backward : forward;
  auto it = conversations_.find(key);
  if (it == conversations_.end() || syn) {
    if (it == conversations_.end() && conversations_.size() >= kMaxConversations) {
      conversations_.clear();
    }
    Bases& bases = conversations_[key];
    // The first packet is printed as it is; its numbers become the bases.
    if (reversed) {
      bases.ack = *seq;
      bases.seq = *ack - 1;
    } else {
      bases.seq = *seq;
      bases.ack = *ack - 1;
    }
    return;
  }
  if (reversed) {
    *seq -= it->second.ack;
    *ack -= it->second.seq;
  } else {
    *seq -= it->second.seq;
    *ack -= it->second.ack;
  }
}

std::string DescribePacket(uint32_t link_type, uint32_t original_length,
                           absl::Span<const uint8_t> data, const InterfaceNames* names,
                           TcpSequenceNumbers* sequences) {
  const Layer packet(data, original_length);
  Decoder decoder(packet.wire(), names, sequences);
  decoder.Link(link_type, packet);
  return decoder.Take();
}

std::string FormatPacketLine(uint32_t link_type, absl::Time time,
                             uint32_t original_length, absl::Span<const uint8_t> data,
                             absl::TimeZone zone, const InterfaceNames* names,
                             TcpSequenceNumbers* sequences) {
  return absl::StrCat(absl::FormatTime("%H:%M:%E6S", time, zone), " ",
                      DescribePacket(link_type, original_length, data, names, sequences),
                      "\n");
}

}  // namespace netprobe::client
