#include "agent/probes/ping_capture.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/net/icmp.h"

namespace netprobe {
namespace {

std::string HostsOf(const std::vector<std::string>& addresses) {
  std::vector<std::string> hosts;
  for (const std::string& a : addresses) hosts.push_back(absl::StrCat("host ", a));
  return absl::StrCat("(", absl::StrJoin(hosts, " or "), ")");
}

SocketAddress QuotedAddress(const icmp::AddressBytes& bytes) {
  if (bytes.size() == 4) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    std::memcpy(&sin.sin_addr, bytes.data(), 4);
    return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  if (bytes.size() == 16) std::memcpy(&sin6.sin6_addr, bytes.data(), 16);
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6));
}

}  // namespace

std::string PingCaptureFilter(const PingCaptureScope& scope) {
  std::vector<std::string> parts;
  if (scope.id_v4 && !scope.v4.empty()) {
    parts.push_back(absl::StrCat(
        "(icmp and (((icmp[0] == 8 or icmp[0] == 0) and icmp[4:2] == ", *scope.id_v4,
        " and ", HostsOf(scope.v4),
        ") or ((icmp[0] == 3 or icmp[0] == 11 or icmp[0] == 12) and icmp[28] == 8 and "
        "icmp[32:2] == ",
        *scope.id_v4, ")))"));
  }
  if (scope.id_v6 && !scope.v6.empty()) {
    // ICMPv6 directly after the fixed header: type at ip6[40]; a quoted
    // request's type at ip6[88], its identifier at ip6[92].
    parts.push_back(absl::StrCat(
        "(icmp6 and (((ip6[40] == 128 or ip6[40] == 129) and ip6[44:2] == ", *scope.id_v6,
        " and ", HostsOf(scope.v6),
        ") or (ip6[40] >= 1 and ip6[40] <= 4 and ip6[88] == 128 and ip6[92:2] == ",
        *scope.id_v6, ")))"));
  }
  return absl::StrJoin(parts, " or ");
}

std::optional<PingPacket> ParsePingPacket(const CapturedIp& ip) {
  const bool v6 = ip.family == AF_INET6;
  if (ip.fragment || ip.protocol != (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP)) {
    return std::nullopt;
  }
  const absl::Span<const uint8_t> icmp = ip.l4;
  if (icmp.size() < 8) return std::nullopt;
  const uint8_t type = icmp[0];
  PingPacket out;
  out.v6 = v6;
  const uint8_t request = v6 ? icmp::kEchoRequestV6 : icmp::kEchoRequestV4;
  const uint8_t reply = v6 ? icmp::kEchoReplyV6 : icmp::kEchoReplyV4;
  if (type == request || type == reply) {
    out.kind = type == request ? PingPacket::Kind::kRequest : PingPacket::Kind::kReply;
    out.id = static_cast<uint16_t>(icmp[4] << 8 | icmp[5]);
    out.sequence16 = static_cast<uint16_t>(icmp[6] << 8 | icmp[7]);
    const icmp::PayloadHeader payload = icmp::ParsePayload(icmp.subspan(8));
    out.token = payload.token;
    out.wire_sequence = payload.sequence;
    out.target = type == request ? ip.destination : ip.source;
    return out;
  }
  // An error quoting a request: the checked parsers (every quoted length).
  absl::StatusOr<icmp::ParsedIcmp> parsed =
      v6 ? icmp::ParseIcmpV6(icmp) : icmp::ParseIcmpV4(ip.ip);
  if (!parsed.ok() || parsed->kind != icmp::ParsedIcmp::Kind::kError) return std::nullopt;
  out.kind = PingPacket::Kind::kError;
  out.id = parsed->error.id;
  out.sequence16 = parsed->error.sequence16;
  out.token = parsed->error.payload.token;
  out.wire_sequence = parsed->error.payload.sequence;
  out.target = QuotedAddress(parsed->error.quoted_destination);
  return out;
}

}  // namespace netprobe
