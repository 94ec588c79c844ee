#ifndef NETPROBE_AGENT_NET_MULTICAST_RECEIVER_H_
#define NETPROBE_AGENT_NET_MULTICAST_RECEIVER_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "agent/net/multicast_membership.h"
#include "agent/net/socket_address.h"
#include "agent/net/socket_setup.h"
#include "agent/net/udp_socket.h"

namespace netprobe {

// A UDP socket joined to one multicast group: what the Multicast probe reads
// (SocketOpener hands out the real JoinedUdpSocket or a fake). Destroying it
// leaves the group, then closes the socket. Not thread-safe.
class MulticastReceiver : public DatagramSocket {
 public:
  // The kernel's count of datagrams dropped on the socket (SO_MEMINFO):
  // unlike SO_RXQ_OVFL, which rides on received datagrams, it includes drops
  // after the last datagram read. nullopt when the kernel does not say.
  virtual std::optional<uint32_t> KernelDrops() const = 0;
};

class JoinedUdpSocket final : public MulticastReceiver {
 public:
  // A UdpSocket of the group's family with `setup` applied and SO_REUSEADDR
  // (several receivers of one group:port each get a copy), receiving only the
  // groups joined on it (IP_MULTICAST_ALL off), bound to `group` (unicast to
  // the port stays out), then joined to it on `interface_index`
  // (source-specific when `source` is set; see MulticastMembership::Join).
  // Errors name the option or call that failed.
  static absl::StatusOr<std::unique_ptr<JoinedUdpSocket>> Open(
      const SocketAddress& group, unsigned interface_index,
      const std::optional<SocketAddress>& source, const SocketSetup& setup);

  int fd() const override { return socket_.fd(); }
  int family() const override { return socket_.family(); }
  absl::Status Connect(const SocketAddress& peer) override {
    return socket_.Connect(peer);
  }
  absl::StatusOr<SocketAddress> LocalAddress() const override {
    return socket_.LocalAddress();
  }
  int Send(absl::Span<const uint8_t> data, const SocketAddress* to = nullptr) override {
    return socket_.Send(data, to);
  }
  int Receive(Received* out, size_t max_bytes = 65536) override {
    return socket_.Receive(out, max_bytes);
  }
  bool ReadErrorQueue(ErrorQueueEntry* out) override {
    return socket_.ReadErrorQueue(out);
  }
  std::optional<uint32_t> KernelDrops() const override;

 private:
  JoinedUdpSocket(UdpSocket socket, MulticastMembership membership)
      : socket_(std::move(socket)), membership_(std::move(membership)) {}

  UdpSocket socket_;
  MulticastMembership membership_;  // declared last: leaves before the close
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_MULTICAST_RECEIVER_H_
