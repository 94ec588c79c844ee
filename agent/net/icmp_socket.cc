#include "agent/net/icmp_socket.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

// The kernel's ICMP socket.
class PosixIcmpSocket final : public IcmpSocket {
 public:
  PosixIcmpSocket(UniqueFd fd, int family, Kind kind, uint16_t id)
      : fd_(std::move(fd)), family_(family), kind_(kind), id_(id) {}

  int fd() const override { return fd_.get(); }
  int family() const override { return family_; }
  Kind kind() const override { return kind_; }
  uint16_t id() const override { return id_; }
  int Send(absl::Span<const uint8_t> message, const SocketAddress& to) override;
  int SendWithTtl(absl::Span<const uint8_t> message, const SocketAddress& to,
                  int ttl) override {
    return SendWithHopLimit(fd_.get(), family_, message.data(), message.size(), ttl, &to);
  }
  bool Receive(Received* out) override;
  bool ReadErrorQueue(ErrorEntry* out) override {
    return netprobe::ReadErrorQueue(fd_.get(), family_, out);
  }
  size_t ReceiveBatch(absl::Span<Received> out) override;
  size_t ReadErrorQueueBatch(absl::Span<ErrorEntry> out) override {
    return netprobe::ReadErrorQueueBatch(fd_.get(), family_, out);
  }

 private:
  UniqueFd fd_;
  int family_;
  Kind kind_;
  uint16_t id_;
};

// Accepts echo replies carrying `id` and every error type; drops the rest.
// IPv4 raw sockets see the IP header first, ICMPv6 raw sockets the ICMPv6
// header (the iputils layout).
absl::Status AttachIdFilter(int fd, bool v6, uint16_t id) {
  std::vector<sock_filter> code;
  if (v6) {
    code = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),           // A = type
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 129, 0, 2),  // echo reply? else -> errors
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),           // A = id
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, id, 2, 3),   // ours -> accept, else drop
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 4, 2, 0),    // type > 4 -> drop
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 1, 0, 1),    // 1..4 -> accept, 0 -> drop
        BPF_STMT(BPF_RET | BPF_K, 0xffffffff),           // accept
        BPF_STMT(BPF_RET | BPF_K, 0),                    // drop
    };
  } else {
    code = {
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),         // X = IHL * 4
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0),          // A = type
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),   // echo reply? else -> errors
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 4),          // A = id
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, id, 3, 4),  // ours -> accept, else drop
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 3, 2, 0),   // dest unreachable
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 11, 1, 0),  // time exceeded
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 12, 0, 1),  // parameter problem
        BPF_STMT(BPF_RET | BPF_K, 0xffffffff),          // accept
        BPF_STMT(BPF_RET | BPF_K, 0),                   // drop
    };
  }
  sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
  return SetSocketOption(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program),
                         "SO_ATTACH_FILTER");
}

absl::Status FilterTypes(int fd, bool v6) {
  if (v6) {
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    for (int type : {ICMP6_ECHO_REPLY, ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG,
                     ICMP6_TIME_EXCEEDED, ICMP6_PARAM_PROB}) {
      ICMP6_FILTER_SETPASS(type, &filter);
    }
    return SetSocketOption(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter),
                           "ICMP6_FILTER");
  }
  icmp_filter filter;
  filter.data = ~((1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH) |
                  (1u << ICMP_TIME_EXCEEDED) | (1u << ICMP_PARAMETERPROB));
  return SetSocketOption(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof(filter),
                         "ICMP_FILTER");
}

}  // namespace

absl::StatusOr<std::unique_ptr<IcmpSocket>> IcmpSocket::Open(int family, uint16_t raw_id,
                                                             const SocketSetup& setup) {
  const bool v6 = family == AF_INET6;
  const int protocol =
      v6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
  Kind kind = Kind::kRaw;
  UniqueFd fd(socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (!fd && (errno == EPERM || errno == EACCES)) {
    kind = Kind::kDatagram;
    fd.reset(socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
    if (!fd && (errno == EPERM || errno == EACCES)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "ping needs CAP_NET_RAW for raw ICMP sockets, or the agent's group in "
          "net.ipv4.ping_group_range for ICMP datagram sockets; it has neither"));
    }
  }
  if (!fd) return PosixError(v6 ? "socket(ICMPv6)" : "socket(ICMP)", errno);
  const int fdn = fd.get();
  NETPROBE_RETURN_IF_ERROR(ApplySocketSetup(fdn, family, /*tcp=*/false, setup));
  // Room for bursts of replies from many targets.
  int rcvbuf = 4 << 20;
  setsockopt(fdn, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  // The kernel's count of replies dropped for want of room, with each reply.
  NETPROBE_RETURN_IF_ERROR(
      SetIntSocketOption(fdn, SOL_SOCKET, SO_RXQ_OVFL, 1, "SO_RXQ_OVFL"));
  NETPROBE_RETURN_IF_ERROR(SetIntSocketOption(
      fdn, SOL_SOCKET, SO_TIMESTAMPING, SoftwareTimestampingFlags(), "SO_TIMESTAMPING"));
  if (v6) {
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(fdn, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT"));
  }
  uint16_t id = raw_id;
  if (kind == Kind::kRaw) {
    NETPROBE_RETURN_IF_ERROR(FilterTypes(fdn, v6));
    NETPROBE_RETURN_IF_ERROR(AttachIdFilter(fdn, v6, raw_id));
  } else {
    // Errors for what this socket sent arrive on its error queue.
    NETPROBE_RETURN_IF_ERROR(
        v6 ? SetIntSocketOption(fdn, IPPROTO_IPV6, IPV6_RECVERR, 1, "IPV6_RECVERR")
           : SetIntSocketOption(fdn, IPPROTO_IP, IP_RECVERR, 1, "IP_RECVERR"));
    if (!v6)
      NETPROBE_RETURN_IF_ERROR(
          SetIntSocketOption(fdn, IPPROTO_IP, IP_RECVTTL, 1, "IP_RECVTTL"));
    if (!setup.source) {  // The kernel's identifier is the bound "port".
      sockaddr_storage any{};
      any.ss_family = family;
      if (bind(fdn, reinterpret_cast<sockaddr*>(&any),
               v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in)) != 0) {
        return PosixError("bind(ICMP datagram socket)", errno);
      }
    }
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    getsockname(fdn, reinterpret_cast<sockaddr*>(&local), &len);
    id = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&local), len).port();
  }
  return std::make_unique<PosixIcmpSocket>(std::move(fd), family, kind, id);
}

int PosixIcmpSocket::Send(absl::Span<const uint8_t> message, const SocketAddress& to) {
  const ssize_t n =
      sendto(fd_.get(), message.data(), message.size(), 0, to.get(), to.length());
  if (n < 0) return errno;
  return 0;
}

namespace {

// Receive()'s buffer: one per thread (sockets are loop-thread only),
// allocated on first use and never cleared.
uint8_t* ReceiveBuffer() {
  static thread_local const std::unique_ptr<uint8_t[]> buffer =
      std::make_unique_for_overwrite<uint8_t[]>(IcmpSocket::kReceiveBufferSize);
  return buffer.get();
}

// ReceiveBatch()'s buffers: one set per thread, allocated on first use; the
// data slots are never cleared (untouched pages of a slot stay unbacked).
struct BatchBuffers {
  static constexpr size_t kSlots = IcmpSocket::kMaxReceiveBatch;
  std::unique_ptr<uint8_t[]> data =
      std::make_unique_for_overwrite<uint8_t[]>(kSlots * IcmpSocket::kReceiveBufferSize);
  sockaddr_storage names[kSlots];
  alignas(cmsghdr) char control[kSlots][512];
  iovec iov[kSlots];
  mmsghdr messages[kSlots];
};

BatchBuffers& ThreadBatchBuffers() {
  static thread_local const std::unique_ptr<BatchBuffers> buffers =
      std::make_unique<BatchBuffers>();
  return *buffers;
}

}  // namespace

size_t PosixIcmpSocket::ReceiveBatch(absl::Span<Received> out) {
  const size_t count = std::min(out.size(), kMaxReceiveBatch);
  if (count == 0) return 0;
  BatchBuffers& b = ThreadBatchBuffers();
  for (size_t i = 0; i < count; ++i) {
    b.iov[i] = iovec{b.data.get() + i * kReceiveBufferSize, kReceiveBufferSize};
    msghdr& msg = b.messages[i].msg_hdr;
    msg = msghdr{};
    msg.msg_name = &b.names[i];
    msg.msg_namelen = sizeof(b.names[i]);
    msg.msg_iov = &b.iov[i];
    msg.msg_iovlen = 1;
    msg.msg_control = b.control[i];
    msg.msg_controllen = sizeof(b.control[i]);
    b.messages[i].msg_len = 0;
  }
  const int n = recvmmsg(fd_.get(), b.messages, static_cast<unsigned>(count),
                         MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;
  ReceiveMeta meta;
  for (int i = 0; i < n; ++i) {
    msghdr& msg = b.messages[i].msg_hdr;
    Received& r = out[i];
    r.data = absl::Span<const uint8_t>(static_cast<const uint8_t*>(b.iov[i].iov_base),
                                       b.messages[i].msg_len);
    r.from = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&b.names[i]),
                                         msg.msg_namelen);
    ParseReceiveControl(msg, &meta);
    r.kernel_time = meta.kernel_time;
    r.hop_limit = meta.hop_limit;
    r.kernel_drops = meta.kernel_drops;
  }
  return static_cast<size_t>(n);
}

bool PosixIcmpSocket::Receive(Received* out) {
  uint8_t* const buffer = ReceiveBuffer();
  sockaddr_storage from{};
  iovec iov{buffer, kReceiveBufferSize};
  alignas(cmsghdr) char control[512];
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof(from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  const ssize_t n = recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
  if (n < 0) return false;
  out->data = absl::Span<const uint8_t>(buffer, static_cast<size_t>(n));
  out->from =
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&from), msg.msg_namelen);
  ReceiveMeta meta;
  ParseReceiveControl(msg, &meta);
  out->kernel_time = meta.kernel_time;
  out->hop_limit = meta.hop_limit;
  out->kernel_drops = meta.kernel_drops;
  return true;
}

}  // namespace netprobe
