#ifndef NETPROBE_AGENT_NET_UDP_SOCKET_H_
#define NETPROBE_AGENT_NET_UDP_SOCKET_H_

#include <errno.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "agent/net/datagram_messages.h"
#include "agent/net/socket_address.h"
#include "agent/net/socket_setup.h"
#include "agent/net/unique_fd.h"

namespace netprobe {

// What a probe does with a UDP socket: the seam unit tests script
// (SocketOpener hands out the real UdpSocket or a fake). Not thread-safe.
class DatagramSocket {
 public:
  virtual ~DatagramSocket() = default;

  // Readable (EPOLLIN) when a datagram or an error is queued.
  virtual int fd() const = 0;
  virtual int family() const = 0;
  // Only datagrams from `peer` arrive; ICMP errors about what we send to it
  // reach the error queue.
  virtual absl::Status Connect(const SocketAddress& peer) = 0;
  // The address the kernel bound (after Bind, Connect or a first send).
  virtual absl::StatusOr<SocketAddress> LocalAddress() const = 0;
  // Sends one datagram, to the connected peer when `to` is null. Returns 0 or
  // the errno. Each successful send takes the next transmit-timestamp id
  // (0, 1, ...), which ReadErrorQueue reports with the kernel's send time.
  virtual int Send(absl::Span<const uint8_t> data, const SocketAddress* to = nullptr) = 0;

  // Send() with this packet's TTL / hop limit (SendWithHopLimit); the same
  // transmit-timestamp numbering. EOPNOTSUPP where a socket kind cannot.
  virtual int SendWithTtl(absl::Span<const uint8_t> data, int ttl,
                          const SocketAddress* to = nullptr) {
    return EOPNOTSUPP;
  }

  struct Received {
    std::vector<uint8_t> data;  // at most the max_bytes asked for
    size_t bytes = 0;           // the datagram's full length (MSG_TRUNC)
    SocketAddress from;
    ReceiveMeta meta;
  };
  // Reads one datagram into `out`, keeping at most `max_bytes` of it. Returns
  // 0, EAGAIN when nothing is queued, or another errno (a pending ICMP error
  // on a connected socket: read the error queue, then receive again).
  virtual int Receive(Received* out, size_t max_bytes = 65536) = 0;

  // Transmit timestamps and ICMP errors; false when the queue is empty.
  virtual bool ReadErrorQueue(ErrorQueueEntry* out) = 0;

  // Has ICMP errors report where their RFC 4884 extensions start (MPLS
  // labels for traceroute): EnableRfc4884Errors. Adds to what ReadErrorQueue
  // reports, changes nothing else. OK where a socket kind has nothing to do.
  virtual absl::Status EnableTracerouteErrors() { return absl::OkStatus(); }

  // A connected socket's path MTU as the kernel knows it (IP_MTU /
  // IPV6_MTU: the route's, lowered by what Fragmentation Needed / Packet Too
  // Big taught it). UNIMPLEMENTED where a socket kind cannot tell.
  virtual absl::StatusOr<uint32_t> PathMtu() const {
    return absl::UnimplementedError("this socket knows no path MTU");
  }
};

// A non-blocking UDP socket for probes, with what they all measure by: kernel
// software timestamps on send (error queue, numbered sends) and receive, the
// TTL / hop limit and destination address of each datagram, the kernel's count
// of datagrams dropped on the socket (SO_RXQ_OVFL), and ICMP errors with the
// router that sent them (IP_RECVERR). Not thread-safe.
class UdpSocket final : public DatagramSocket {
 public:
  struct Extras {
    bool broadcast = false;      // SO_BROADCAST
    bool reuse_address = false;  // SO_REUSEADDR (several multicast listeners)
  };

  // Opens a socket of `family` (AF_INET / AF_INET6) with `setup` applied
  // (which binds to setup.source when given). Errors name the socket option.
  static absl::StatusOr<UdpSocket> Open(int family, const SocketSetup& setup,
                                        Extras extras);
  static absl::StatusOr<UdpSocket> Open(int family, const SocketSetup& setup) {
    return Open(family, setup, Extras{});
  }

  int fd() const override { return fd_.get(); }
  int family() const override { return family_; }

  absl::Status Bind(const SocketAddress& local);
  absl::Status Connect(const SocketAddress& peer) override;
  absl::StatusOr<SocketAddress> LocalAddress() const override;
  absl::StatusOr<uint32_t> PathMtu() const override;

  int Send(absl::Span<const uint8_t> data, const SocketAddress* to = nullptr) override;

  int SendWithTtl(absl::Span<const uint8_t> data, int ttl,
                  const SocketAddress* to = nullptr) override {
    return SendWithHopLimit(fd_.get(), family_, data.data(), data.size(), ttl, to);
  }

  int Receive(Received* out, size_t max_bytes = 65536) override;

  // The error queue's data starts after the quoted UDP header.
  bool ReadErrorQueue(ErrorQueueEntry* out) override {
    return netprobe::ReadErrorQueue(fd_.get(), family_, out,
                                    /*stripped_transport_header=*/8);
  }

  absl::Status EnableTracerouteErrors() override {
    return EnableRfc4884Errors(fd_.get(), family_);
  }

 private:
  UdpSocket(UniqueFd fd, int family) : fd_(std::move(fd)), family_(family) {}

  UniqueFd fd_;
  int family_;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_UDP_SOCKET_H_
