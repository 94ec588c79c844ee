#include "client/commands/mesh_plan.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace netprobe::client {
namespace {

bool IsIpv4(const std::string& s) {
  in_addr a;
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool IsIpv6(const std::string& s) {
  in6_addr a;
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool GlobalIpv4(const std::string& s) {
  in_addr a;
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  const uint32_t v = ntohl(a.s_addr);
  const uint32_t first = v >> 24;
  if (first == 0 || first == 127 || first >= 224) return false;  // 0/8, loopback, mcast
  return (v >> 16) != 0xa9fe;                                    // 169.254/16
}

bool GlobalIpv6(const std::string& s) {
  in6_addr a;
  if (inet_pton(AF_INET6, s.c_str(), &a) != 1) return false;
  if (IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LOOPBACK(&a)) return false;
  if (IN6_IS_ADDR_LINKLOCAL(&a) || IN6_IS_ADDR_MULTICAST(&a)) return false;
  return !IN6_IS_ADDR_V4MAPPED(&a);
}

bool HasFlag(const v1::NetworkInterface& i, absl::string_view flag) {
  return std::find(i.flags().begin(), i.flags().end(), flag) != i.flags().end();
}

}  // namespace

std::optional<std::string> IpLiteralHost(absl::string_view agent_address,
                                         v1::AddressFamily family) {
  absl::string_view a = agent_address;
  if (absl::StartsWith(a, "unix:") || absl::StartsWith(a, "unix-abstract:")) {
    return std::nullopt;
  }
  for (absl::string_view prefix : {"ipv4:", "ipv6:", "dns:"}) {
    if (absl::StartsWith(a, prefix)) a.remove_prefix(prefix.size());
  }
  std::string host;
  if (absl::StartsWith(a, "[")) {
    const size_t close = a.find(']');
    if (close == absl::string_view::npos) return std::nullopt;
    host = std::string(a.substr(1, close - 1));
  } else {
    const size_t colon = a.rfind(':');
    if (colon == absl::string_view::npos) return std::nullopt;
    host = std::string(a.substr(0, colon));
  }
  const bool v4 = IsIpv4(host), v6 = IsIpv6(host);
  if (family == v1::ADDRESS_FAMILY_IPV4 && v4) return host;
  if (family == v1::ADDRESS_FAMILY_IPV6 && v6) return host;
  if (family == v1::ADDRESS_FAMILY_UNSPECIFIED && (v4 || v6)) return host;
  return std::nullopt;
}

absl::StatusOr<std::string> ProbeAddressFromInfo(const v1::AgentInfo& info,
                                                 v1::AddressFamily family) {
  const bool v6 = family == v1::ADDRESS_FAMILY_IPV6;
  for (const v1::NetworkInterface& i : info.interfaces()) {
    if (HasFlag(i, "loopback") || !HasFlag(i, "up")) continue;
    for (const v1::InterfaceAddress& a : v6 ? i.ipv6() : i.ipv4()) {
      if (v6 ? GlobalIpv6(a.address()) : GlobalIpv4(a.address())) return a.address();
    }
  }
  return absl::NotFoundError(absl::StrCat("the agent on ", info.hostname(),
                                          " has no global ", v6 ? "IPv6" : "IPv4",
                                          " address on an interface that is up"));
}

std::vector<std::vector<std::string>> ChunkTargets(
    const std::vector<std::string>& targets, size_t per_request) {
  per_request = std::max<size_t>(per_request, 1);
  std::vector<std::vector<std::string>> out;
  for (size_t i = 0; i < targets.size(); i += per_request) {
    const size_t end = std::min(targets.size(), i + per_request);
    out.emplace_back(targets.begin() + i, targets.begin() + end);
  }
  return out;
}

}  // namespace netprobe::client
