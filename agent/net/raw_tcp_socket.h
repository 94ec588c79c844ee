#ifndef NETPROBE_AGENT_NET_RAW_TCP_SOCKET_H_
#define NETPROBE_AGENT_NET_RAW_TCP_SOCKET_H_

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

// TCP segments as a SYN prober builds and reads them (pure functions).
namespace tcp_segment {

inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;
// The SYN: 20 bytes of header and one option, MSS (4 bytes).
inline constexpr size_t kSynLength = 24;
// The MSS the SYN announces: constant, whatever the route (a load balancer
// may hash the options too).
inline constexpr uint16_t kSynMss = 1460;
// The SYN's constant window.
inline constexpr uint16_t kSynWindow = 64240;

// A SYN from `source` to `destination` (their ports included) with sequence
// number `sequence`; everything else constant (window, MSS, no timestamps).
// With `checksum`, the TCP checksum over the pseudo header of the addresses'
// family; without, 0 (IPv6 raw sockets: the kernel fills it, IPV6_CHECKSUM).
std::vector<uint8_t> BuildSyn(const SocketAddress& source,
                              const SocketAddress& destination, uint32_t sequence,
                              bool checksum);

// The Internet checksum of `segment` (TCP header and data) with the pseudo
// header of `source` and `destination` (IPv4 or IPv6, one family).
uint16_t Checksum(const SocketAddress& source, const SocketAddress& destination,
                  absl::Span<const uint8_t> segment);

// The fields of a received segment's TCP header a prober matches on.
struct Header {
  uint16_t source_port = 0, destination_port = 0;
  uint32_t sequence = 0, ack = 0;
  uint8_t flags = 0;
  uint8_t ttl = 0;  // IPv4 with the IP header: its TTL; else 0
  bool syn_ack() const { return (flags & (kSyn | kAck)) == (kSyn | kAck); }
  bool reset() const { return (flags & kRst) != 0; }
};

// The TCP header of a segment as a raw socket receives it: IPv4 raw sockets
// with the IP header first (`ip_header`; checked: version 4, IHL >= 5,
// protocol TCP, lengths within `packet`), IPv6 from the TCP header. nullopt
// when too short or malformed.
std::optional<Header> Parse(absl::Span<const uint8_t> packet, bool ip_header);

// What a SYN drew from its destination: SYN-ACK (the port is open) or RST
// (closed), for the SYN with `sequence` from `local_port`.
struct SynAnswer {
  enum class Kind : uint8_t { kSynAck, kReset } kind = Kind::kSynAck;
  uint16_t local_port = 0;
  uint32_t sequence = 0;
};
// `header` as the answer to a SYN sent to `remote_port`: from that port, with
// ACK set and SYN-ACK or RST, acknowledging the SYN's sequence + 1 (a SYN
// counts one). nullopt for anything else (a SYN without ACK, data, FIN,
// another port).
std::optional<SynAnswer> MatchSynAnswer(const Header& header, uint16_t remote_port);

// The start of a TCP header as an ICMP error quotes it (at least 8 bytes:
// ports and sequence number; the rest of Header is 0). nullopt when shorter.
std::optional<Header> ParseQuoted(absl::Span<const uint8_t> quoted);

}  // namespace tcp_segment

// What a TCP SYN prober does with its socket: the seam unit tests script
// (SocketOpener hands out the kernel's RawTcpSocket or a fake). Not
// thread-safe.
class SynSocket {
 public:
  virtual ~SynSocket() = default;

  // Readable (EPOLLIN) when a segment is queued, EPOLLERR for the error queue.
  virtual int fd() const = 0;
  virtual int family() const = 0;

  // A source port of our own until this socket is destroyed.
  virtual absl::StatusOr<uint16_t> ReservePort() = 0;

  // Sends a SYN from `source_port` to the target with `sequence` and the
  // TTL / hop limit `ttl` (this packet only). 0 or the errno. Each successful
  // send takes the next transmit-timestamp id (0, 1, ...).
  virtual int SendSyn(uint16_t source_port, uint32_t sequence, int ttl) = 0;

  struct Received {
    tcp_segment::Header header;
    SocketAddress from;
    absl::Time kernel_time = absl::InfinitePast();
    int ttl = 0;  // the answer's TTL / hop limit; 0 unknown
  };
  // Reads one segment: 0 (it parsed), EAGAIN when nothing is queued, EBADMSG
  // for a malformed one (read and dropped), or another errno (a pending
  // ICMP error: read the error queue, then receive again).
  virtual int Receive(Received* out) = 0;

  // Transmit timestamps and ICMP errors (the quoted TCP header is the entry's
  // `request`); false when the queue is empty.
  virtual bool ReadErrorQueue(ErrorQueueEntry* out) = 0;
};

// The kernel's SynSocket: a raw TCP socket that sends SYNs toward one target
// and reads the target's answers (SYN-ACK, RST) and the ICMP errors routers
// send back about the SYNs (traceroute -T):
//  - bound to the source address (options' source, else the one the route to
//    the target takes), connected to the target: only that host's segments
//    arrive, and the kernel queues the ICMP errors quoting a segment to it on
//    the error queue (IP_RECVERR / IPV6_RECVERR: linux raw_err / rawv6_err);
//  - a filter passes only SYN or RST segments from the target's port;
//  - source ports come from ReservePort (a real TCP socket bound to port 0
//    and kept, not listening: the kernel gives the port to nobody else and
//    answers a SYN-ACK to it with RST, as for traceroute -T);
//  - kernel software TX timestamps (error queue, numbered sends: OPT_ID) and
//    RX timestamps, on CLOCK_REALTIME, like UdpSocket.
// Needs CAP_NET_RAW. Not thread-safe.
class RawTcpSocket final : public SynSocket {
 public:
  // FAILED_PRECONDITION without CAP_NET_RAW; else the failing call's error.
  static absl::StatusOr<std::unique_ptr<RawTcpSocket>> Open(const SocketAddress& target,
                                                            const SocketSetup& setup);
  RawTcpSocket(const RawTcpSocket&) = delete;
  RawTcpSocket& operator=(const RawTcpSocket&) = delete;

  int fd() const override { return fd_.get(); }
  int family() const override { return target_.family(); }
  // The address SYNs come from (without port), and the target (with port).
  const SocketAddress& source() const { return source_; }
  const SocketAddress& target() const { return target_; }

  absl::StatusOr<uint16_t> ReservePort() override;
  int SendSyn(uint16_t source_port, uint32_t sequence, int ttl) override;
  int Receive(Received* out) override;
  bool ReadErrorQueue(ErrorQueueEntry* out) override {
    return netprobe::ReadErrorQueue(fd_.get(), family(), out);
  }

 private:
  RawTcpSocket(UniqueFd fd, SocketAddress source, SocketAddress target)
      : fd_(std::move(fd)), source_(std::move(source)), target_(std::move(target)) {}

  UniqueFd fd_;
  SocketAddress source_;
  SocketAddress target_;
  std::vector<UniqueFd> reserved_;  // the ports ReservePort gave
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_RAW_TCP_SOCKET_H_
