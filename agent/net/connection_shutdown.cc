#include "agent/net/connection_shutdown.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace netprobe {
namespace {

bool IsListening(int fd) {
  int listening = 0;
  socklen_t length = sizeof(listening);
  return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 ||
         listening != 0;
}

// gRPC listens on dual-stack IPv6 sockets where it can, so an IPv4 peer
// (its peer string "ipv4:...") is an IPv4-mapped IPv6 address to the kernel.
SocketAddress Unmapped(const sockaddr_storage& storage, socklen_t length) {
  const SocketAddress address =
      SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
  if (address.family() != AF_INET6) return address;
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(storage);
  if (!IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) return address;
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = in6.sin6_port;
  std::memcpy(&in.sin_addr, &in6.sin6_addr.s6_addr[12], sizeof(in.sin_addr));
  return SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&in), sizeof(in));
}

// `fd` is a connected TCP socket from `peer` on one of `local_ports`.
bool IsConnectionFrom(int fd, const SocketAddress& peer,
                      absl::Span<const uint16_t> local_ports) {
  sockaddr_storage remote{}, local{};
  socklen_t remote_length = sizeof(remote), local_length = sizeof(local);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &remote_length) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0) {
    return false;  // not a socket, or not connected
  }
  const SocketAddress from = Unmapped(remote, remote_length);
  if (!from.valid() || from.ToString() != peer.ToString()) return false;
  const SocketAddress here = Unmapped(local, local_length);
  return std::find(local_ports.begin(), local_ports.end(), here.port()) !=
             local_ports.end() &&
         !IsListening(fd);
}

}  // namespace

absl::Status ShutDownTcpConnection(const SocketAddress& peer,
                                   absl::Span<const uint16_t> local_ports) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) {
    return absl::InternalError(absl::StrCat("/proc/self/fd: ", std::strerror(errno)));
  }
  int found = -1;
  while (const dirent* entry = readdir(dir)) {
    int fd = -1;
    if (!absl::SimpleAtoi(entry->d_name, &fd) || fd == dirfd(dir)) continue;
    if (IsConnectionFrom(fd, peer, local_ports)) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  if (found < 0) {
    return absl::NotFoundError(absl::StrCat("no connection from ", peer.ToString()));
  }
  if (shutdown(found, SHUT_RDWR) != 0) {
    return absl::InternalError(absl::StrCat("shutdown: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status ShutDownUnixConnection(int fd) {
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  int type = 0;
  socklen_t type_length = sizeof(type);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0 ||
      local.ss_family != AF_UNIX ||
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0 ||
      type != SOCK_STREAM || IsListening(fd)) {
    return absl::FailedPreconditionError(
        absl::StrCat("descriptor ", fd, " is not a connected unix stream socket"));
  }
  if (shutdown(fd, SHUT_RDWR) != 0) {
    return absl::InternalError(absl::StrCat("shutdown: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace netprobe
