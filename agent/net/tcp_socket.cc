#include "agent/net/tcp_socket.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/types/optional.h"
#include "agent/net/unique_fd.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

constexpr absl::string_view kErrnoPayload = "netprobe/socket-errno";

class KernelTcpSocket final : public TcpSocket {
 public:
  KernelTcpSocket(UniqueFd fd, int family) : fd_(std::move(fd)), family_(family) {}

  int fd() const override { return fd_.get(); }

  int Connect(const SocketAddress& peer) override {
    return connect(fd_.get(), peer.get(), peer.length()) == 0 ? 0 : errno;
  }

  bool WritableNow() const override {
    pollfd pfd{fd_.get(), POLLOUT, 0};
    return poll(&pfd, 1, 0) == 1;
  }

  int PendingError() override {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
  }

  bool ReadIcmpError(ErrorQueueEntry* out) override {
    // Bounded: the queue holds what the kernel put there for this attempt.
    for (int i = 0; i < 8 && ReadErrorQueue(fd_.get(), family_, out); ++i) {
      if (out->kind == ErrorQueueEntry::Kind::kIcmpError) return true;
    }
    return false;
  }

  absl::StatusOr<SocketAddress> LocalAddress() const override {
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    if (getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&local), &len) != 0) {
      return PosixError("getsockname", errno);
    }
    return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&local), len);
  }

  absl::StatusOr<Info> TcpInfo() const override {
    Info out;
    tcp_info info;
    socklen_t len = sizeof(info);
    if (getsockopt(fd_.get(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
      return PosixError("getsockopt(TCP_INFO)", errno);
    }
    const auto* bytes = reinterpret_cast<const uint8_t*>(&info);
    out.tcp_info.assign(bytes, bytes + len);
    char congestion[32] = {};
    socklen_t clen = sizeof(congestion) - 1;
    if (getsockopt(fd_.get(), IPPROTO_TCP, TCP_CONGESTION, congestion, &clen) == 0) {
      out.congestion.assign(congestion, strnlen(congestion, clen));
    }
    return out;
  }

  int Send(absl::string_view data, size_t* sent) override {
    *sent = 0;
    const ssize_t n = send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) return errno;
    *sent = static_cast<size_t>(n);
    return 0;
  }

  int Receive(char* buffer, size_t size, size_t* received) override {
    *received = 0;
    const ssize_t n = recv(fd_.get(), buffer, size, 0);
    if (n < 0) return errno;
    *received = static_cast<size_t>(n);
    return 0;
  }

 private:
  UniqueFd fd_;
  const int family_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TcpSocket>> TcpSocket::Open(int family,
                                                           const SocketSetup& setup,
                                                           Close close) {
  UniqueFd fd(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return SocketCallError(errno);
  NETPROBE_RETURN_IF_ERROR(ApplySocketSetup(fd.get(), family, /*tcp=*/true, setup));
  // ICMP errors to the error queue, so a failed connect can name the router
  // that sent time exceeded or admin-prohibited (the kernel queues them in
  // SYN_SENT only when asked).
  const int on = 1;
  if (family == AF_INET6
          ? setsockopt(fd.get(), IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on)) != 0
          : setsockopt(fd.get(), IPPROTO_IP, IP_RECVERR, &on, sizeof(on)) != 0) {
    return PosixError(
        family == AF_INET6 ? "setsockopt(IPV6_RECVERR)" : "setsockopt(IP_RECVERR)",
        errno);
  }
  if (close == Close::kReset) {
    // Best effort, as a refused option changes nothing the attempt reports.
    linger abort{1, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
  }
  return std::make_unique<KernelTcpSocket>(std::move(fd), family);
}

int OpenErrno(const absl::Status& status) {
  const absl::optional<absl::Cord> payload = status.GetPayload(kErrnoPayload);
  int err = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &err)) return 0;
  return err;
}

absl::Status SocketCallError(int err) {
  absl::Status status = PosixError("socket(SOCK_STREAM)", err);
  status.SetPayload(kErrnoPayload, absl::Cord(std::to_string(err)));
  return status;
}

}  // namespace netprobe
