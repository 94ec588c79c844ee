#include "agent/net/socket_address.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/net/resolver.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

TEST(SocketAddress, Literals) {
  auto v4 = SocketAddress::FromLiteral("198.18.0.2", 80);
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->ToString(), "198.18.0.2:80");
  EXPECT_EQ(v4->length(), sizeof(sockaddr_in));
  auto v6 = SocketAddress::FromLiteral("2001:2::a", 443);
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->ToString(), "[2001:2::a]:443");
  EXPECT_EQ(v6->ip(), "2001:2::a");
  auto scoped = SocketAddress::FromLiteral("fe80::1%lo");
  ASSERT_TRUE(scoped.has_value());
  EXPECT_EQ(scoped->ip(), "fe80::1%lo");
  EXPECT_FALSE(SocketAddress::FromLiteral("web").has_value());
  EXPECT_FALSE(SocketAddress::FromLiteral("198.18.0.256").has_value());
  EXPECT_FALSE(SocketAddress::FromLiteral("fe80::1%no-such-if0").has_value());
  EXPECT_FALSE(SocketAddress::FromLiteral("").has_value());
}

TEST(SocketAddress, SetPort) {
  auto a = SocketAddress::FromLiteral("::1");
  a->set_port(7431);
  EXPECT_EQ(a->port(), 7431);
  EXPECT_EQ(a->ToString(), "[::1]:7431");
}

TEST(ParseHostPort, Forms) {
  auto plain = ParseHostPort("web:80", "t");
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->host, "web");
  EXPECT_EQ(plain->port, 80);
  auto v6 = ParseHostPort("[2001:2::a]:443", "t");
  ASSERT_THAT(v6, IsOk());
  EXPECT_EQ(v6->host, "2001:2::a");
  EXPECT_THAT(ParseHostPort("web", "targets[3]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("targets[3]: 'web' has no port")));
  EXPECT_THAT(ParseHostPort("[::1]", "t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[IPv6]:PORT")));
  EXPECT_THAT(ParseHostPort("web:", "t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("port ''")));
  EXPECT_THAT(ParseHostPort("web:-1", "t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 to 65535")));
  EXPECT_THAT(ParseHostPort("web:99999999999", "t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 to 65535")));
}

TEST(Resolver, LiteralsAndFamilies) {
  auto v4 = ResolveLiteral("127.0.0.1", AF_UNSPEC, "t");
  ASSERT_THAT(v4, IsOk());
  ASSERT_TRUE(v4->has_value());
  auto name = ResolveLiteral("localhost", AF_UNSPEC, "t");
  ASSERT_THAT(name, IsOk());
  EXPECT_FALSE(name->has_value());
  EXPECT_THAT(ResolveLiteral("127.0.0.1", AF_INET6, "targets[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("targets[0]: 127.0.0.1 is an IPv4 address")));
  // /etc/hosts answers localhost without any network.
  auto local = ResolveNow("localhost", AF_INET, "t");
  ASSERT_THAT(local, IsOk());
  EXPECT_EQ(local->ip(), "127.0.0.1");
  // Unresolvable names are tested in the lab, where a DNS query cannot leave
  // the machine; here it would reach the host's resolver.
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
