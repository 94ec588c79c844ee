#include "agent/net/datagram_messages.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "common/posix_error.h"

namespace netprobe {
namespace {

absl::Time FromTimespec(const timespec& ts) {
  if (ts.tv_sec == 0 && ts.tv_nsec == 0) return absl::InfinitePast();
  return absl::TimeFromTimespec(ts);
}

template <typename T>
T Read(const cmsghdr* c) {
  T value;
  std::memcpy(&value, CMSG_DATA(c), sizeof(value));
  return value;
}

SocketAddress AddressOf(const void* addr, int family) {
  sockaddr_storage storage{};
  if (family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, addr, sizeof(in6_addr));
    return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&storage),
                                       sizeof(sockaddr_in6));
  }
  auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
  sin->sin_family = AF_INET;
  std::memcpy(&sin->sin_addr, addr, sizeof(in_addr));
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&storage),
                                     sizeof(sockaddr_in));
}

}  // namespace

int SoftwareTimestampingFlags() {
  return SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE |
         SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID |
         SOF_TIMESTAMPING_OPT_TSONLY;
}

void ParseReceiveControl(msghdr& msg, ReceiveMeta* out) {
  *out = ReceiveMeta();
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING) {
      out->kernel_time = FromTimespec(Read<scm_timestamping>(c).ts[0]);
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
      out->kernel_drops = Read<uint32_t>(c);
    } else if ((c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) ||
               (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)) {
      out->hop_limit = Read<int>(c);
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      const in_pktinfo info = Read<in_pktinfo>(c);
      out->destination = AddressOf(&info.ipi_addr, AF_INET);
      out->local_address = AddressOf(&info.ipi_spec_dst, AF_INET);
      out->interface_index = info.ipi_ifindex;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      const in6_pktinfo info = Read<in6_pktinfo>(c);
      out->destination = AddressOf(&info.ipi6_addr, AF_INET6);
      out->interface_index = static_cast<int>(info.ipi6_ifindex);
    }
  }
}

int SendWithHopLimit(int fd, int family, const uint8_t* data, size_t size, int hop_limit,
                     const SocketAddress* to) {
  iovec iov{const_cast<uint8_t*>(data), size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  if (to != nullptr) {
    msg.msg_name = const_cast<sockaddr*>(to->get());
    msg.msg_namelen = to->length();
  }
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
  c->cmsg_type = family == AF_INET6 ? IPV6_HOPLIMIT : IP_TTL;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &hop_limit, sizeof(int));
  int err = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (sendmsg(fd, &msg, MSG_DONTWAIT) >= 0) return 0;
    err = errno;
    if (err == EINTR) continue;
    // The pending error of a queued ICMP error (see the header): the xchg
    // that reported it cleared it, so one more send tells.
    if (err != EHOSTUNREACH && err != ENETUNREACH && err != ECONNREFUSED &&
        err != EACCES && err != EPROTO && err != EMSGSIZE) {
      break;
    }
  }
  return err;
}

absl::Status EnableRfc4884Errors(int fd, int family) {
  const bool v6 = family == AF_INET6;
  const int on = 1;
  if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP,
                 v6 ? IPV6_RECVERR_RFC4884 : IP_RECVERR_RFC4884, &on, sizeof(on)) != 0 &&
      errno != ENOPROTOOPT) {
    return PosixError(
        v6 ? "setsockopt(IPV6_RECVERR_RFC4884)" : "setsockopt(IP_RECVERR_RFC4884)",
        errno);
  }
  return absl::OkStatus();
}

namespace {

constexpr size_t kErrorDataBytes = 256;
constexpr size_t kErrorControlBytes = 512;

// One message of the error queue, `n` data bytes in msg.msg_iov[0], into `out`.
void ParseErrorQueueMessage(msghdr& msg, size_t n, int family, ErrorQueueEntry* out,
                            size_t stripped_transport_header) {
  const uint8_t* const data = static_cast<const uint8_t*>(msg.msg_iov[0].iov_base);
  const size_t capacity = msg.msg_iov[0].iov_len;
  *out = ErrorQueueEntry();
  absl::Time stamp = absl::InfinitePast();
  int hop_limit = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING) {
      stamp = FromTimespec(Read<scm_timestamping>(c).ts[0]);
    } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
               (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
      hop_limit = Read<int>(c);
    } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
               (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
      const sock_extended_err err = Read<sock_extended_err>(c);
      if (err.ee_origin == SO_EE_ORIGIN_TIMESTAMPING) {
        out->kind = ErrorQueueEntry::Kind::kTxTimestamp;
        out->tx_id = err.ee_data;
      } else if (err.ee_origin == SO_EE_ORIGIN_ICMP ||
                 err.ee_origin == SO_EE_ORIGIN_ICMP6 ||
                 err.ee_origin == SO_EE_ORIGIN_LOCAL) {
        out->kind = ErrorQueueEntry::Kind::kIcmpError;
        out->icmp_type = err.ee_type;
        out->icmp_code = err.ee_code;
        out->err = static_cast<int>(err.ee_errno);
        const sockaddr* offender =
            SO_EE_OFFENDER(reinterpret_cast<sock_extended_err*>(CMSG_DATA(c)));
        out->offender = SocketAddress::FromSockaddr(
            offender, family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
        out->request.assign(data, data + std::min<size_t>(n, capacity));
        if (err.ee_errno == EMSGSIZE) out->next_hop_mtu = err.ee_info;
        if (err.ee_origin != SO_EE_ORIGIN_LOCAL) {
          const size_t quoted_ip_header = family == AF_INET6 ? 40 : 20;
          std::optional<icmp::IcmpExtensions> extensions =
              icmp::ErrorQueueExtensions(out->request, err.ee_rfc4884.len,
                                         quoted_ip_header + stripped_transport_header);
          if (extensions.has_value()) {
            out->has_extensions = true;
            out->mpls = std::move(extensions->mpls);
          }
        }
      }
    }
  }
  out->time = stamp;
  if (out->kind == ErrorQueueEntry::Kind::kIcmpError) out->reply_ttl = hop_limit;
}

}  // namespace

bool ReadErrorQueue(int fd, int family, ErrorQueueEntry* out,
                    size_t stripped_transport_header) {
  uint8_t data[kErrorDataBytes];
  iovec iov{data, sizeof(data)};
  alignas(cmsghdr) char control[kErrorControlBytes];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  const ssize_t n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
  if (n < 0) return false;
  ParseErrorQueueMessage(msg, static_cast<size_t>(n), family, out,
                         stripped_transport_header);
  return true;
}

size_t ReadErrorQueueBatch(int fd, int family, absl::Span<ErrorQueueEntry> out,
                           size_t stripped_transport_header) {
  const size_t count = std::min(out.size(), kMaxErrorQueueBatch);
  if (count == 0) return 0;
  uint8_t data[kMaxErrorQueueBatch][kErrorDataBytes];
  alignas(cmsghdr) char control[kMaxErrorQueueBatch][kErrorControlBytes];
  iovec iov[kMaxErrorQueueBatch];
  mmsghdr messages[kMaxErrorQueueBatch];
  for (size_t i = 0; i < count; ++i) {
    iov[i] = iovec{data[i], kErrorDataBytes};
    messages[i] = mmsghdr{};
    messages[i].msg_hdr.msg_iov = &iov[i];
    messages[i].msg_hdr.msg_iovlen = 1;
    messages[i].msg_hdr.msg_control = control[i];
    messages[i].msg_hdr.msg_controllen = kErrorControlBytes;
  }
  const int n = recvmmsg(fd, messages, static_cast<unsigned>(count),
                         MSG_ERRQUEUE | MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;
  for (int i = 0; i < n; ++i) {
    ParseErrorQueueMessage(messages[i].msg_hdr, messages[i].msg_len, family, &out[i],
                           stripped_transport_header);
  }
  return static_cast<size_t>(n);
}

}  // namespace netprobe
