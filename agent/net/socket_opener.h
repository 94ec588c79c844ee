#ifndef NETPROBE_AGENT_NET_SOCKET_OPENER_H_
#define NETPROBE_AGENT_NET_SOCKET_OPENER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/net/icmp_socket.h"
#include "agent/net/multicast_receiver.h"
#include "agent/net/pcap_handle.h"
#include "agent/net/raw_tcp_socket.h"
#include "agent/net/sock_diag.h"
#include "agent/net/socket_owners.h"
#include "agent/net/socket_setup.h"
#include "agent/net/sockstat.h"
#include "agent/net/tcp_socket.h"
#include "agent/net/udp_socket.h"

namespace netprobe {

// The seam between probes and the kernel's sockets: every socket a probe
// sends on comes from here, so unit tests hand probes scripted sockets
// (replies late, duplicated or reordered; EPERM, ENOBUFS, ECONNREFUSED) and
// run in milliseconds without root, while lab tests use the real kernel.
// The event loop carries the opener in use (EventLoop::sockets()). Each
// method opens what its name says, as the socket's own Open() does.
// Thread-safe.
class SocketOpener {
 public:
  virtual ~SocketOpener() = default;

  virtual absl::StatusOr<std::unique_ptr<IcmpSocket>> OpenIcmp(int family,
                                                               uint16_t raw_id,
                                                               const SocketSetup& setup);
  virtual absl::StatusOr<std::unique_ptr<DatagramSocket>> OpenUdp(
      int family, const SocketSetup& setup);
  // A raw TCP socket sending SYNs to `target` (its port included).
  virtual absl::StatusOr<std::unique_ptr<SynSocket>> OpenRawTcp(
      const SocketAddress& target, const SocketSetup& setup);
  // A live capture (PcapHandle::Open).
  virtual absl::StatusOr<std::unique_ptr<PcapHandle>> OpenPcap(
      const PcapHandle::Options& options);
  // The host's socket table: one sock_diag dump (sock_diag::Dump) and the
  // sockets' owning processes (ReadSocketOwners). Blocking: worker threads
  // only, never the loop.
  virtual absl::StatusOr<sock_diag::ReplySummary> DumpSockets(
      const sock_diag::Query& query, std::vector<sock_diag::Socket>* out);
  virtual SocketOwners ReadOwners();
  // The kernel's socket counters (ReadSockstat), as ss -s reads them.
  virtual absl::StatusOr<Sockstat> ReadSocketCounters();
  virtual absl::StatusOr<std::unique_ptr<TcpSocket>> OpenTcp(int family,
                                                             const SocketSetup& setup,
                                                             TcpSocket::Close close);
  // An AF_INET UdpSocket with SO_BROADCAST (this socket only).
  virtual absl::StatusOr<std::unique_ptr<DatagramSocket>> OpenBroadcastUdp(
      const SocketSetup& setup);
  // JoinedUdpSocket::Open: a socket bound and joined to `group`.
  virtual absl::StatusOr<std::unique_ptr<MulticastReceiver>> OpenMulticastReceiver(
      const SocketAddress& group, unsigned interface_index,
      const std::optional<SocketAddress>& source, const SocketSetup& setup);
  // A UdpSocket of `family` that sends to groups as SetMulticastSendOptions
  // says (out of `interface_index`, with `ttl`, looped back or not).
  virtual absl::StatusOr<std::unique_ptr<DatagramSocket>> OpenMulticastSender(
      int family, const SocketSetup& setup, unsigned interface_index, int ttl,
      bool loopback);

  // The kernel's sockets. Never destroyed.
  static SocketOpener* Real();
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_SOCKET_OPENER_H_
