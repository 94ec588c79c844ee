#ifndef NETPROBE_AGENT_NET_SOCK_DIAG_H_
#define NETPROBE_AGENT_NET_SOCK_DIAG_H_

// The host's sockets from netlink sock_diag (NETLINK_SOCK_DIAG), as `ss` reads
// them: request builders, a reply parser that trusts nothing, and a blocking
// dump. No protobuf here: sock_diag_entry.h turns a Socket into a SocketEntry.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace netprobe::sock_diag {

// Kernel socket states (include/net/tcp_states.h); unix and UDP sockets use the
// same values. A state mask has bit (1 << state) set for each state it selects.
enum State : uint8_t {
  kEstablished = 1,
  kSynSent = 2,
  kSynRecv = 3,
  kFinWait1 = 4,
  kFinWait2 = 5,
  kTimeWait = 6,
  kClose = 7,
  kCloseWait = 8,
  kLastAck = 9,
  kListen = 10,
  kClosing = 11,
  kNewSynRecv = 12,  // a request socket: a SYN received by a listener
};

inline constexpr uint32_t StateBit(State state) { return uint32_t{1} << state; }

// Every state 1..12, as `ss -a` asks. As in the kernel, kSynRecv in a mask
// also selects kNewSynRecv: pending connections (request sockets), which the
// kernel then reports as kSynRecv.
inline constexpr uint32_t kAllStates = ((uint32_t{1} << 13) - 1) & ~uint32_t{1};

// The name `ss` prints for `state` ("ESTAB", "LISTEN", "SYN-SENT", ...).
// kClose is "CLOSE" for TCP and "UNCONN" for everything else (UDP, raw, unix),
// where it means "not connected"; unknown values are "UNKNOWN".
// `protocol` is Socket::protocol (IPPROTO_TCP, ...; 0 for unix).
absl::string_view StateName(int protocol, uint8_t state);

// The state bits of one name as `ss` accepts them in filters, case-insensitive:
// "established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2",
// "time-wait", "closed" (or "close", "unconnected"), "close-wait", "last-ack",
// "listening" (or "listen"), "closing", and the groups "all", "connected",
// "synchronized", "bucket", "big". INVALID_ARGUMENT naming `field` and the
// valid names otherwise.
absl::StatusOr<uint32_t> StateBitsFromName(absl::string_view name,
                                           absl::string_view field);

// The union of `names` (any range of strings, e.g. a proto's repeated field);
// empty selects kAllStates. Errors name the element: "states[2]: ...".
template <typename Range>
absl::StatusOr<uint32_t> StateMaskFromNames(const Range& names, absl::string_view field) {
  uint32_t mask = 0;
  size_t index = 0;
  for (const auto& name : names) {
    absl::StatusOr<uint32_t> bits =
        StateBitsFromName(name, absl::StrCat(field, "[", index++, "]"));
    if (!bits.ok()) return bits.status();
    mask |= *bits;
  }
  return index == 0 ? kAllStates : mask;
}

// One dump: one family and protocol.
struct Query {
  int family = 0;    // AF_INET, AF_INET6 or AF_UNIX
  int protocol = 0;  // IPPROTO_TCP, IPPROTO_UDP or IPPROTO_RAW; 0 for AF_UNIX
  uint32_t states = kAllStates;
  // TCP only: ask for INET_DIAG_INFO (struct tcp_info) and INET_DIAG_CONG.
  bool tcp_info = false;
};

// A netlink request for `query` (NLM_F_REQUEST | NLM_F_DUMP, SOCK_DIAG_BY_FAMILY):
// an inet_diag_req_v2 asking for SK_MEMINFO always and, with tcp_info, for
// INFO and CONG; or a unix_diag_req showing name, VFS, peer, queue lengths,
// memory and uid. Raw sockets are dumped with sdiag_protocol IPPROTO_RAW (which
// selects the raw_diag module) and sdiag_raw_protocol 0: a dump lists raw
// sockets of every IP protocol (only single-socket lookups read that field).
std::vector<uint8_t> BuildRequest(const Query& query, uint32_t sequence);

// An address as sock_diag reports it.
struct Endpoint {
  std::array<uint8_t, 16> address{};  // network order; AF_INET uses 4 bytes
  uint16_t port = 0;                  // host order
};

// The most of a struct tcp_info kept; longer kernel structs are cut here (this
// build's DecodeTcpInfo reads no further anyway).
inline constexpr size_t kTcpInfoCapacity = 256;
// The SK_MEMINFO_* values kept (SK_MEMINFO_VARS in Linux 6.1's headers).
inline constexpr size_t kMemInfoCapacity = 9;

// One socket. Fixed-size apart from the strings, which stay within the small
// string buffer for congestion names and short unix paths.
struct Socket {
  uint8_t family = 0;    // AF_INET, AF_INET6, AF_UNIX
  uint8_t protocol = 0;  // the query's: IPPROTO_TCP, IPPROTO_UDP, IPPROTO_RAW; 0: unix
  uint8_t type = 0;      // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW
  uint8_t state = 0;     // State value as the kernel gave it

  // Inet only. For raw sockets local.port is the IP protocol (as ss prints it).
  Endpoint local;
  Endpoint remote;
  uint32_t interface = 0;  // idiag_if: bound device / IPv6 scope; 0 = none
  uint8_t timer = 0;       // idiag_timer: 0 none, 1 retransmit, 2 keepalive, ...
  uint8_t retransmits = 0;
  uint32_t expires_ms = 0;  // until the timer fires
  // IPv6 only, from INET_DIAG_SKV6ONLY (the kernel sends it for listening and
  // unconnected IPv6 sockets, the ones a wildcard address can belong to):
  // IPV6_V6ONLY is set.
  bool has_v6only = false;
  bool v6only = false;
  // INET_DIAG_SHUTDOWN: bit 0 reads shut down, bit 1 writes.
  bool has_shutdown = false;
  uint8_t shutdown = 0;

  // Bytes queued. TCP listeners: accept backlog / its limit. Unix listeners:
  // pending connections / backlog limit.
  uint32_t receive_queue = 0;
  uint32_t send_queue = 0;
  uint64_t inode = 0;  // 0 for TIME-WAIT and request sockets
  uint32_t uid = 0;
  bool has_uid = false;  // inet always; unix with UNIX_DIAG_UID (Linux >= 5.3)
  uint64_t cookie = 0;   // the kernel's socket cookie: stable while it lives

  // SK_MEMINFO_* (INET_DIAG_SKMEMINFO / UNIX_DIAG_MEMINFO): meminfo_count of them.
  std::array<uint32_t, kMemInfoCapacity> meminfo{};
  uint8_t meminfo_count = 0;

  // TCP with Query::tcp_info: the kernel's struct tcp_info, tcp_info_size bytes
  // (0: none), for DecodeTcpInfo; and the congestion control name.
  std::array<uint8_t, kTcpInfoCapacity> tcp_info{};
  uint16_t tcp_info_size = 0;
  std::string congestion;

  // Unix only. `path` as ss prints it: a filesystem path, or an abstract name
  // with its NUL bytes as '@' ("@/tmp/.X11-unix/X0"); empty when unbound.
  std::string path;
  uint64_t peer_inode = 0;  // the connected peer; 0 none
  uint64_t vfs_inode = 0;   // the bound file's inode and device; 0 none
  uint32_t vfs_device = 0;
};

// The numeric address ("127.0.0.1", "::1", "fe80::1") of an inet endpoint of a
// socket of `family`; no scope or brackets.
std::string FormatAddress(int family, const Endpoint& endpoint);

// What one ParseReply call saw.
struct ReplySummary {
  bool done = false;         // NLMSG_DONE: the dump is complete
  size_t sockets = 0;        // appended to the output
  size_t malformed = 0;      // socket messages skipped and attributes dropped
  size_t ignored = 0;        // other messages: other types, ACKs, NOOPs
  bool interrupted = false;  // NLM_F_DUMP_INTR: the tables changed during the dump
};

// Decodes the netlink messages in `bytes` (one or more recv() results laid end
// to end) and appends their sockets to `out`. `protocol` is the query's: inet
// replies do not carry it. Trusts nothing: every length is checked against
// the bytes present; messages and attributes are read by copy, so `bytes`
// needs no alignment.
//   - A message with a short payload (shorter than inet_diag_msg or
//     unix_diag_msg) is skipped; an attribute with rta_len < 4 or beyond its
//     message ends that message's attributes; an attribute shorter than its
//     type needs is dropped. Each counts in `malformed`.
//   - nlmsg_len below the header or beyond the bytes: INTERNAL; the sockets
//     before it stay appended.
//   - NLMSG_ERROR with an error, or NLMSG_DONE carrying a negative error: that
//     errno as a status ("sock_diag: ENOENT ..."), the code as
//     absl::ErrnoToStatus gives it.
// Parsing stops at NLMSG_DONE.
absl::StatusOr<ReplySummary> ParseReply(absl::Span<const uint8_t> bytes, int protocol,
                                        std::vector<Socket>* out);

struct DumpLimits {
  // For the whole dump; each receive waits at most what remains (SO_RCVTIMEO).
  absl::Duration timeout = absl::Seconds(10);
  // Sockets one dump may add to its output.
  size_t max_sockets = size_t{1} << 20;
};

// Lists the sockets of `query` from the kernel of the caller's network
// namespace, appending them to `out` (filtered by query.states, also where the
// kernel does not filter: raw dumps ignore the mask). Blocking: for a worker
// thread; thread-safe (each call opens its own netlink socket). Needs no
// privileges: every user sees every socket of the namespace, with its uid and
// inode (owning processes come from /proc, not from here).
// Errors (sockets appended before the error stay in `out`):
//   UNIMPLEMENTED  this kernel cannot list that family/protocol: no
//                  NETLINK_SOCK_DIAG, or its module (raw_diag, unix_diag,
//                  udp_diag, ...) is absent (ENOENT). Callers report the
//                  protocol as not available and carry on with the others.
//   DEADLINE_EXCEEDED  no NLMSG_DONE within limits.timeout.
//   RESOURCE_EXHAUSTED more than limits.max_sockets sockets.
//   INTERNAL       a malformed or truncated reply.
//   others         the errno of a failed system call or of NLMSG_ERROR.
absl::StatusOr<ReplySummary> Dump(const Query& query, std::vector<Socket>* out,
                                  const DumpLimits& limits = {});

}  // namespace netprobe::sock_diag

#endif  // NETPROBE_AGENT_NET_SOCK_DIAG_H_
