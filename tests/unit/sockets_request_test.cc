#include "agent/probes/sockets_request.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/tcp.h>

#include <cstring>

#include "agent/probes/sockets_listing.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

TEST(ValidateSockets, DefaultsAreTcpAndUdpOverBothFamiliesInEveryState) {
  auto plan = ValidateSockets(v1::SocketsRequest());
  ASSERT_THAT(plan, IsOk());
  ASSERT_EQ(plan->queries.size(), 4u);
  EXPECT_EQ(plan->queries[0].protocol, IPPROTO_TCP);
  EXPECT_EQ(plan->queries[0].family, AF_INET);
  EXPECT_EQ(plan->queries[1].family, AF_INET6);
  EXPECT_EQ(plan->queries[2].protocol, IPPROTO_UDP);
  for (const auto& q : plan->queries) {
    EXPECT_EQ(q.states, sock_diag::kAllStates);
    EXPECT_FALSE(q.tcp_info);
  }
  EXPECT_EQ(plan->watch_interval, absl::ZeroDuration());
}

TEST(ValidateSockets, ListeningOnlyMeansListenAndUnconnected) {
  v1::SocketsRequest request;
  request.set_listening_only(true);
  request.add_protocols(v1::SOCKET_PROTOCOL_UNIX);
  request.set_tcp_info(true);
  auto plan = ValidateSockets(request);
  ASSERT_THAT(plan, IsOk());
  ASSERT_EQ(plan->queries.size(), 1u);
  EXPECT_EQ(plan->queries[0].family, AF_UNIX);
  EXPECT_FALSE(plan->queries[0].tcp_info);
  EXPECT_EQ(plan->queries[0].states, sock_diag::StateBit(sock_diag::kListen) |
                                         sock_diag::StateBit(sock_diag::kClose));
  request.add_states("established");
  EXPECT_THAT(ValidateSockets(request), StatusIs(kInvalid, HasSubstr("listening_only")));
}

TEST(ValidateSockets, BadFieldsAreNamed) {
  v1::SocketsRequest states;
  states.add_states("established");
  states.add_states("bogus");
  EXPECT_THAT(ValidateSockets(states), StatusIs(kInvalid, HasSubstr("states[1]: ")));
  v1::SocketsRequest cidr;
  cidr.set_local("198.18.0.0/99");
  EXPECT_THAT(ValidateSockets(cidr), StatusIs(kInvalid, HasSubstr("local: ")));
  v1::SocketsRequest port;
  port.set_port(65536);
  EXPECT_THAT(ValidateSockets(port), StatusIs(kInvalid, HasSubstr("port: 65536")));
  v1::SocketsRequest watch;
  watch.mutable_watch_interval()->set_nanos(50000000);
  EXPECT_THAT(ValidateSockets(watch),
              StatusIs(kInvalid, HasSubstr("watch_interval: 50ms is out of range")));
  v1::SocketsRequest unix_port;
  unix_port.add_protocols(v1::SOCKET_PROTOCOL_UNIX);
  unix_port.set_port(22);
  EXPECT_THAT(ValidateSockets(unix_port),
              StatusIs(kInvalid, HasSubstr("protocols: UNIX")));
  v1::SocketsRequest protocol;
  protocol.add_protocols(static_cast<v1::SocketProtocol>(9));
  EXPECT_THAT(ValidateSockets(protocol),
              StatusIs(kInvalid, HasSubstr("protocols[0]: 9")));
}

sock_diag::Socket Tcp(const char* local, uint16_t lport, const char* remote,
                      uint16_t rport, uint64_t cookie) {
  sock_diag::Socket s;
  s.family = AF_INET;
  s.protocol = IPPROTO_TCP;
  s.type = SOCK_STREAM;
  s.state = sock_diag::kEstablished;
  inet_pton(AF_INET, local, s.local.address.data());
  s.local.port = lport;
  inet_pton(AF_INET, remote, s.remote.address.data());
  s.remote.port = rport;
  s.cookie = cookie;
  s.inode = cookie + 1000;
  return s;
}

TEST(SocketsPlan, MatchesPortAndPrefixesOnEitherSide) {
  v1::SocketsRequest request;
  request.set_port(22);
  request.set_remote("198.18.1.0/24");
  auto plan = ValidateSockets(request);
  ASSERT_THAT(plan, IsOk());
  EXPECT_TRUE(plan->Matches(Tcp("198.18.0.10", 22, "198.18.1.5", 40000, 1)));
  EXPECT_TRUE(plan->Matches(Tcp("198.18.0.10", 40000, "198.18.1.5", 22, 1)));
  EXPECT_FALSE(plan->Matches(Tcp("198.18.0.10", 23, "198.18.1.5", 40000, 1)));
  EXPECT_FALSE(plan->Matches(Tcp("198.18.0.10", 22, "198.18.2.5", 40000, 1)));
}

TEST(SocketsPlan, LocalAndRemotePortsMatchTheirOwnSide) {
  v1::SocketsRequest request;
  request.set_local_port(22);
  auto sport = ValidateSockets(request);
  ASSERT_THAT(sport, IsOk());
  EXPECT_TRUE(sport->Matches(Tcp("198.18.0.10", 22, "198.18.1.5", 40000, 1)));
  EXPECT_FALSE(sport->Matches(Tcp("198.18.0.10", 40000, "198.18.1.5", 22, 1)));
  request.clear_local_port();
  request.set_remote_port(443);
  auto dport = ValidateSockets(request);
  ASSERT_THAT(dport, IsOk());
  EXPECT_TRUE(dport->Matches(Tcp("198.18.0.10", 40000, "198.18.1.5", 443, 1)));
  EXPECT_FALSE(dport->Matches(Tcp("198.18.0.10", 443, "198.18.1.5", 40000, 1)));
  // A unix socket has no port: it never matches a port filter.
  sock_diag::Socket unix_socket;
  unix_socket.family = AF_UNIX;
  EXPECT_FALSE(dport->Matches(unix_socket));

  v1::SocketsRequest bad;
  bad.set_local_port(65536);
  EXPECT_THAT(
      ValidateSockets(bad),
      StatusIs(kInvalid, HasSubstr("local_port: 65536 is out of range 0..65535")));
  bad.clear_local_port();
  bad.set_remote_port(70000);
  EXPECT_THAT(
      ValidateSockets(bad),
      StatusIs(kInvalid, HasSubstr("remote_port: 70000 is out of range 0..65535")));
  v1::SocketsRequest unix_port;
  unix_port.add_protocols(v1::SOCKET_PROTOCOL_UNIX);
  unix_port.set_remote_port(22);
  EXPECT_THAT(ValidateSockets(unix_port),
              StatusIs(kInvalid, HasSubstr("protocols: UNIX")));
}

TEST(DiffSockets, FirstRoundReportsAllThenOnlyChangesAndRemovals) {
  SocketsListing listing;
  sock_diag::Socket a = Tcp("198.18.0.10", 22, "198.18.0.11", 40000, 1);
  sock_diag::Socket b = Tcp("198.18.0.10", 22, "198.18.0.12", 40001, 2);
  SocketOwners owners;
  owners[a.inode].push_back(SocketOwner{42, "sshd", 3});
  SocketsRound first = DiffSockets({a, b}, owners, /*first=*/true, &listing);
  ASSERT_EQ(first.changed.size(), 2u);
  EXPECT_TRUE(first.removed.empty());
  ASSERT_EQ(first.changed[0].processes_size(), 1);
  EXPECT_EQ(first.changed[0].processes(0).name(), "sshd");
  EXPECT_EQ(first.changed[0].state(), "ESTAB");
  EXPECT_EQ(first.changed[0].remote().port(), 40000u);

  SocketsRound same = DiffSockets({a, b}, owners, false, &listing);
  EXPECT_TRUE(same.changed.empty());
  EXPECT_TRUE(same.removed.empty());

  // a's receive queue grows, b closes, c appears.
  a.receive_queue = 100;
  sock_diag::Socket c = Tcp("198.18.0.10", 22, "198.18.0.13", 40002, 3);
  SocketsRound next = DiffSockets({a, c}, owners, false, &listing);
  ASSERT_EQ(next.changed.size(), 2u);
  EXPECT_EQ(next.changed[0].receive_queue(), 100u);
  EXPECT_EQ(next.changed[1].remote().port(), 40002u);
  ASSERT_EQ(next.removed.size(), 1u);
  EXPECT_EQ(next.removed[0].remote().port(), 40001u);
  EXPECT_EQ(listing.size(), 2u);
}

TEST(DiffSockets, WithoutAListingReportsEverySocketAndKeepsNothing) {
  sock_diag::Socket a = Tcp("198.18.0.10", 22, "198.18.0.11", 40000, 1);
  sock_diag::Socket b = Tcp("198.18.0.10", 22, "198.18.0.12", 40001, 2);
  SocketOwners owners;
  owners[b.inode].push_back(SocketOwner{42, "sshd", 3});
  SocketsRound once = DiffSockets({a, b}, owners, /*first=*/true, /*listing=*/nullptr);
  ASSERT_EQ(once.changed.size(), 2u);
  EXPECT_TRUE(once.removed.empty());
  EXPECT_EQ(once.changed[0].remote().port(), 40000u);
  EXPECT_EQ(once.changed[0].processes_size(), 0);
  ASSERT_EQ(once.changed[1].processes_size(), 1);
  EXPECT_EQ(once.changed[1].processes(0).name(), "sshd");
  // The same entries as a first round that keeps a listing.
  SocketsListing listing;
  SocketsRound kept = DiffSockets({a, b}, owners, /*first=*/true, &listing);
  ASSERT_EQ(kept.changed.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(once.changed[i].SerializeAsString(), kept.changed[i].SerializeAsString());
  }
}

TEST(DiffSockets, TimeLeftAndTimeSinceAloneAreNoChange) {
  SocketsListing listing;
  sock_diag::Socket a = Tcp("198.18.0.10", 22, "198.18.0.11", 40000, 1);
  a.timer = 2;  // keepalive
  a.expires_ms = 7200000;
  tcp_info info{};
  info.tcpi_state = 1;
  info.tcpi_last_data_sent = 10;
  std::memcpy(a.tcp_info.data(), &info, sizeof(info));
  a.tcp_info_size = sizeof(info);
  ASSERT_EQ(DiffSockets({a}, {}, true, &listing).changed.size(), 1u);
  // A round later: the timer and the idle time moved on, nothing else.
  a.expires_ms = 7199000;
  info.tcpi_last_data_sent = 1010;
  std::memcpy(a.tcp_info.data(), &info, sizeof(info));
  EXPECT_TRUE(DiffSockets({a}, {}, false, &listing).changed.empty());
  // A retransmit timer instead of keepalive is a change.
  a.timer = 1;
  SocketsRound next = DiffSockets({a}, {}, false, &listing);
  ASSERT_EQ(next.changed.size(), 1u);
  EXPECT_EQ(next.changed[0].timer().name(), "on");
  EXPECT_EQ(next.changed[0].timer().expires().seconds(), 7199) << "sent with its time";
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
