#include "agent/net/socket_opener.h"

#include <sys/socket.h>

#include "agent/net/multicast_send_options.h"
#include "common/posix_error.h"

namespace netprobe {

absl::StatusOr<std::unique_ptr<IcmpSocket>> SocketOpener::OpenIcmp(
    int family, uint16_t raw_id, const SocketSetup& setup) {
  return IcmpSocket::Open(family, raw_id, setup);
}

absl::StatusOr<std::unique_ptr<DatagramSocket>> SocketOpener::OpenUdp(
    int family, const SocketSetup& setup) {
  absl::StatusOr<UdpSocket> socket = UdpSocket::Open(family, setup);
  if (!socket.ok()) return socket.status();
  return std::make_unique<UdpSocket>(*std::move(socket));
}

absl::StatusOr<std::unique_ptr<SynSocket>> SocketOpener::OpenRawTcp(
    const SocketAddress& target, const SocketSetup& setup) {
  NETPROBE_ASSIGN_OR_RETURN(std::unique_ptr<RawTcpSocket> socket,
                            RawTcpSocket::Open(target, setup));
  return std::unique_ptr<SynSocket>(std::move(socket));
}

absl::StatusOr<std::unique_ptr<PcapHandle>> SocketOpener::OpenPcap(
    const PcapHandle::Options& options) {
  return PcapHandle::Open(options);
}

absl::StatusOr<sock_diag::ReplySummary> SocketOpener::DumpSockets(
    const sock_diag::Query& query, std::vector<sock_diag::Socket>* out) {
  return sock_diag::Dump(query, out);
}

SocketOwners SocketOpener::ReadOwners() { return ReadSocketOwners(); }

absl::StatusOr<Sockstat> SocketOpener::ReadSocketCounters() { return ReadSockstat(); }

absl::StatusOr<std::unique_ptr<TcpSocket>> SocketOpener::OpenTcp(int family,
                                                                 const SocketSetup& setup,
                                                                 TcpSocket::Close close) {
  return TcpSocket::Open(family, setup, close);
}

absl::StatusOr<std::unique_ptr<DatagramSocket>> SocketOpener::OpenBroadcastUdp(
    const SocketSetup& setup) {
  absl::StatusOr<UdpSocket> socket = UdpSocket::Open(AF_INET, setup, {.broadcast = true});
  if (!socket.ok()) return socket.status();
  return std::make_unique<UdpSocket>(*std::move(socket));
}

absl::StatusOr<std::unique_ptr<MulticastReceiver>> SocketOpener::OpenMulticastReceiver(
    const SocketAddress& group, unsigned interface_index,
    const std::optional<SocketAddress>& source, const SocketSetup& setup) {
  NETPROBE_ASSIGN_OR_RETURN(std::unique_ptr<JoinedUdpSocket> socket,
                            JoinedUdpSocket::Open(group, interface_index, source, setup));
  return std::unique_ptr<MulticastReceiver>(std::move(socket));
}

absl::StatusOr<std::unique_ptr<DatagramSocket>> SocketOpener::OpenMulticastSender(
    int family, const SocketSetup& setup, unsigned interface_index, int ttl,
    bool loopback) {
  NETPROBE_ASSIGN_OR_RETURN(UdpSocket socket, UdpSocket::Open(family, setup));
  NETPROBE_RETURN_IF_ERROR(
      SetMulticastSendOptions(socket.fd(), family, interface_index, ttl, loopback));
  return std::make_unique<UdpSocket>(std::move(socket));
}

SocketOpener* SocketOpener::Real() {
  static SocketOpener* const opener = new SocketOpener();
  return opener;
}

}  // namespace netprobe
