#ifndef NETPROBE_AGENT_NET_TCP_SOCKET_H_
#define NETPROBE_AGENT_NET_TCP_SOCKET_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/net/datagram_messages.h"
#include "agent/net/socket_address.h"
#include "agent/net/socket_setup.h"

namespace netprobe {

// One non-blocking TCP client socket, for one connect attempt: what the TCP
// connect probe does with it, the seam unit tests script (SocketOpener hands
// out the kernel's or a fake). Closing it (destruction) sends RST unless it
// was opened with Close::kGraceful. Not thread-safe.
class TcpSocket {
 public:
  // How the socket ends when destroyed.
  enum class Close {
    // SO_LINGER {1, 0}: RST, no TIME_WAIT left behind, so sweeps neither
    // exhaust local ports nor fill the target's tables.
    kReset,
    // The kernel's default: FIN, the usual close.
    kGraceful,
  };

  // A socket of `family` (AF_INET / AF_INET6), SOCK_NONBLOCK | SOCK_CLOEXEC,
  // with `setup` applied (TCP options included; binds to setup.source when
  // given). When socket() itself fails the status carries its errno (see
  // OpenErrno); a socket option that cannot be set names the option.
  static absl::StatusOr<std::unique_ptr<TcpSocket>> Open(int family,
                                                         const SocketSetup& setup,
                                                         Close close);

  virtual ~TcpSocket() = default;

  // Writable (EPOLLOUT) once the handshake is over, either way; readable
  // (EPOLLIN) when data or the peer's FIN arrived.
  virtual int fd() const = 0;
  // connect(): 0 (connected at once), EINPROGRESS (wait for EPOLLOUT, then
  // read PendingError()), or why it failed at once (ECONNREFUSED; EPERM when
  // a local firewall rejects the SYN; ENETUNREACH, ...).
  virtual int Connect(const SocketAddress& peer) = 0;
  // True when the handshake is already over without waiting (loopback, a
  // local refusal): poll(POLLOUT) with no timeout.
  virtual bool WritableNow() const = 0;
  // SO_ERROR: 0 once connected, else why the connect failed.
  virtual int PendingError() = 0;
  // The ICMP error behind a failed connect, when one came (the socket asks
  // for them: IP_RECVERR / IPV6_RECVERR): type, code and the router or host
  // that sent it, where SO_ERROR only says EHOSTUNREACH. False when none.
  virtual bool ReadIcmpError(ErrorQueueEntry* out) { return false; }
  // getsockname(): the local address and port the kernel chose.
  virtual absl::StatusOr<SocketAddress> LocalAddress() const = 0;

  // TCP_INFO as the kernel gave it (any length: see DecodeTcpInfo) and the
  // congestion control in use (TCP_CONGESTION; empty when unreadable).
  struct Info {
    std::vector<uint8_t> tcp_info;
    std::string congestion;
  };
  virtual absl::StatusOr<Info> TcpInfo() const = 0;

  // send(MSG_NOSIGNAL) of `data`: returns 0 with `*sent` bytes taken, or the
  // errno (EAGAIN: wait for EPOLLOUT; EPIPE, ECONNRESET, ...).
  virtual int Send(absl::string_view data, size_t* sent) = 0;
  // recv() of at most `size` bytes into `buffer`: returns 0 with `*received`
  // bytes (0: the peer closed), or the errno (EAGAIN: wait for EPOLLIN).
  virtual int Receive(char* buffer, size_t size, size_t* received) = 0;
};

// The errno of the socket() call behind a failed TcpSocket::Open (EMFILE,
// ENOBUFS, ...), so an attempt's result names it as it names any errno; 0
// when `status` came from something else (a socket option).
int OpenErrno(const absl::Status& status);
// The status Open returns when socket() fails with `err` (for fakes too).
absl::Status SocketCallError(int err);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_TCP_SOCKET_H_
