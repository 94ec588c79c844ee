// ApplyFlowLabel on real UDP sockets over IPv6 loopback: the receiver reads
// each datagram's flow label from its IPV6_FLOWINFO control message. No
// privileges; the ports are the kernel's.
#include "agent/net/flow_label.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "agent/net/udp_socket.h"
#include "agent/net/unique_fd.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// <linux/in6.h>'s IPV6_FLOWINFO (the receive option), absent from glibc.
constexpr int kIpv6FlowInfo = 11;

// A UDP socket bound to [::1]:0 that reports each datagram's flow info.
struct Receiver {
  UniqueFd fd;
  SocketAddress address;
};

std::optional<Receiver> OpenReceiver() {
  Receiver r;
  r.fd.reset(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!r.fd) return std::nullopt;
  const int on = 1;
  if (setsockopt(r.fd.get(), IPPROTO_IPV6, kIpv6FlowInfo, &on, sizeof(on)) != 0) {
    return std::nullopt;
  }
  SocketAddress any = *SocketAddress::FromLiteral("::1");
  if (bind(r.fd.get(), any.get(), any.length()) != 0) return std::nullopt;
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  getsockname(r.fd.get(), reinterpret_cast<sockaddr*>(&local), &len);
  r.address = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&local), len);
  return r;
}

// The flow label of the next datagram on `fd` (waits up to 2 s); nullopt
// when none came.
std::optional<uint32_t> ReceiveLabel(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 2000) != 1) return std::nullopt;
  char data[64];
  iovec iov{data, sizeof(data)};
  alignas(cmsghdr) char control[128];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  if (recvmsg(fd, &msg, 0) < 0) return std::nullopt;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == kIpv6FlowInfo) {
      uint32_t flowinfo;
      std::memcpy(&flowinfo, CMSG_DATA(c), sizeof(flowinfo));
      return ntohl(flowinfo) & kMaxFlowLabel;
    }
  }
  return 0;  // the kernel sends no IPV6_FLOWINFO for flow info 0
}

// Opens a sender with `label` applied, connects to `to` carrying it, sends
// one datagram.
absl::Status SendWithLabel(const SocketAddress& to, uint32_t label) {
  SocketSetup setup;
  setup.flow_label = SocketSetup::FlowLabel{label, to};
  absl::StatusOr<UdpSocket> sender = UdpSocket::Open(AF_INET6, setup);
  if (!sender.ok()) return sender.status();
  SocketAddress peer = to;
  peer.set_flow_info(label);
  if (absl::Status s = sender->Connect(peer); !s.ok()) return s;
  const std::vector<uint8_t> payload(8, 0x5a);
  if (int err = sender->Send(payload); err != 0) {
    return absl::InternalError(absl::StrCat("send: ", std::strerror(err)));
  }
  return absl::OkStatus();
}

// net.ipv6.flowlabel_state_ranges of this test's network namespace.
bool StateRangesSplit() {
  std::ifstream in("/proc/sys/net/ipv6/flowlabel_state_ranges");
  int value = 0;
  return (in >> value) && value != 0;
}

TEST(FlowLabelTest, LabelTravelsOnEveryDatagram) {
  std::optional<Receiver> receiver = OpenReceiver();
  if (!receiver) GTEST_SKIP() << "no IPv6 loopback";
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(SendWithLabel(receiver->address, 12345), IsOk());
    EXPECT_EQ(ReceiveLabel(receiver->fd.get()), std::optional<uint32_t>(12345));
  }
}

TEST(FlowLabelTest, SocketsShareOneLabel) {
  std::optional<Receiver> receiver = OpenReceiver();
  if (!receiver) GTEST_SKIP() << "no IPv6 loopback";
  // Two sockets leasing the same label at once (the flows of one trace).
  SocketSetup setup;
  setup.flow_label = SocketSetup::FlowLabel{0x1abc, receiver->address};
  absl::StatusOr<UdpSocket> a = UdpSocket::Open(AF_INET6, setup);
  absl::StatusOr<UdpSocket> b = UdpSocket::Open(AF_INET6, setup);
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT(b.status(), IsOk());
  SocketAddress peer = receiver->address;
  peer.set_flow_info(0x1abc);
  ASSERT_THAT(a->Connect(peer), IsOk());
  ASSERT_THAT(b->Connect(peer), IsOk());
  const std::vector<uint8_t> payload(8, 1);
  ASSERT_EQ(a->Send(payload), 0);
  EXPECT_EQ(ReceiveLabel(receiver->fd.get()), std::optional<uint32_t>(0x1abc));
  ASSERT_EQ(b->Send(payload), 0);
  EXPECT_EQ(ReceiveLabel(receiver->fd.get()), std::optional<uint32_t>(0x1abc));
}

TEST(FlowLabelTest, ZeroTurnsAutomaticLabelsOff) {
  std::optional<Receiver> receiver = OpenReceiver();
  if (!receiver) GTEST_SKIP() << "no IPv6 loopback";
  // With net.ipv6.auto_flowlabels (default 1) the kernel would send a hash.
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(SendWithLabel(receiver->address, 0), IsOk());
    EXPECT_EQ(ReceiveLabel(receiver->fd.get()), std::optional<uint32_t>(0));
  }
}

TEST(FlowLabelTest, StatelessRangeFollowsTheSysctl) {
  std::optional<Receiver> receiver = OpenReceiver();
  if (!receiver) GTEST_SKIP() << "no IPv6 loopback";
  const absl::Status sent = SendWithLabel(receiver->address, 0x80000);
  if (StateRangesSplit()) {
    EXPECT_THAT(sent, StatusIs(absl::StatusCode::kInvalidArgument,
                               AllOf(HasSubstr("flow_label: 524288"), HasSubstr("524287"),
                                     HasSubstr("net.ipv6.flowlabel_state_ranges"))));
  } else {
    ASSERT_THAT(sent, IsOk());
    EXPECT_EQ(ReceiveLabel(receiver->fd.get()), std::optional<uint32_t>(0x80000));
  }
}

TEST(FlowLabelTest, SetFlowInfoOnlyOnIpv6) {
  SocketAddress v6 = *SocketAddress::FromLiteral("2001:db8::1", 80);
  v6.set_flow_info(0xabcde);
  EXPECT_EQ(v6.flow_info(), 0xabcdeu);
  EXPECT_EQ(v6.port(), 80);
  SocketAddress v4 = *SocketAddress::FromLiteral("192.0.2.1", 80);
  v4.set_flow_info(5);
  EXPECT_EQ(v4.flow_info(), 0u);
  EXPECT_EQ(v4.ToString(), "192.0.2.1:80");
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
