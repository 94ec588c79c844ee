#ifndef NETPROBE_AGENT_NET_INTERFACES_H_
#define NETPROBE_AGENT_NET_INTERFACES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace netprobe {

struct InterfaceAddressInfo {
  std::string address;  // numeric
  uint32_t prefix_length = 0;
  std::string broadcast;  // IPv4 directed broadcast, or empty
};

struct InterfaceInfo {
  std::string name;
  uint32_t index = 0;
  uint32_t flags = 0;  // IFF_*
  uint32_t mtu = 0;
  std::string mac;  // "aa:bb:..", empty when none
  std::vector<InterfaceAddressInfo> ipv4;
  std::vector<InterfaceAddressInfo> ipv6;
};

// The host's interfaces (of the caller's network namespace) from getifaddrs(),
// ordered by index.
absl::StatusOr<std::vector<InterfaceInfo>> ListInterfaces();

// IFF_* bits as lower-case names ("up", "loopback", ...), in a fixed order.
std::vector<std::string> InterfaceFlagNames(uint32_t flags);

// Number of leading one bits of a netmask given in network byte order.
uint32_t PrefixLengthOfMask(const uint8_t* mask, size_t bytes);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_INTERFACES_H_
