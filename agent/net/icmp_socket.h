#ifndef NETPROBE_AGENT_NET_ICMP_SOCKET_H_
#define NETPROBE_AGENT_NET_ICMP_SOCKET_H_

#include <errno.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "agent/net/datagram_messages.h"
#include "agent/net/socket_address.h"
#include "agent/net/socket_setup.h"
#include "agent/net/unique_fd.h"

namespace netprobe {

// One ICMP or ICMPv6 socket for a whole ping request. Raw when the agent has
// CAP_NET_RAW: ICMP_FILTER/ICMP6_FILTER plus a BPF filter on our echo
// identifier, so other pingers' replies never reach us. Otherwise an ICMP
// datagram ("ping") socket where net.ipv4.ping_group_range allows, whose
// identifier the kernel assigns and whose errors arrive on the error queue.
// Kernel software timestamps (SO_TIMESTAMPING) on send and receive, one clock
// (CLOCK_REALTIME). Not thread-safe.
class IcmpSocket {
 public:
  enum class Kind { kRaw, kDatagram };

  // FAILED_PRECONDITION (naming CAP_NET_RAW and ping_group_range) when
  // neither kind may be opened; other errors name the socket option.
  static absl::StatusOr<std::unique_ptr<IcmpSocket>> Open(int family, uint16_t raw_id,
                                                          const SocketSetup& setup);

  virtual ~IcmpSocket() = default;

  // Readable (EPOLLIN) when a packet is queued; EPOLLERR when the error
  // queue holds entries.
  virtual int fd() const = 0;
  virtual int family() const = 0;
  virtual Kind kind() const = 0;
  // The echo identifier on the wire (raw: ours; datagram: the kernel's).
  virtual uint16_t id() const = 0;

  // Sends one ICMP message. Returns 0 or the errno (ENETUNREACH, ...).
  // Each successful send takes the next transmit-timestamp id (0, 1, ...).
  virtual int Send(absl::Span<const uint8_t> message, const SocketAddress& to) = 0;

  // Send() with this packet's TTL / hop limit (SendWithHopLimit).
  // EOPNOTSUPP where a socket kind cannot.
  virtual int SendWithTtl(absl::Span<const uint8_t> message, const SocketAddress& to,
                          int ttl) {
    return EOPNOTSUPP;
  }

  struct Received {
    // Raw v4: with the IP header; else ICMP only. Points into the socket
    // kind's receive buffer (the kernel's: one per thread): valid until the
    // next Receive() of any IcmpSocket on this thread.
    absl::Span<const uint8_t> data;
    SocketAddress from;
    absl::Time kernel_time;  // software RX timestamp (InfinitePast if none)
    int hop_limit = -1;      // from a control message where the kernel gives it
    // SO_RXQ_OVFL: datagrams the kernel dropped on this socket so far (its
    // receive buffer was full); nullopt when the kernel did not say.
    std::optional<uint32_t> kernel_drops;
  };
  // Reads one datagram (the kernel's socket: into the thread's one receive
  // buffer, allocated once and never cleared: no 64 KiB zero-fill per packet
  // and no buffer per socket); false when nothing is left (EAGAIN) or on error.
  virtual bool Receive(Received* out) = 0;
  // The largest datagram Receive() takes whole (an IPv4 header and 64 KiB).
  static constexpr size_t kReceiveBufferSize = 65536 + 60;
  // Reads up to out.size() (at most kMaxReceiveBatch) datagrams, each as
  // Receive() reads one, with one system call (recvmmsg); returns how many,
  // 0 when nothing is left or on error. Their data point into the thread's
  // batch buffer (kMaxReceiveBatch slots of kReceiveBufferSize, allocated
  // once, never cleared: a slot's pages past a small reply are never even
  // touched), valid until the next ReceiveBatch() on this thread. Fewer than
  // asked means the socket had no more.
  virtual size_t ReceiveBatch(absl::Span<Received> out) = 0;
  static constexpr size_t kMaxReceiveBatch = 32;

  // Transmit timestamps; on datagram sockets also ICMP errors, with the
  // start of our request as sent (ICMP header and payload).
  using ErrorEntry = ErrorQueueEntry;
  // Reads one entry of the error queue; false when empty.
  virtual bool ReadErrorQueue(ErrorEntry* out) = 0;
  // Reads up to out.size() entries with one system call (recvmmsg; see
  // ReadErrorQueueBatch); returns how many, 0 when empty; fewer than asked
  // means the queue had no more. This default reads them one at a time.
  virtual size_t ReadErrorQueueBatch(absl::Span<ErrorEntry> out) {
    size_t n = 0;
    while (n < out.size() && ReadErrorQueue(&out[n])) ++n;
    return n;
  }
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_ICMP_SOCKET_H_
