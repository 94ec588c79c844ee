#include "agent/net/socket_opener.h"

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

absl::StatusOr<std::unique_ptr<PcapHandle>> SocketOpener::OpenPcap(
    const PcapHandle::Options& options) {
  return PcapHandle::Open(options);
}

absl::StatusOr<sock_diag::ReplySummary> SocketOpener::DumpSockets(
    const sock_diag::Query& query, std::vector<sock_diag::Socket>* out) {
  return sock_diag::Dump(query, out);
}

SocketOwners SocketOpener::ReadOwners() { return ReadSocketOwners(); }

absl::StatusOr<std::unique_ptr<TcpSocket>> SocketOpener::OpenTcp(int family,
                                                                 const SocketSetup& setup,
                                                                 TcpSocket::Close close) {
  return TcpSocket::Open(family, setup, close);
}

SocketOpener* SocketOpener::Real() {
  static SocketOpener* const opener = new SocketOpener();
  return opener;
}

}  // namespace netprobe
