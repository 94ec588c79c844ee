#include "agent/net/interfaces.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <map>

#include "absl/strings/str_format.h"
#include "agent/net/unique_fd.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

std::string FormatMac(const sockaddr_ll* ll) {
  if (ll->sll_halen == 0) return "";
  std::string out;
  for (int i = 0; i < ll->sll_halen && i < 8; ++i) {
    if (i > 0) out += ':';
    out += absl::StrFormat("%02x", ll->sll_addr[i]);
  }
  // A loopback's all-zero address is not a hardware address.
  if (out.find_first_not_of("0:") == std::string::npos) return "";
  return out;
}

std::string Numeric(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf,
              sizeof(buf));
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf,
              sizeof(buf));
  }
  return buf;
}

}  // namespace

uint32_t PrefixLengthOfMask(const uint8_t* mask, size_t bytes) {
  uint32_t bits = 0;
  for (size_t i = 0; i < bytes; ++i) {
    if (mask[i] == 0xff) {
      bits += 8;
      continue;
    }
    bits += std::countl_one(mask[i]);
    break;
  }
  return bits;
}

std::vector<std::string> InterfaceFlagNames(uint32_t flags) {
  static constexpr std::pair<uint32_t, const char*> kNames[] = {
      {IFF_UP, "up"},
      {IFF_BROADCAST, "broadcast"},
      {IFF_LOOPBACK, "loopback"},
      {IFF_POINTOPOINT, "pointopoint"},
      {IFF_RUNNING, "running"},
      {IFF_NOARP, "noarp"},
      {IFF_PROMISC, "promisc"},
      {IFF_MULTICAST, "multicast"},
  };
  std::vector<std::string> out;
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) out.emplace_back(name);
  }
  return out;
}

absl::StatusOr<std::vector<InterfaceInfo>> ListInterfaces() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return PosixError("getifaddrs", errno);
  std::map<std::string, InterfaceInfo> by_name;
  for (ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    InterfaceInfo& info = by_name[ifa->ifa_name];
    info.name = ifa->ifa_name;
    info.flags = ifa->ifa_flags;
    if (ifa->ifa_addr == nullptr) continue;
    const int family = ifa->ifa_addr->sa_family;
    if (family == AF_PACKET) {
      const auto* ll = reinterpret_cast<const sockaddr_ll*>(ifa->ifa_addr);
      info.index = ll->sll_ifindex;
      info.mac = FormatMac(ll);
    } else if (family == AF_INET || family == AF_INET6) {
      InterfaceAddressInfo addr;
      addr.address = Numeric(ifa->ifa_addr);
      if (ifa->ifa_netmask != nullptr) {
        if (family == AF_INET) {
          const auto* m = reinterpret_cast<const sockaddr_in*>(ifa->ifa_netmask);
          addr.prefix_length =
              PrefixLengthOfMask(reinterpret_cast<const uint8_t*>(&m->sin_addr), 4);
        } else {
          const auto* m = reinterpret_cast<const sockaddr_in6*>(ifa->ifa_netmask);
          addr.prefix_length =
              PrefixLengthOfMask(reinterpret_cast<const uint8_t*>(&m->sin6_addr), 16);
        }
      }
      if (family == AF_INET && (ifa->ifa_flags & IFF_BROADCAST) &&
          ifa->ifa_broadaddr != nullptr) {
        addr.broadcast = Numeric(ifa->ifa_broadaddr);
        // Without IFA_BROADCAST glibc repeats the local address here.
        if (addr.broadcast == addr.address) addr.broadcast.clear();
      }
      (family == AF_INET ? info.ipv4 : info.ipv6).push_back(std::move(addr));
    }
  }
  freeifaddrs(list);

  // getifaddrs() does not carry the MTU; one ioctl socket asks for all of them.
  UniqueFd ioctl_socket(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  std::vector<InterfaceInfo> out;
  for (auto& [name, info] : by_name) {
    if (info.index == 0) info.index = if_nametoindex(name.c_str());
    ifreq req{};
    name.copy(req.ifr_name, IFNAMSIZ - 1);
    if (ioctl_socket && ioctl(ioctl_socket.get(), SIOCGIFMTU, &req) == 0) {
      info.mtu = req.ifr_mtu;
    }
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.index < b.index; });
  return out;
}

}  // namespace netprobe
