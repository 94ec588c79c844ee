#include "agent/net/udp_socket.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "agent/net/socket_setup.h"
#include "common/posix_error.h"

namespace netprobe {

absl::StatusOr<UdpSocket> UdpSocket::Open(int family, const SocketSetup& setup,
                                          Extras extras) {
  const bool v6 = family == AF_INET6;
  UniqueFd fd(socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
  if (!fd) return PosixError(v6 ? "socket(UDPv6)" : "socket(UDP)", errno);
  const int n = fd.get();
  if (extras.reuse_address) {
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(n, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"));
  }
  if (extras.broadcast) {
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(n, SOL_SOCKET, SO_BROADCAST, 1, "SO_BROADCAST"));
  }
  NETPROBE_RETURN_IF_ERROR(SetIntSocketOption(
      n, SOL_SOCKET, SO_TIMESTAMPING, SoftwareTimestampingFlags(), "SO_TIMESTAMPING"));
  NETPROBE_RETURN_IF_ERROR(
      SetIntSocketOption(n, SOL_SOCKET, SO_RXQ_OVFL, 1, "SO_RXQ_OVFL"));
  if (v6) {
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(n, IPPROTO_IPV6, IPV6_RECVERR, 1, "IPV6_RECVERR"));
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(n, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT"));
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(n, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"));
  } else {
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(n, IPPROTO_IP, IP_RECVERR, 1, "IP_RECVERR"));
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(n, IPPROTO_IP, IP_RECVTTL, 1, "IP_RECVTTL"));
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(n, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO"));
  }
  NETPROBE_RETURN_IF_ERROR(ApplySocketSetup(n, family, /*tcp=*/false, setup));
  return UdpSocket(std::move(fd), family);
}

absl::Status UdpSocket::Bind(const SocketAddress& local) {
  if (bind(fd_.get(), local.get(), local.length()) != 0) {
    return PosixError(absl::StrCat("bind(", local.ToString(), ")"), errno);
  }
  return absl::OkStatus();
}

absl::Status UdpSocket::Connect(const SocketAddress& peer) {
  if (connect(fd_.get(), peer.get(), peer.length()) != 0) {
    return PosixError(absl::StrCat("connect(", peer.ToString(), ")"), errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<SocketAddress> UdpSocket::LocalAddress() const {
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    return PosixError("getsockname", errno);
  }
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&local), len);
}

absl::StatusOr<uint32_t> UdpSocket::PathMtu() const {
  int mtu = 0;
  socklen_t len = sizeof(mtu);
  const bool v6 = family_ == AF_INET6;
  if (getsockopt(fd_.get(), v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu,
                 &len) != 0) {
    return PosixError(v6 ? "getsockopt(IPV6_MTU)" : "getsockopt(IP_MTU)", errno);
  }
  return static_cast<uint32_t>(mtu);
}

int UdpSocket::Send(absl::Span<const uint8_t> data, const SocketAddress* to) {
  const ssize_t sent =
      to ? sendto(fd_.get(), data.data(), data.size(), 0, to->get(), to->length())
         : send(fd_.get(), data.data(), data.size(), 0);
  return sent < 0 ? errno : 0;
}

int UdpSocket::Receive(Received* out, size_t max_bytes) {
  // Capacity only grows, so steady-state receives do not allocate.
  if (out->data.capacity() < max_bytes) out->data.reserve(max_bytes);
  out->data.resize(out->data.capacity());
  sockaddr_storage from{};
  iovec iov{out->data.data(), std::min(max_bytes, out->data.size())};
  alignas(cmsghdr) char control[512];
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof(from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  const ssize_t n = recvmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_TRUNC);
  if (n < 0) {
    out->data.clear();
    return errno;
  }
  out->bytes = static_cast<size_t>(n);
  out->data.resize(std::min(out->bytes, iov.iov_len));
  out->from =
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&from), msg.msg_namelen);
  ParseReceiveControl(msg, &out->meta);
  return 0;
}

}  // namespace netprobe
