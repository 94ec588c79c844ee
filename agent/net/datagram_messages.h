#ifndef NETPROBE_AGENT_NET_DATAGRAM_MESSAGES_H_
#define NETPROBE_AGENT_NET_DATAGRAM_MESSAGES_H_

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "agent/net/icmp_error.h"
#include "agent/net/socket_address.h"

namespace netprobe {

// What the kernel says about a received datagram in control messages, for
// sockets that asked for them (SO_TIMESTAMPING, IP_RECVTTL /
// IPV6_RECVHOPLIMIT, IP_PKTINFO / IPV6_RECVPKTINFO, SO_RXQ_OVFL).
struct ReceiveMeta {
  absl::Time kernel_time = absl::InfinitePast();  // software RX timestamp
  int hop_limit = -1;                             // TTL / hop limit, -1 unknown
  // The datagram's destination address (a group, a broadcast, ours).
  std::optional<SocketAddress> destination;
  int interface_index = 0;  // where it arrived, 0 unknown
  // IPv4: the local address an answer should come from (ipi_spec_dst), an
  // address of the receiving interface even for broadcasts and groups.
  std::optional<SocketAddress> local_address;
  // SO_RXQ_OVFL: datagrams the kernel dropped on this socket so far.
  std::optional<uint32_t> kernel_drops;
};

// Reads the control messages of one recvmsg() into `out` (reset first).
void ParseReceiveControl(msghdr& msg, ReceiveMeta* out);

// One entry of a socket's error queue (MSG_ERRQUEUE): a transmit timestamp,
// or an ICMP error (IP_RECVERR / IPV6_RECVERR) with the offending router.
struct ErrorQueueEntry {
  enum class Kind { kTxTimestamp, kIcmpError, kOther } kind = Kind::kOther;
  uint32_t tx_id = 0;                      // kTxTimestamp: which send (OPT_ID)
  absl::Time time = absl::InfinitePast();  // kTxTimestamp: software TX time
  uint8_t icmp_type = 0, icmp_code = 0;    // kIcmpError: as received
  SocketAddress offender;                  // kIcmpError: who sent it
  int err = 0;                             // kIcmpError: the errno it maps to
  std::vector<uint8_t> request;            // kIcmpError: start of what we sent
  // kIcmpError: the TTL / hop limit the error arrived with, from the IP_TTL /
  // IPV6_HOPLIMIT control message (IP_RECVTTL / IPV6_RECVHOPLIMIT); -1 when
  // none came.
  int reply_ttl = -1;
  // kIcmpError with EMSGSIZE (fragmentation needed, packet too big, or the
  // local MTU): the MTU the kernel reports (ee_info); 0 otherwise.
  uint32_t next_hop_mtu = 0;
  // kIcmpError: true when a valid RFC 4884 extension structure followed the
  // quote within the bytes read; its RFC 4950 MPLS label stack.
  bool has_extensions = false;
  std::vector<icmp::MplsEntry> mpls;
};

// Reads one entry of `fd`'s error queue; false when it is empty.
// `stripped_transport_header`: the bytes of the quoted transport header the
// kernel leaves out of the entry's data (8 for UDP sockets, whose data starts
// at the quoted payload; 0 for ICMP and TCP sockets). Extensions are found at
// the kernel's RFC 4884 offset (IP_RECVERR_RFC4884 / IPV6_RECVERR_RFC4884,
// see EnableRfc4884Errors), else at original datagram byte 128 when a valid
// structure sits there, counting a quoted IP header without options.
bool ReadErrorQueue(int fd, int family, ErrorQueueEntry* out,
                    size_t stripped_transport_header = 0);

// Reads up to out.size() (at most kMaxErrorQueueBatch) entries of `fd`'s
// error queue with one recvmmsg(MSG_ERRQUEUE), each as ReadErrorQueue reads
// one; returns how many (0 when it is empty). A probe whose every send
// queues a transmit timestamp reads them this way: one system call for a
// burst rather than one per send.
inline constexpr size_t kMaxErrorQueueBatch = 32;
size_t ReadErrorQueueBatch(int fd, int family, absl::Span<ErrorQueueEntry> out,
                           size_t stripped_transport_header = 0);

// Has the kernel report where RFC 4884 extensions start in ICMP errors on
// `fd` (IP_RECVERR_RFC4884 / IPV6_RECVERR_RFC4884, Linux 5.9). Only adds to
// what the error queue reports. OK where the kernel lacks the option
// (ENOPROTOOPT): ReadErrorQueue then finds extensions at byte 128 only.
absl::Status EnableRfc4884Errors(int fd, int family);

// Sends `data` on `fd` (to `to`, or to the connected peer when null) with
// the TTL / hop limit `hop_limit` for this packet only (an IP_TTL /
// IPV6_HOPLIMIT control message: the socket's own setting stays). Returns 0
// or the errno. Under IP_RECVERR every ICMP error the socket queues also sets
// its pending error (sk_err), which the next send reports instead of sending:
// such a send, whose failure is an earlier packet's answer (still on the
// error queue), is made once more; a send that fails again failed itself.
int SendWithHopLimit(int fd, int family, const uint8_t* data, size_t size, int hop_limit,
                     const SocketAddress* to);

// SO_TIMESTAMPING flags for software TX (error queue, numbered sends) and RX
// timestamps on one clock (CLOCK_REALTIME).
int SoftwareTimestampingFlags();

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_DATAGRAM_MESSAGES_H_
