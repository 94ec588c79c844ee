#include "agent/net/multicast_receiver.h"

#include <linux/sock_diag.h>
#include <sys/socket.h>

#include "common/posix_error.h"

namespace netprobe {

absl::StatusOr<std::unique_ptr<JoinedUdpSocket>> JoinedUdpSocket::Open(
    const SocketAddress& group, unsigned interface_index,
    const std::optional<SocketAddress>& source, const SocketSetup& setup) {
  const int family = group.family();
  NETPROBE_ASSIGN_OR_RETURN(UdpSocket socket,
                            UdpSocket::Open(family, setup, {.reuse_address = true}));
  NETPROBE_RETURN_IF_ERROR(ReceiveOnlyJoinedGroups(socket.fd(), family));
  NETPROBE_RETURN_IF_ERROR(socket.Bind(group));
  NETPROBE_ASSIGN_OR_RETURN(
      MulticastMembership membership,
      MulticastMembership::Join(socket.fd(), group, interface_index, source));
  return std::unique_ptr<JoinedUdpSocket>(
      new JoinedUdpSocket(std::move(socket), std::move(membership)));
}

std::optional<uint32_t> JoinedUdpSocket::KernelDrops() const {
  uint32_t info[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof(info);
  if (getsockopt(socket_.fd(), SOL_SOCKET, SO_MEMINFO, info, &len) != 0 ||
      len <= SK_MEMINFO_DROPS * sizeof(uint32_t)) {
    return std::nullopt;
  }
  return info[SK_MEMINFO_DROPS];
}

}  // namespace netprobe
