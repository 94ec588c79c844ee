#include "agent/net/multicast_send_options.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

absl::Status Set(int fd, int level, int name, const void* value, socklen_t size,
                 const char* what) {
  if (setsockopt(fd, level, name, value, size) != 0) {
    return PosixError(absl::StrCat("setsockopt(", what, ")"), errno);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SetMulticastSendOptions(int fd, int family, unsigned interface_index,
                                     int ttl, bool loopback) {
  const int loop = loopback ? 1 : 0;
  if (family == AF_INET6) {
    if (interface_index != 0) {
      const int index = static_cast<int>(interface_index);
      NETPROBE_RETURN_IF_ERROR(Set(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index,
                                   sizeof(index), "IPV6_MULTICAST_IF"));
    }
    NETPROBE_RETURN_IF_ERROR(Set(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl),
                                 "IPV6_MULTICAST_HOPS"));
    return Set(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof(loop),
               "IPV6_MULTICAST_LOOP");
  }
  if (interface_index != 0) {
    // ip_mreqn names the interface by index, not by one of its addresses.
    ip_mreqn by_index{};
    by_index.imr_ifindex = static_cast<int>(interface_index);
    NETPROBE_RETURN_IF_ERROR(Set(fd, IPPROTO_IP, IP_MULTICAST_IF, &by_index,
                                 sizeof(by_index), "IP_MULTICAST_IF"));
  }
  NETPROBE_RETURN_IF_ERROR(
      Set(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl), "IP_MULTICAST_TTL"));
  return Set(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop), "IP_MULTICAST_LOOP");
}

}  // namespace netprobe
