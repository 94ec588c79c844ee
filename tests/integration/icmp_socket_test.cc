// IcmpSocket::Receive against the real kernel on loopback (root: a raw ICMP
// socket), issue 16: one receive buffer, reused, and the datagram's own size.
#include "agent/net/icmp_socket.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include "agent/net/icmp.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {

using ::netprobe::testing::IsOk;

// The next datagram on `socket`, waiting up to 10 s for it to arrive.
bool ReceiveWithin10s(IcmpSocket& socket, IcmpSocket::Received* out) {
  pollfd pfd{socket.fd(), POLLIN, 0};
  if (poll(&pfd, 1, 10000) != 1) return false;
  return socket.Receive(out);
}

TEST(IcmpSocketTest, RepliesComeInOneReusedBufferWithTheirOwnSize) {
  auto opened = IcmpSocket::Open(AF_INET, 0x4e50, SocketSetup{});
  ASSERT_THAT(opened, IsOk());
  IcmpSocket* socket = opened->get();
  const SocketAddress loopback = *SocketAddress::FromLiteral("127.0.0.1");
  const uint16_t id = socket->id();
  // A large echo then a small one: each reply has its own length.
  ASSERT_EQ(socket->Send(icmp::BuildEchoRequest(false, id, 1, 0, 1000), loopback), 0);
  IcmpSocket::Received first;
  ASSERT_TRUE(ReceiveWithin10s(*socket, &first));
  const size_t first_size = first.data.size();
  const uint8_t* first_data = first.data.data();
  ASSERT_THAT(icmp::ParseIcmpV4(first.data), IsOk());
  ASSERT_EQ(socket->Send(icmp::BuildEchoRequest(false, id, 2, 0, 64), loopback), 0);
  IcmpSocket::Received second;
  ASSERT_TRUE(ReceiveWithin10s(*socket, &second));
  EXPECT_THAT(icmp::ParseIcmpV4(second.data), IsOk());
  // Each reply as long as its request, however long the one before was.
  EXPECT_EQ(first_size - second.data.size(), 1000u - 64u);
  // The same buffer, not a new (zero-filled) one per packet.
  EXPECT_EQ(second.data.data(), first_data);
}

}  // namespace
}  // namespace netprobe
