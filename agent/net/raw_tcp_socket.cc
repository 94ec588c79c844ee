#include "agent/net/raw_tcp_socket.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/net/udp_socket.h"
#include "common/posix_error.h"

namespace netprobe {
namespace tcp_segment {
namespace {

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Put32(uint8_t* p, uint32_t v) {
  Put16(p, static_cast<uint16_t>(v >> 16));
  Put16(p + 2, static_cast<uint16_t>(v));
}
uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Get32(const uint8_t* p) {
  return static_cast<uint32_t>(Get16(p)) << 16 | Get16(p + 2);
}

// The one's complement sum of `data` (big-endian 16-bit words) added to `sum`.
uint32_t Sum(absl::Span<const uint8_t> data, uint32_t sum) {
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += Get16(&data[i]);
  if (i < data.size()) sum += static_cast<uint32_t>(data[i]) << 8;
  return sum;
}

absl::Span<const uint8_t> AddressBytes(const SocketAddress& a) {
  if (a.family() == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a.get());
    return {reinterpret_cast<const uint8_t*>(&sin6->sin6_addr), 16};
  }
  const auto* sin = reinterpret_cast<const sockaddr_in*>(a.get());
  return {reinterpret_cast<const uint8_t*>(&sin->sin_addr), 4};
}

}  // namespace

uint16_t Checksum(const SocketAddress& source, const SocketAddress& destination,
                  absl::Span<const uint8_t> segment) {
  uint32_t sum = Sum(AddressBytes(source), 0);
  sum = Sum(AddressBytes(destination), sum);
  // IPv4: zero, protocol, 16-bit length; IPv6: 32-bit length, zeros,
  // next header. As sums of 16-bit words they are the same for short segments.
  sum += IPPROTO_TCP;
  sum += static_cast<uint32_t>(segment.size() >> 16) + (segment.size() & 0xffff);
  sum = Sum(segment, sum);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> BuildSyn(const SocketAddress& source,
                              const SocketAddress& destination, uint32_t sequence,
                              bool checksum) {
  std::vector<uint8_t> syn(kSynLength, 0);
  uint8_t* p = syn.data();
  Put16(p, source.port());
  Put16(p + 2, destination.port());
  Put32(p + 4, sequence);
  // ack 0; data offset (in 32-bit words) in the high nibble.
  p[12] = static_cast<uint8_t>((kSynLength / 4) << 4);
  p[13] = kSyn;
  Put16(p + 14, kSynWindow);
  // checksum (16) and urgent pointer (18) 0, then the MSS option.
  p[20] = 2;  // kind: MSS
  p[21] = 4;  // length
  Put16(p + 22, kSynMss);
  if (checksum) Put16(p + 16, Checksum(source, destination, syn));
  return syn;
}

std::optional<Header> Parse(absl::Span<const uint8_t> packet, bool ip_header) {
  size_t offset = 0;
  uint8_t ttl = 0;
  if (ip_header) {
    if (packet.size() < 20 || (packet[0] >> 4) != 4) return std::nullopt;
    const size_t ihl = static_cast<size_t>(packet[0] & 0x0f) * 4;
    if (ihl < 20 || packet[9] != IPPROTO_TCP) return std::nullopt;
    offset = ihl;
    ttl = packet[8];
  }
  // The fixed TCP header; segments are read in part (headers suffice), so
  // the IP total length may exceed what was read.
  if (packet.size() < offset + 20) return std::nullopt;
  const uint8_t* p = packet.data() + offset;
  Header header;
  header.source_port = Get16(p);
  header.destination_port = Get16(p + 2);
  header.sequence = Get32(p + 4);
  header.ack = Get32(p + 8);
  header.flags = p[13];
  header.ttl = ttl;
  return header;
}

std::optional<SynAnswer> MatchSynAnswer(const Header& header, uint16_t remote_port) {
  if (header.source_port != remote_port || (header.flags & kAck) == 0) {
    return std::nullopt;
  }
  SynAnswer answer;
  if (header.reset()) {
    answer.kind = SynAnswer::Kind::kReset;
  } else if (header.syn_ack()) {
    answer.kind = SynAnswer::Kind::kSynAck;
  } else {
    return std::nullopt;
  }
  answer.local_port = header.destination_port;
  answer.sequence = header.ack - 1;
  return answer;
}

std::optional<Header> ParseQuoted(absl::Span<const uint8_t> quoted) {
  if (quoted.size() < 8) return std::nullopt;
  Header header;
  header.source_port = Get16(&quoted[0]);
  header.destination_port = Get16(&quoted[2]);
  header.sequence = Get32(&quoted[4]);
  return header;
}

}  // namespace tcp_segment

namespace {

// Passes SYN or RST segments from the target's port (SYN-ACK, RST): the
// answers to SYNs; a busy connection to the same port does not wake us.
// IPv4 raw sockets see the IP header first, IPv6 ones the TCP header.
absl::Status AttachAnswerFilter(int fd, bool v6, uint16_t port) {
  std::vector<sock_filter> code;
  if (v6) {
    code = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0),             // A = source port
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 3),   // the target's? else drop
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),            // A = flags
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x06, 0, 1),  // SYN or RST? else drop
        BPF_STMT(BPF_RET | BPF_K, 0xffffffff),             // accept
        BPF_STMT(BPF_RET | BPF_K, 0),                      // drop
    };
  } else {
    code = {
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),            // X = IHL * 4
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 0),             // A = source port
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 3),   // the target's? else drop
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13),            // A = flags
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x06, 0, 1),  // SYN or RST? else drop
        BPF_STMT(BPF_RET | BPF_K, 0xffffffff),             // accept
        BPF_STMT(BPF_RET | BPF_K, 0),                      // drop
    };
  }
  sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
  return SetSocketOption(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program),
                         "SO_ATTACH_FILTER");
}

// The address the kernel sends from toward `target` under `setup`
// (interface, mark, source): a UDP socket's after connect(), which only
// looks the route up.
absl::StatusOr<SocketAddress> RouteSource(const SocketAddress& target,
                                          const SocketSetup& setup) {
  NETPROBE_ASSIGN_OR_RETURN(UdpSocket udp, UdpSocket::Open(target.family(), setup));
  NETPROBE_RETURN_IF_ERROR(udp.Connect(target));
  NETPROBE_ASSIGN_OR_RETURN(SocketAddress local, udp.LocalAddress());
  local.set_port(0);
  return local;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RawTcpSocket>> RawTcpSocket::Open(
    const SocketAddress& target, const SocketSetup& setup) {
  const int af = target.family();
  const bool v6 = af == AF_INET6;
  UniqueFd fd(socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd && (errno == EPERM || errno == EACCES)) {
    return absl::FailedPreconditionError(
        "TCP SYN probes need CAP_NET_RAW for a raw TCP socket; the agent lacks it");
  }
  if (!fd) return PosixError(v6 ? "socket(raw TCPv6)" : "socket(raw TCP)", errno);
  const int n = fd.get();
  SocketSetup raw_setup = setup;
  if (!raw_setup.source) {
    NETPROBE_ASSIGN_OR_RETURN(raw_setup.source, RouteSource(target, setup));
  } else {
    raw_setup.source->set_port(0);
  }
  SocketAddress source = *raw_setup.source;
  // Binds to the source: the v4 checksum covers it, and only segments to it
  // arrive.
  NETPROBE_RETURN_IF_ERROR(ApplySocketSetup(n, af, /*tcp=*/false, raw_setup));
  NETPROBE_RETURN_IF_ERROR(SetIntSocketOption(
      n, SOL_SOCKET, SO_TIMESTAMPING, SoftwareTimestampingFlags(), "SO_TIMESTAMPING"));
  if (v6) {
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(n, IPPROTO_IPV6, IPV6_RECVERR, 1, "IPV6_RECVERR"));
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(n, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT"));
    // The kernel computes the checksum (offset 16 of the TCP header) with
    // the pseudo header of the addresses it sends with.
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(n, IPPROTO_IPV6, IPV6_CHECKSUM, 16, "IPV6_CHECKSUM"));
  } else {
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(n, IPPROTO_IP, IP_RECVERR, 1, "IP_RECVERR"));
    NETPROBE_RETURN_IF_ERROR(
        SetIntSocketOption(n, IPPROTO_IP, IP_RECVTTL, 1, "IP_RECVTTL"));
  }
  // Errors' MPLS labels (RFC 4884 offsets), as on the UDP sockets.
  NETPROBE_RETURN_IF_ERROR(EnableRfc4884Errors(n, af));
  NETPROBE_RETURN_IF_ERROR(AttachAnswerFilter(n, v6, target.port()));
  // Port 0: for raw sockets it means nothing, the segment carries its ports.
  SocketAddress peer = target;
  peer.set_port(0);
  if (connect(n, peer.get(), peer.length()) != 0) {
    return PosixError(absl::StrCat("connect(raw TCP, ", peer.ip(), ")"), errno);
  }
  return std::unique_ptr<RawTcpSocket>(
      new RawTcpSocket(std::move(fd), std::move(source), target));
}

absl::StatusOr<uint16_t> RawTcpSocket::ReservePort() {
  UniqueFd fd(socket(family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) return PosixError("socket(TCP) for a source port", errno);
  if (bind(fd.get(), source_.get(), source_.length()) != 0) {
    return PosixError(absl::StrCat("bind(", source_.ip(), ", port 0)"), errno);
  }
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    return PosixError("getsockname", errno);
  }
  const uint16_t port =
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&local), len).port();
  reserved_.push_back(std::move(fd));
  return port;
}

int RawTcpSocket::SendSyn(uint16_t source_port, uint32_t sequence, int ttl) {
  SocketAddress from = source_;
  from.set_port(source_port);
  const std::vector<uint8_t> syn =
      tcp_segment::BuildSyn(from, target_, sequence, /*checksum=*/family() == AF_INET);
  return SendWithHopLimit(fd_.get(), family(), syn.data(), syn.size(), ttl, nullptr);
}

int RawTcpSocket::Receive(Received* out) {
  // The headers are all we read: IPv4's (at most 60) and TCP's fixed 20.
  uint8_t data[128];
  sockaddr_storage from{};
  iovec iov{data, sizeof(data)};
  alignas(cmsghdr) char control[256];
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof(from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  const bool v6 = family() == AF_INET6;
  const std::optional<tcp_segment::Header> header =
      tcp_segment::Parse(absl::MakeConstSpan(data, static_cast<size_t>(n)), !v6);
  if (!header) return EBADMSG;
  ReceiveMeta meta;
  ParseReceiveControl(msg, &meta);
  out->header = *header;
  out->from =
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&from), msg.msg_namelen);
  out->kernel_time = meta.kernel_time;
  out->ttl = v6 ? std::max(meta.hop_limit, 0) : header->ttl;
  return 0;
}

}  // namespace netprobe
