// Reads every kernel struct by memcpy from the received bytes: a buffer of
// netlink messages guarantees no alignment to this code, and a cast would let a
// bad length read past the end.
#include "agent/net/sock_diag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "agent/net/unique_fd.h"
#include "common/posix_error.h"

namespace netprobe::sock_diag {
namespace {

static_assert(sizeof(tcp_info) <= kTcpInfoCapacity);
static_assert(SK_MEMINFO_VARS <= kMemInfoCapacity);
static_assert(kTcpInfoCapacity <= UINT16_MAX);

template <typename T>
T Load(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(value));
  return value;
}

template <typename T>
void Append(std::vector<uint8_t>* out, const T& value) {
  const auto* p = reinterpret_cast<const uint8_t*>(&value);
  out->insert(out->end(), p, p + sizeof(value));
}

constexpr size_t Align4(size_t n) { return (n + 3) & ~size_t{3}; }

// Calls visit(type, payload) for each attribute in `bytes`. False when an
// attribute's length is below its header or beyond `bytes` (the rest is not
// read) or bytes too few for a header trail the last one.
template <typename Visit>
bool ForEachAttribute(absl::Span<const uint8_t> bytes, Visit visit) {
  size_t offset = 0;
  while (bytes.size() - offset >= sizeof(rtattr)) {
    const rtattr attr = Load<rtattr>(bytes.data() + offset);
    const size_t remaining = bytes.size() - offset;
    if (attr.rta_len < sizeof(rtattr) || attr.rta_len > remaining) return false;
    visit(attr.rta_type & NLA_TYPE_MASK,
          bytes.subspan(offset + sizeof(rtattr), attr.rta_len - sizeof(rtattr)));
    offset += std::min(Align4(attr.rta_len), remaining);
  }
  return offset == bytes.size();
}

void CopyMemInfo(absl::Span<const uint8_t> payload, Socket* s) {
  const size_t count = std::min(payload.size() / sizeof(uint32_t), kMemInfoCapacity);
  for (size_t i = 0; i < count; ++i) {
    s->meminfo[i] = Load<uint32_t>(payload.data() + i * sizeof(uint32_t));
  }
  s->meminfo_count = static_cast<uint8_t>(count);
}

uint8_t InetSocketType(int protocol) {
  switch (protocol) {
    case IPPROTO_TCP:
      return SOCK_STREAM;
    case IPPROTO_UDP:
      return SOCK_DGRAM;
    default:
      return SOCK_RAW;
  }
}

// An inet_diag_msg and its attributes. False when the payload is too short.
bool DecodeInet(absl::Span<const uint8_t> payload, int protocol, std::vector<Socket>* out,
                size_t* malformed) {
  if (payload.size() < sizeof(inet_diag_msg)) return false;
  const inet_diag_msg msg = Load<inet_diag_msg>(payload.data());
  Socket& s = out->emplace_back();
  s.family = msg.idiag_family;
  s.protocol = static_cast<uint8_t>(protocol);
  s.type = InetSocketType(protocol);
  s.state = msg.idiag_state;
  const size_t address_size = s.family == AF_INET ? 4 : 16;
  std::memcpy(s.local.address.data(), msg.id.idiag_src, address_size);
  std::memcpy(s.remote.address.data(), msg.id.idiag_dst, address_size);
  s.local.port = ntohs(msg.id.idiag_sport);
  s.remote.port = ntohs(msg.id.idiag_dport);
  s.interface = msg.id.idiag_if;
  s.cookie = uint64_t{msg.id.idiag_cookie[1]} << 32 | msg.id.idiag_cookie[0];
  s.timer = msg.idiag_timer;
  s.retransmits = msg.idiag_retrans;
  s.expires_ms = msg.idiag_expires;
  s.receive_queue = msg.idiag_rqueue;
  s.send_queue = msg.idiag_wqueue;
  s.uid = msg.idiag_uid;
  s.has_uid = true;
  s.inode = msg.idiag_inode;

  const size_t header = NLMSG_ALIGN(sizeof(inet_diag_msg));
  const bool framed = ForEachAttribute(
      payload.subspan(std::min(header, payload.size())),
      [&](uint16_t type, absl::Span<const uint8_t> value) {
        switch (type) {
          case INET_DIAG_INFO:
            if (protocol != IPPROTO_TCP) break;
            s.tcp_info_size =
                static_cast<uint16_t>(std::min(value.size(), kTcpInfoCapacity));
            std::memcpy(s.tcp_info.data(), value.data(), s.tcp_info_size);
            break;
          case INET_DIAG_CONG: {
            const auto* text = reinterpret_cast<const char*>(value.data());
            s.congestion.assign(text, strnlen(text, value.size()));
            break;
          }
          case INET_DIAG_SKMEMINFO:
            CopyMemInfo(value, &s);
            break;
          case INET_DIAG_SKV6ONLY:
            if (value.empty()) {
              ++*malformed;
              break;
            }
            s.has_v6only = true;
            s.v6only = value[0] != 0;
            break;
          case INET_DIAG_SHUTDOWN:
            if (value.empty()) {
              ++*malformed;
              break;
            }
            s.has_shutdown = true;
            s.shutdown = value[0];
            break;
          default:
            break;
        }
      });
  if (!framed) ++*malformed;
  return true;
}

// A unix_diag_msg and its attributes. False when the payload is too short.
bool DecodeUnix(absl::Span<const uint8_t> payload, std::vector<Socket>* out,
                size_t* malformed) {
  if (payload.size() < sizeof(unix_diag_msg)) return false;
  const unix_diag_msg msg = Load<unix_diag_msg>(payload.data());
  Socket& s = out->emplace_back();
  s.family = AF_UNIX;
  s.type = msg.udiag_type;
  s.state = msg.udiag_state;
  s.inode = msg.udiag_ino;
  s.cookie = uint64_t{msg.udiag_cookie[1]} << 32 | msg.udiag_cookie[0];

  const size_t header = NLMSG_ALIGN(sizeof(unix_diag_msg));
  const bool framed = ForEachAttribute(
      payload.subspan(std::min(header, payload.size())),
      [&](uint16_t type, absl::Span<const uint8_t> value) {
        const auto* text = reinterpret_cast<const char*>(value.data());
        switch (type) {
          case UNIX_DIAG_NAME:
            if (!value.empty() && value[0] == 0) {
              // Abstract: every NUL (the leading one included) as '@', as ss.
              s.path.assign(text, value.size());
              std::replace(s.path.begin(), s.path.end(), '\0', '@');
            } else {
              // A path name: the kernel's copy ends with the caller's NUL.
              s.path.assign(text, strnlen(text, value.size()));
            }
            break;
          case UNIX_DIAG_VFS:
            if (value.size() < sizeof(unix_diag_vfs)) {
              ++*malformed;
              break;
            }
            s.vfs_inode = Load<unix_diag_vfs>(value.data()).udiag_vfs_ino;
            s.vfs_device = Load<unix_diag_vfs>(value.data()).udiag_vfs_dev;
            break;
          case UNIX_DIAG_PEER:
            if (value.size() < sizeof(uint32_t)) {
              ++*malformed;
              break;
            }
            s.peer_inode = Load<uint32_t>(value.data());
            break;
          case UNIX_DIAG_RQLEN:
            if (value.size() < sizeof(unix_diag_rqlen)) {
              ++*malformed;
              break;
            }
            s.receive_queue = Load<unix_diag_rqlen>(value.data()).udiag_rqueue;
            s.send_queue = Load<unix_diag_rqlen>(value.data()).udiag_wqueue;
            break;
          case UNIX_DIAG_MEMINFO:
            CopyMemInfo(value, &s);
            break;
          case UNIX_DIAG_UID:
            if (value.size() < sizeof(uint32_t)) {
              ++*malformed;
              break;
            }
            s.uid = Load<uint32_t>(value.data());
            s.has_uid = true;
            break;
          default:
            break;
        }
      });
  if (!framed) ++*malformed;
  return true;
}

absl::Status Malformed(size_t offset, absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("sock_diag: malformed reply: message at byte ", offset, ": ", what));
}

// ParseReply, also giving the errno of an NLMSG_ERROR / NLMSG_DONE error.
absl::StatusOr<ReplySummary> Parse(absl::Span<const uint8_t> bytes, int protocol,
                                   std::vector<Socket>* out, int* reply_errno) {
  ReplySummary summary;
  size_t malformed = 0;
  size_t offset = 0;
  while (offset < bytes.size()) {
    const size_t remaining = bytes.size() - offset;
    if (remaining < sizeof(nlmsghdr)) {
      return Malformed(offset, absl::StrCat(remaining, " bytes: shorter than a header"));
    }
    const nlmsghdr header = Load<nlmsghdr>(bytes.data() + offset);
    if (header.nlmsg_len < sizeof(nlmsghdr)) {
      return Malformed(offset, absl::StrCat("nlmsg_len ", header.nlmsg_len,
                                            " is shorter than the header"));
    }
    if (header.nlmsg_len > remaining) {
      return Malformed(offset, absl::StrCat("nlmsg_len ", header.nlmsg_len,
                                            " exceeds the ", remaining, " bytes left"));
    }
    const absl::Span<const uint8_t> payload =
        bytes.subspan(offset + sizeof(nlmsghdr), header.nlmsg_len - sizeof(nlmsghdr));
    if (header.nlmsg_flags & NLM_F_DUMP_INTR) summary.interrupted = true;

    if (header.nlmsg_type == NLMSG_DONE || header.nlmsg_type == NLMSG_ERROR) {
      // NLMSG_DONE may carry the dump's error; NLMSG_ERROR always carries one,
      // 0 being an acknowledgement.
      if (payload.size() < sizeof(int32_t)) {
        if (header.nlmsg_type == NLMSG_ERROR) {
          return Malformed(offset, "NLMSG_ERROR without an error code");
        }
      } else if (const int32_t error = Load<int32_t>(payload.data()); error < 0) {
        if (error < -4095) {
          return Malformed(offset, absl::StrCat("error code ", error));
        }
        *reply_errno = -error;
        return PosixError("sock_diag", -error);
      }
      if (header.nlmsg_type == NLMSG_DONE) {
        summary.done = true;
        break;
      }
      ++summary.ignored;
    } else if (header.nlmsg_type == NLMSG_OVERRUN) {
      return Malformed(offset, "NLMSG_OVERRUN: the kernel dropped data");
    } else if (header.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
      const uint8_t family = payload.empty() ? 0 : payload[0];
      bool decoded = false;
      if (family == AF_UNIX) {
        decoded = DecodeUnix(payload, out, &malformed);
      } else if (family == AF_INET || family == AF_INET6) {
        decoded = DecodeInet(payload, protocol, out, &malformed);
      }
      if (decoded) {
        ++summary.sockets;
      } else {
        ++malformed;
      }
    } else {
      ++summary.ignored;
    }
    offset += std::min(Align4(header.nlmsg_len), remaining);
  }
  summary.malformed = malformed;
  return summary;
}

// Request and reply sockets (SYN received by a listener) answer for kSynRecv.
bool InMask(uint32_t mask, uint8_t state) {
  if (state >= 32) return false;
  if (mask & (uint32_t{1} << state)) return true;
  return state == kNewSynRecv && (mask & StateBit(kSynRecv));
}

absl::string_view QueryName(const Query& query) {
  if (query.family == AF_UNIX) return "unix";
  const bool v6 = query.family == AF_INET6;
  switch (query.protocol) {
    case IPPROTO_TCP:
      return v6 ? "TCP over IPv6" : "TCP over IPv4";
    case IPPROTO_UDP:
      return v6 ? "UDP over IPv6" : "UDP over IPv4";
    default:
      return v6 ? "raw IPv6" : "raw IPv4";
  }
}

absl::Status CheckQuery(const Query& query) {
  const bool inet = (query.family == AF_INET || query.family == AF_INET6) &&
                    (query.protocol == IPPROTO_TCP || query.protocol == IPPROTO_UDP ||
                     query.protocol == IPPROTO_RAW);
  const bool unix_sockets = query.family == AF_UNIX && query.protocol == 0;
  if (inet || unix_sockets) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "sock_diag: no dump for family ", query.family, " protocol ", query.protocol));
}

// Sets SO_RCVTIMEO to `timeout` (at least 1 ms: 0 would mean "forever").
absl::Status SetReceiveTimeout(int fd, absl::Duration timeout) {
  timeval tv = absl::ToTimeval(std::max(timeout, absl::Milliseconds(1)));
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
    return PosixError("setsockopt(SO_RCVTIMEO)", errno);
  }
  return absl::OkStatus();
}

// The largest datagram the kernel builds for a dump is 32 KiB (netlink_dump
// caps its skb there); twice that leaves room and MSG_TRUNC catches the rest.
constexpr size_t kReceiveBufferSize = 64 * 1024;

}  // namespace

absl::string_view StateName(int protocol, uint8_t state) {
  static constexpr const char* kNames[] = {
      "UNKNOWN",    "ESTAB",     "SYN-SENT",    "SYN-RECV",   "FIN-WAIT-1",
      "FIN-WAIT-2", "TIME-WAIT", "UNCONN",      "CLOSE-WAIT", "LAST-ACK",
      "LISTEN",     "CLOSING",   "NEW-SYN-RECV"};
  if (state == kClose && protocol == IPPROTO_TCP) return "CLOSE";
  return state < sizeof(kNames) / sizeof(kNames[0]) ? kNames[state] : "UNKNOWN";
}

absl::StatusOr<uint32_t> StateBitsFromName(absl::string_view name,
                                           absl::string_view field) {
  struct Entry {
    const char* name;
    uint32_t bits;
  };
  static constexpr uint32_t kNotConnected = StateBit(kClose) | StateBit(kListen);
  static constexpr uint32_t kBucket =
      StateBit(kSynRecv) | StateBit(kNewSynRecv) | StateBit(kTimeWait);
  static constexpr Entry kEntries[] = {
      {"established", StateBit(kEstablished)},
      {"syn-sent", StateBit(kSynSent)},
      {"syn-recv", StateBit(kSynRecv)},
      {"fin-wait-1", StateBit(kFinWait1)},
      {"fin-wait-2", StateBit(kFinWait2)},
      {"time-wait", StateBit(kTimeWait)},
      {"closed", StateBit(kClose)},
      {"close-wait", StateBit(kCloseWait)},
      {"last-ack", StateBit(kLastAck)},
      {"listening", StateBit(kListen)},
      {"closing", StateBit(kClosing)},
      {"all", kAllStates},
      {"connected", kAllStates & ~kNotConnected},
      {"synchronized", kAllStates & ~(kNotConnected | StateBit(kSynSent))},
      {"bucket", kBucket},
      {"big", kAllStates & ~kBucket},
      // Aliases ss also accepts; not listed in errors.
      {"listen", StateBit(kListen)},
      {"close", StateBit(kClose)},
      {"unconnected", StateBit(kClose)},
      {"syn-rcv", StateBit(kSynRecv)},
  };
  constexpr size_t kListed = 16;
  for (const Entry& entry : kEntries) {
    if (absl::EqualsIgnoreCase(name, entry.name)) return entry.bits;
  }
  std::vector<absl::string_view> valid;
  for (size_t i = 0; i < kListed; ++i) valid.push_back(kEntries[i].name);
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": unknown socket state '", name, "'; valid: ", absl::StrJoin(valid, ", ")));
}

std::vector<uint8_t> BuildRequest(const Query& query, uint32_t sequence) {
  nlmsghdr header{};
  header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  header.nlmsg_seq = sequence;
  std::vector<uint8_t> out;
  if (query.family == AF_UNIX) {
    unix_diag_req req{};
    req.sdiag_family = AF_UNIX;
    req.udiag_states = query.states;
    req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER |
                     UDIAG_SHOW_RQLEN | UDIAG_SHOW_MEMINFO | UDIAG_SHOW_UID;
    header.nlmsg_len = NLMSG_LENGTH(sizeof(req));
    Append(&out, header);
    Append(&out, req);
    return out;
  }
  // inet_diag_req_raw is inet_diag_req_v2 with `pad` named: for dumps of raw
  // sockets it stays 0, the kernel reads it only to look one socket up.
  inet_diag_req_raw req{};
  req.sdiag_family = static_cast<uint8_t>(query.family);
  req.sdiag_protocol = static_cast<uint8_t>(query.protocol);
  req.idiag_ext = 1 << (INET_DIAG_SKMEMINFO - 1);
  if (query.tcp_info && query.protocol == IPPROTO_TCP) {
    req.idiag_ext |= 1 << (INET_DIAG_INFO - 1) | 1 << (INET_DIAG_CONG - 1);
  }
  req.idiag_states = query.states;
  header.nlmsg_len = NLMSG_LENGTH(sizeof(req));
  Append(&out, header);
  Append(&out, req);
  return out;
}

std::string FormatAddress(int family, const Endpoint& endpoint) {
  if (family == AF_INET) {
    // inet_ntop's IPv4 text, without its sprintf (a listing of 10,000
    // sockets formats 20,000 addresses: 5 % of the agent's CPU went there).
    char text[INET_ADDRSTRLEN];
    char* end = text;
    for (size_t i = 0; i < 4; ++i) {
      const unsigned octet = endpoint.address[i];
      if (i > 0) *end++ = '.';
      if (octet >= 100) *end++ = static_cast<char>('0' + octet / 100);
      if (octet >= 10) *end++ = static_cast<char>('0' + octet / 10 % 10);
      *end++ = static_cast<char>('0' + octet % 10);
    }
    return std::string(text, end);
  }
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == AF_INET ? AF_INET : AF_INET6, endpoint.address.data(), text,
            sizeof(text));
  return text;
}

absl::StatusOr<ReplySummary> ParseReply(absl::Span<const uint8_t> bytes, int protocol,
                                        std::vector<Socket>* out) {
  int reply_errno = 0;
  return Parse(bytes, protocol, out, &reply_errno);
}

absl::StatusOr<ReplySummary> Dump(const Query& query, std::vector<Socket>* out,
                                  const DumpLimits& limits) {
  NETPROBE_RETURN_IF_ERROR(CheckQuery(query));
  const absl::Time deadline = absl::Now() + limits.timeout;
  UniqueFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd) {
    const int err = errno;
    if (err == EPROTONOSUPPORT || err == EAFNOSUPPORT) {
      return absl::UnimplementedError(absl::StrCat(
          "sock_diag: this kernel has no NETLINK_SOCK_DIAG (", ErrnoName(err),
          "): ", QueryName(query), " sockets are not available"));
    }
    return PosixError("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", err);
  }

  const std::vector<uint8_t> request = BuildRequest(query, /*sequence=*/1);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  while (sendto(fd.get(), request.data(), request.size(), 0,
                reinterpret_cast<const sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    if (errno != EINTR) return PosixError("sock_diag: sendto", errno);
  }

  std::vector<uint8_t> buffer(kReceiveBufferSize);
  const size_t first = out->size();
  ReplySummary total;
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat(
          "sock_diag: the ", QueryName(query), " dump did not finish within ",
          absl::FormatDuration(limits.timeout)));
    }
    NETPROBE_RETURN_IF_ERROR(SetReceiveTimeout(fd.get(), left));
    sockaddr_nl from{};
    socklen_t from_len = sizeof(from);
    const ssize_t n = recvfrom(fd.get(), buffer.data(), buffer.size(), MSG_TRUNC,
                               reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return PosixError("sock_diag: recvfrom", errno);
    }
    if (static_cast<size_t>(n) > buffer.size()) {
      return absl::InternalError(absl::StrCat("sock_diag: a ", n,
                                              "-byte datagram exceeds the ",
                                              buffer.size(), "-byte buffer"));
    }
    if (from.nl_pid != 0) continue;  // not from the kernel
    if (n == 0) return absl::InternalError("sock_diag: an empty datagram");

    const size_t before = out->size();
    int reply_errno = 0;
    absl::StatusOr<ReplySummary> part =
        Parse(absl::MakeConstSpan(buffer.data(), static_cast<size_t>(n)), query.protocol,
              out, &reply_errno);
    // Raw dumps ignore the state mask; the others honour it already.
    out->erase(
        std::remove_if(out->begin() + before, out->end(),
                       [&](const Socket& s) { return !InMask(query.states, s.state); }),
        out->end());
    if (!part.ok()) {
      if (reply_errno == ENOENT) {
        return absl::UnimplementedError(
            absl::StrCat("sock_diag: this kernel cannot list ", QueryName(query),
                         " sockets (no diag module for it: ENOENT)"));
      }
      return part.status();
    }
    total.sockets += out->size() - before;
    total.malformed += part->malformed;
    total.ignored += part->ignored;
    total.interrupted |= part->interrupted;
    if (out->size() - first > limits.max_sockets) {
      out->resize(first + limits.max_sockets);
      return absl::ResourceExhaustedError(absl::StrCat("sock_diag: more than ",
                                                       limits.max_sockets, " ",
                                                       QueryName(query), " sockets"));
    }
    if (part->done) {
      total.done = true;
      return total;
    }
  }
}

}  // namespace netprobe::sock_diag
