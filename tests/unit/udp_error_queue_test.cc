// The error queue of a real UDP socket on loopback: the ICMP port unreachable
// of a closed port arrives with the reply TTL and no extensions. No
// privileges; the port is one the kernel picked and then freed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>

#include "agent/net/udp_socket.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;

// A UDP port on `ip` that nothing is bound to any more.
uint16_t ClosedUdpPort(int family, const char* ip) {
  absl::StatusOr<UdpSocket> s = UdpSocket::Open(family, SocketSetup{});
  if (!s.ok() || !s->Bind(*SocketAddress::FromLiteral(ip)).ok()) return 0;
  absl::StatusOr<SocketAddress> local = s->LocalAddress();
  return local.ok() ? local->port() : 0;
}

// Sends one datagram to a closed port and reads the error it draws.
void ExpectPortUnreachable(int family, const char* ip) {
  const uint16_t port = ClosedUdpPort(family, ip);
  if (port == 0) GTEST_SKIP() << ip << " unavailable";
  absl::StatusOr<UdpSocket> socket = UdpSocket::Open(family, SocketSetup{});
  ASSERT_THAT(socket.status(), IsOk());
  ASSERT_THAT(socket->EnableTracerouteErrors(), IsOk());
  ASSERT_THAT(socket->Connect(*SocketAddress::FromLiteral(ip, port)), IsOk());
  const std::vector<uint8_t> payload(20, 0x5a);
  ASSERT_EQ(socket->Send(payload), 0);
  ErrorQueueEntry entry;
  bool found = false;
  for (int i = 0; i < 8 && !found; ++i) {
    pollfd p{socket->fd(), 0, 0};
    ASSERT_EQ(poll(&p, 1, 2000), 1) << "no error queued";
    while (!found && socket->ReadErrorQueue(&entry)) {
      found = entry.kind == ErrorQueueEntry::Kind::kIcmpError;
    }
  }
  ASSERT_TRUE(found);
  EXPECT_EQ(entry.err, ECONNREFUSED);
  EXPECT_EQ(entry.request, payload);  // the data starts at the UDP payload
  EXPECT_FALSE(entry.has_extensions);
  EXPECT_TRUE(entry.mpls.empty());
  EXPECT_EQ(entry.next_hop_mtu, 0u);
  EXPECT_GT(entry.reply_ttl, 0);  // the loopback answer's TTL / hop limit
}

TEST(UdpErrorQueue, V4PortUnreachableCarriesTheReplyTtl) {
  ExpectPortUnreachable(AF_INET, "127.0.0.1");
}

TEST(UdpErrorQueue, V6PortUnreachableCarriesTheReplyHopLimit) {
  ExpectPortUnreachable(AF_INET6, "::1");
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
