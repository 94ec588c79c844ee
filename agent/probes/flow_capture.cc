#include "agent/probes/flow_capture.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace netprobe {

std::string FlowCaptureFilter(uint8_t protocol,
                              const std::vector<SocketAddress>& targets) {
  const char* name = protocol == IPPROTO_TCP ? "tcp" : "udp";
  std::vector<std::string> direct, errors;
  for (const SocketAddress& t : targets) {
    const std::string part = absl::StrCat("(host ", t.ip(), " and port ", t.port(), ")");
    if (std::find(direct.begin(), direct.end(), part) != direct.end()) continue;
    direct.push_back(part);
    if (t.family() == AF_INET) {
      uint32_t ip = 0;
      std::memcpy(&ip, &reinterpret_cast<const sockaddr_in*>(t.get())->sin_addr, 4);
      // Quoted: protocol at icmp[17], destination at icmp[24], its port at icmp[30].
      errors.push_back(absl::StrCat(
          "(icmp and (icmp[0] == 3 or icmp[0] == 11) and icmp[17] == ", protocol,
          " and icmp[24:4] == ", ntohl(ip), " and icmp[30:2] == ", t.port(), ")"));
    } else {
      // Quoted next header at ip6[54], destination port at ip6[90].
      errors.push_back(absl::StrCat(
          "(icmp6 and ip6[40] >= 1 and ip6[40] <= 3 and ip6[54] == ", protocol,
          " and ip6[90:2] == ", t.port(), ")"));
    }
  }
  std::string out =
      absl::StrCat("(", name, " and (", absl::StrJoin(direct, " or "), "))");
  if (!errors.empty()) absl::StrAppend(&out, " or ", absl::StrJoin(errors, " or "));
  return out;
}

bool SameEndpoint(const SocketAddress& a, const SocketAddress& b) {
  if (a.family() != b.family() || a.port() != b.port()) return false;
  if (a.family() == AF_INET) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in*>(a.get())->sin_addr,
                       &reinterpret_cast<const sockaddr_in*>(b.get())->sin_addr, 4) == 0;
  }
  if (a.family() == AF_INET6) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a.get())->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(b.get())->sin6_addr,
                       16) == 0;
  }
  return false;
}

uint16_t LocalPortTowards(const CapturedFlow& flow, const SocketAddress& target) {
  if (SameEndpoint(flow.destination, target)) return flow.source.port();
  if (!flow.quoted && SameEndpoint(flow.source, target)) return flow.destination.port();
  return 0;
}

}  // namespace netprobe
