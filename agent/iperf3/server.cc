#include "agent/iperf3/server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/util/log.h"
#include "common/posix_error.h"

namespace netprobe::iperf3 {
namespace {

// Connections that have not sent their cookie yet; more are closed at once
// (counted as busy), so a flood of idle connections costs a bounded number
// of descriptors.
constexpr size_t kMaxPending = 64;

absl::Status SetInt(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
    return PosixError(absl::StrCat("setsockopt(", what, ")"), errno);
  }
  return absl::OkStatus();
}

// A socket of `type` bound to `address` with SO_REUSEADDR (and dual-stack
// for "::"), as iperf3's netannounce.
absl::StatusOr<UniqueFd> OpenBound(int type, const SocketAddress& address) {
  UniqueFd fd(socket(address.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const char* what = type == SOCK_STREAM ? "TCP" : "UDP";
  if (!fd) return PosixError(absl::StrCat("iperf3 server: socket(", what, ")"), errno);
  NETPROBE_RETURN_IF_ERROR(SetInt(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"));
  if (address.family() == AF_INET6) {
    NETPROBE_RETURN_IF_ERROR(
        SetInt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0, "IPV6_V6ONLY"));
  }
  if (bind(fd.get(), address.get(), address.length()) != 0) {
    return PosixError(
        absl::StrCat("iperf3 server: bind(", what, " ", address.ToString(), ")"), errno);
  }
  return fd;
}

SocketAddress LocalAddress(int fd) {
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&local), length);
}

// The TCP listener and the first UDP socket on the same port. With port 0,
// the port the kernel gave TCP may be taken for UDP: a few tries.
absl::Status OpenListeners(const SocketAddress& address, UniqueFd* tcp, UniqueFd* udp,
                           SocketAddress* bound) {
  absl::Status last;
  for (int attempt = 0; attempt < (address.port() == 0 ? 8 : 1); ++attempt) {
    NETPROBE_ASSIGN_OR_RETURN(*tcp, OpenBound(SOCK_STREAM, address));
    if (listen(tcp->get(), SOMAXCONN) != 0) {
      return PosixError(absl::StrCat("iperf3 server: listen(", address.ToString(), ")"),
                        errno);
    }
    *bound = LocalAddress(tcp->get());
    absl::StatusOr<UniqueFd> datagram = OpenBound(SOCK_DGRAM, *bound);
    if (datagram.ok()) {
      *udp = *std::move(datagram);
      return absl::OkStatus();
    }
    last = datagram.status();
  }
  return last;
}

bool SameHost(const SocketAddress& a, const SocketAddress& b) {
  return a.family() == b.family() && a.ip() == b.ip();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(EventLoop* loop,
                                                      ServerOptions options) {
  UniqueFd tcp, udp;
  SocketAddress bound;
  absl::Status opened = OpenListeners(options.listen, &tcp, &udp, &bound);
  if (!opened.ok() && options.listen.family() == AF_INET6 &&
      options.listen.ip() == "::") {
    // No IPv6 on this host.
    opened = OpenListeners(*SocketAddress::FromLiteral("0.0.0.0", options.listen.port()),
                           &tcp, &udp, &bound);
  }
  NETPROBE_RETURN_IF_ERROR(opened);
  std::unique_ptr<Server> server(
      new Server(loop, std::move(options), std::move(tcp), bound));
  server->udp_listener_ = std::move(udp);
  Server* self = server.get();
  NETPROBE_RETURN_IF_ERROR(loop->Watch(self->listener_.get(), EPOLLIN,
                                       [self](uint32_t) { self->OnAccept(); }));
  NETPROBE_RETURN_IF_ERROR(loop->Watch(self->udp_listener_.get(), EPOLLIN,
                                       [self](uint32_t) { self->OnUdpReadable(); }));
  return server;
}

Server::~Server() {
  *alive_ = false;
  loop_->Unwatch(listener_.get());
  if (udp_listener_) loop_->Unwatch(udp_listener_.get());
  for (auto& [fd, pending] : pending_) {
    loop_->Unwatch(fd);
    loop_->Cancel(pending.timer);
  }
  sessions_.clear();  // each closes its sockets; no callbacks
}

bool Server::Allowed(const SocketAddress& peer) const {
  if (options_.allowed_clients.empty()) return true;
  const uint8_t* bytes =
      peer.family() == AF_INET6
          ? reinterpret_cast<const sockaddr_in6*>(peer.get())->sin6_addr.s6_addr
          : reinterpret_cast<const uint8_t*>(
                &reinterpret_cast<const sockaddr_in*>(peer.get())->sin_addr);
  return std::any_of(
      options_.allowed_clients.begin(), options_.allowed_clients.end(),
      [&](const Cidr& cidr) { return cidr.Contains(peer.family(), bytes); });
}

void Server::OnAccept() {
  // Bounded per wakeup; the rest wait for the next round.
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage from{};
    socklen_t length = sizeof(from);
    UniqueFd fd(accept4(listener_.get(), reinterpret_cast<sockaddr*>(&from), &length,
                        SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;  // EAGAIN, or an error of that one connection
    const SocketAddress peer =
        SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&from), length);
    const signed char denied = static_cast<signed char>(State::kAccessDenied);
    if (!Allowed(peer)) {
      // As iperf3 answers a busy server: ACCESS_DENIED without reading.
      Count(Refusal::kClientNotAllowed);  // before the client can see it
      send(fd.get(), &denied, 1, MSG_NOSIGNAL);
      continue;
    }
    if (pending_.size() >= kMaxPending) {
      Count(Refusal::kBusy);
      send(fd.get(), &denied, 1, MSG_NOSIGNAL);
      continue;
    }
    // iperf_accept: control messages go out at once.
    SetInt(fd.get(), IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY").IgnoreError();
    const int raw = fd.get();
    Pending& pending = pending_[raw];
    pending.fd = std::move(fd);
    pending.peer = peer;
    if (!loop_->Watch(raw, EPOLLIN, [this, raw](uint32_t) { OnPendingReadable(raw); })
             .ok()) {
      pending_.erase(raw);
      continue;
    }
    pending.timer = loop_->RunAfter(options_.limits.handshake_timeout, [this, raw] {
      auto it = pending_.find(raw);
      if (it == pending_.end()) return;
      it->second.timer = 0;  // this one, running
      DropPending(raw);
      Count(Refusal::kTimeout);
    });
  }
}

void Server::DropPending(int fd) {
  auto it = pending_.find(fd);
  if (it == pending_.end()) return;
  loop_->Unwatch(fd);
  if (it->second.timer != 0) loop_->Cancel(it->second.timer);
  pending_.erase(it);
}

void Server::OnPendingReadable(int fd) {
  auto it = pending_.find(fd);
  if (it == pending_.end()) return;
  Pending& pending = it->second;
  char buffer[kCookieSize];
  const size_t want = kCookieSize - pending.cookie.size();
  const ssize_t n = recv(fd, buffer, want, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {  // closed or failed before its cookie
    DropPending(fd);
    return;
  }
  pending.cookie.append(buffer, n);
  if (pending.cookie.size() < kCookieSize) return;
  loop_->Unwatch(fd);
  loop_->Cancel(pending.timer);
  Pending done = std::move(pending);
  pending_.erase(it);
  Dispatch(std::move(done));
}

void Server::Dispatch(Pending pending) {
  for (const auto& session : sessions_) {
    if (session->cookie() != pending.cookie) continue;
    // A data connection of a test waiting for them; any other with a known
    // cookie (a stream too many, a late one) is closed.
    if (session->WantsTcpStream()) session->AddStream(std::move(pending.fd));
    return;
  }
  if (static_cast<int>(sessions_.size()) >= options_.max_concurrent_tests) {
    const signed char denied = static_cast<signed char>(State::kAccessDenied);
    Count(Refusal::kBusy);  // before the client can see it
    send(pending.fd.get(), &denied, 1, MSG_NOSIGNAL);
    return;
  }
  if (!udp_listener_) ReopenUdpListener();
  ServerSession::Callbacks callbacks;
  callbacks.on_refused = [this](Refusal reason) { Count(reason); };
  callbacks.on_started = [this] { started_.fetch_add(1, std::memory_order_relaxed); };
  callbacks.on_end = [this](bool completed, const absl::Status&) {
    OnSessionEnd(completed);
  };
  sessions_.push_back(std::make_unique<ServerSession>(
      loop_, std::move(pending.fd), pending.peer, std::move(pending.cookie),
      options_.limits, std::move(callbacks)));
  active_.fetch_add(1, std::memory_order_relaxed);
  sessions_.back()->Start();
}

void Server::OnSessionEnd(bool completed) {
  if (completed) completed_.fetch_add(1, std::memory_order_relaxed);
  active_.fetch_sub(1, std::memory_order_relaxed);
  // Not inside the session's own callback: after this round.
  loop_->Defer([this, alive = alive_] {
    if (!*alive) return;
    sessions_.erase(std::remove_if(sessions_.begin(), sessions_.end(),
                                   [](const auto& s) { return s->ended(); }),
                    sessions_.end());
  });
}

void Server::ReopenUdpListener() {
  absl::StatusOr<UniqueFd> next = OpenBound(SOCK_DGRAM, bound_);
  if (!next.ok()) {
    LogLine(absl::StrCat("iperf3 server: no UDP socket for the next stream: ",
                         next.status().message()));
    return;
  }
  if (loop_->Watch(next->get(), EPOLLIN, [this](uint32_t) { OnUdpReadable(); }).ok()) {
    udp_listener_ = *std::move(next);
  }
}

void Server::OnUdpReadable() {
  for (int i = 0; i < 64 && udp_listener_; ++i) {
    uint32_t message = 0;
    sockaddr_storage from{};
    socklen_t length = sizeof(from);
    const ssize_t n = recvfrom(udp_listener_.get(), &message, sizeof(message), MSG_TRUNC,
                               reinterpret_cast<sockaddr*>(&from), &length);
    if (n < 0) return;
    if (n != sizeof(message) || message != kUdpConnectMessage) continue;
    const SocketAddress peer =
        SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&from), length);
    ServerSession* session = nullptr;
    for (const auto& s : sessions_) {
      if (s->WantsUdpStream() && SameHost(s->peer(), peer)) {
        session = s.get();
        break;
      }
    }
    if (session == nullptr) continue;  // no test of that client waits for one
    // iperf_udp_accept: this socket becomes the stream, connected to the
    // client; a new one waits for the next stream before the client is told.
    if (connect(udp_listener_.get(), peer.get(), peer.length()) != 0) {
      LogLine(absl::StrCat("iperf3 server: ",
                           PosixError("connect(UDP stream)", errno).message()));
      continue;
    }
    loop_->Unwatch(udp_listener_.get());
    UniqueFd stream = std::move(udp_listener_);
    ReopenUdpListener();
    const uint32_t reply = kUdpConnectReply;
    send(stream.get(), &reply, sizeof(reply), MSG_NOSIGNAL);
    session->AddStream(std::move(stream));
    return;  // the next datagrams arrive on the new socket
  }
}

}  // namespace netprobe::iperf3
