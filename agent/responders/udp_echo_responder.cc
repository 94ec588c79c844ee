#include "agent/responders/udp_echo_responder.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/net/datagram_messages.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

// 32 x 64 KiB of buffers, allocated when the first datagram arrives.
constexpr int kBatch = 32;
constexpr size_t kMaxDatagram = 65536;
constexpr size_t kControlBytes = 256;

absl::Status SetInt(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
    return PosixError(absl::StrCat("setsockopt(", what, ")"), errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> OpenBound(SocketAddress* address) {
  const bool v6 = address->family() == AF_INET6;
  UniqueFd fd(socket(address->family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return PosixError(v6 ? "socket(UDPv6)" : "socket(UDP)", errno);
  if (v6) {
    // "[::]" serves IPv4 too (as v4-mapped addresses).
    NETPROBE_RETURN_IF_ERROR(
        SetInt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0, "IPV6_V6ONLY"));
    NETPROBE_RETURN_IF_ERROR(
        SetInt(fd.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"));
  }
  // IPv4 (and v4-mapped on a dual-stack socket) destinations come as IP_PKTINFO.
  const int one = 1;
  if (setsockopt(fd.get(), IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) != 0 && !v6) {
    return PosixError("setsockopt(IP_PKTINFO)", errno);
  }
  NETPROBE_RETURN_IF_ERROR(SetInt(fd.get(), SOL_SOCKET, SO_RXQ_OVFL, 1, "SO_RXQ_OVFL"));
  if (bind(fd.get(), address->get(), address->length()) != 0) {
    return PosixError(absl::StrCat("udp echo: bind(", address->ToString(), ")"), errno);
  }
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len);
  *address = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&local), len);
  return fd;
}

// Control message for sending the answer from the address the datagram was
// sent to (for a broadcast or a group: the receiving interface's address, as
// the kernel reports it), so a sender's connected socket accepts it.
size_t AnswerFrom(const ReceiveMeta& meta, char* control) {
  if (meta.local_address) {  // IPv4, or v4-mapped on a dual-stack socket
    cmsghdr* c = reinterpret_cast<cmsghdr*>(control);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    info.ipi_spec_dst =
        reinterpret_cast<const sockaddr_in*>(meta.local_address->get())->sin_addr;
    std::memcpy(CMSG_DATA(c), &info, sizeof(info));
    return CMSG_SPACE(sizeof(in_pktinfo));
  }
  if (!meta.destination || meta.destination->family() != AF_INET6) return 0;
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(meta.destination->get());
  if (IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr)) return 0;
  cmsghdr* c = reinterpret_cast<cmsghdr*>(control);
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
  in6_pktinfo info{};
  info.ipi6_addr = sin6->sin6_addr;
  info.ipi6_ifindex = static_cast<unsigned>(meta.interface_index);
  std::memcpy(CMSG_DATA(c), &info, sizeof(info));
  return CMSG_SPACE(sizeof(in6_pktinfo));
}

}  // namespace

absl::StatusOr<SocketAddress> ParseUdpEchoAddress(absl::string_view text,
                                                  absl::string_view field) {
  uint32_t port = 0;
  if (absl::SimpleAtoi(text, &port)) {
    if (port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": port ", port, " is out of range 0..65535"));
    }
    return *SocketAddress::FromLiteral("::", static_cast<uint16_t>(port));
  }
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(text.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": '", text, "' is not PORT, ADDR:PORT or [V6]:PORT (port 0..65535)"));
  }
  absl::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": IPv6 addresses need brackets, as in [", host, "]:", port));
  }
  auto address = SocketAddress::FromLiteral(host, static_cast<uint16_t>(port));
  if (!address) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": '", host, "' is not an IP address of this host"));
  }
  return *address;
}

absl::StatusOr<std::unique_ptr<UdpEchoResponder>> UdpEchoResponder::Start(
    EventLoop* loop, const SocketAddress& address) {
  SocketAddress bound = address;
  absl::StatusOr<UniqueFd> fd = OpenBound(&bound);
  if (!fd.ok() && address.family() == AF_INET6 && address.ip() == "::") {
    bound = *SocketAddress::FromLiteral("0.0.0.0", address.port());
    fd = OpenBound(&bound);  // no IPv6 on this host
  }
  if (!fd.ok()) return fd.status();
  std::unique_ptr<UdpEchoResponder> responder(
      new UdpEchoResponder(loop, *std::move(fd), bound));
  UdpEchoResponder* self = responder.get();
  NETPROBE_RETURN_IF_ERROR(
      loop->Watch(self->fd_.get(), EPOLLIN, [self](uint32_t) { self->OnReadable(); }));
  return responder;
}

UdpEchoResponder::~UdpEchoResponder() { loop_->Unwatch(fd_.get()); }

void UdpEchoResponder::OnReadable() {
  static thread_local std::vector<uint8_t> buffers;
  if (buffers.empty()) buffers.resize(kBatch * kMaxDatagram);
  std::array<mmsghdr, kBatch> in{};
  std::array<iovec, kBatch> iov{};
  std::array<sockaddr_storage, kBatch> from{};
  alignas(cmsghdr) static thread_local char control[kBatch][kControlBytes];
  alignas(cmsghdr) static thread_local char answer_control[kBatch][kControlBytes];
  // Bounded per wakeup so a flood cannot starve the loop's other work.
  for (int round = 0; round < 16; ++round) {
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {buffers.data() + i * kMaxDatagram, kMaxDatagram};
      msghdr& h = in[i].msg_hdr;
      h = msghdr{};
      h.msg_name = &from[i];
      h.msg_namelen = sizeof(from[i]);
      h.msg_iov = &iov[i];
      h.msg_iovlen = 1;
      h.msg_control = control[i];
      h.msg_controllen = kControlBytes;
    }
    const int n = recvmmsg(fd_.get(), in.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    received_.fetch_add(n, std::memory_order_relaxed);
    std::array<mmsghdr, kBatch> out{};
    int answers = 0;
    for (int i = 0; i < n; ++i) {
      msghdr& h = in[i].msg_hdr;
      ReceiveMeta meta;
      ParseReceiveControl(h, &meta);
      if (meta.kernel_drops) {
        kernel_drops_.store(*meta.kernel_drops, std::memory_order_relaxed);
      }
      const SocketAddress sender = SocketAddress::FromSockaddr(
          reinterpret_cast<sockaddr*>(&from[i]), h.msg_namelen);
      if (sender.port() < 1024) {
        ignored_privileged_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      iov[i].iov_len = in[i].msg_len;  // as received (truncation is not possible:
                                       // the buffer holds the largest datagram)
      msghdr& a = out[answers].msg_hdr;
      a = msghdr{};
      a.msg_name = &from[i];
      a.msg_namelen = h.msg_namelen;
      a.msg_iov = &iov[i];
      a.msg_iovlen = 1;
      const size_t control_len = AnswerFrom(meta, answer_control[answers]);
      if (control_len > 0) {
        a.msg_control = answer_control[answers];
        a.msg_controllen = control_len;
      }
      ++answers;
    }
    int done = 0, failed = 0;
    while (done < answers) {
      const int sent =
          sendmmsg(fd_.get(), out.data() + done, answers - done, MSG_DONTWAIT);
      if (sent > 0) {
        done += sent;
        continue;
      }
      // The first remaining answer failed (EAGAIN, unreachable, ...): count it,
      // go on with the rest.
      ++failed;
      ++done;
    }
    send_failed_.fetch_add(failed, std::memory_order_relaxed);
    echoed_.fetch_add(answers - failed, std::memory_order_relaxed);
    if (n < kBatch) return;
  }
}

void UdpEchoResponder::Describe(v1::UdpEchoResponder* out) const {
  out->set_address(bound_.ToString());
  out->set_port(bound_.port());
  out->set_received(received_.load(std::memory_order_relaxed));
  out->set_echoed(echoed_.load(std::memory_order_relaxed));
  out->set_send_failed(send_failed_.load(std::memory_order_relaxed));
  out->set_ignored_privileged_source(ignored_privileged_.load(std::memory_order_relaxed));
  out->set_kernel_drops(kernel_drops_.load(std::memory_order_relaxed));
}

}  // namespace netprobe
