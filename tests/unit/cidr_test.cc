#include "agent/net/cidr.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

bool In(const Cidr& cidr, const char* ip) {
  uint8_t bytes[16] = {};
  if (inet_pton(AF_INET, ip, bytes) == 1) return cidr.Contains(AF_INET, bytes);
  EXPECT_EQ(inet_pton(AF_INET6, ip, bytes), 1) << ip;
  return cidr.Contains(AF_INET6, bytes);
}

TEST(Cidr, PrefixesAndBareAddresses) {
  auto net = Cidr::Parse("198.18.0.0/15", "local");
  ASSERT_THAT(net, IsOk());
  EXPECT_EQ(net->ToString(), "198.18.0.0/15");
  EXPECT_TRUE(In(*net, "198.18.0.1"));
  EXPECT_TRUE(In(*net, "198.19.255.255"));
  EXPECT_FALSE(In(*net, "198.20.0.0"));
  EXPECT_FALSE(In(*net, "198.17.255.255"));
  EXPECT_FALSE(In(*net, "2001:2::1"));

  auto host = Cidr::Parse("198.18.0.10", "local");
  ASSERT_THAT(host, IsOk());
  EXPECT_EQ(host->ToString(), "198.18.0.10/32");
  EXPECT_TRUE(In(*host, "198.18.0.10"));
  EXPECT_FALSE(In(*host, "198.18.0.11"));

  auto v6 = Cidr::Parse("2001:2::/64", "remote");
  ASSERT_THAT(v6, IsOk());
  EXPECT_TRUE(In(*v6, "2001:2::a"));
  EXPECT_FALSE(In(*v6, "2001:2:0:1::a"));
  EXPECT_FALSE(In(*v6, "198.18.0.1"));

  auto everything = Cidr::Parse("0.0.0.0/0", "local");
  ASSERT_THAT(everything, IsOk());
  EXPECT_TRUE(In(*everything, "255.255.255.255"));
}

TEST(Cidr, MappedIpv6AddressesMatchIpv4Prefixes) {
  auto net = Cidr::Parse("198.18.0.0/24", "remote");
  ASSERT_THAT(net, IsOk());
  EXPECT_TRUE(In(*net, "::ffff:198.18.0.7"));
  EXPECT_FALSE(In(*net, "::ffff:198.18.1.7"));
  // Not mapped: an IPv6 address whose last 32 bits happen to match.
  EXPECT_FALSE(In(*net, "2001::c612:7"));
}

TEST(Cidr, BadInputNamesTheField) {
  EXPECT_THAT(Cidr::Parse("example.com", "local"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("local: 'example.com' is not an address or CIDR")));
  EXPECT_THAT(Cidr::Parse("198.18.0.0/33", "local"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("local: prefix length in '198.18.0.0/33' must be from 0 "
                                 "to 32")));
  EXPECT_THAT(Cidr::Parse("2001:2::/129", "remote"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0 to 128")));
  EXPECT_THAT(Cidr::Parse("198.18.0.0/", "local"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Cidr::Parse("198.18.0.0/-1", "local"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Cidr::Parse("198.18.0.1/24", "local"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("has host bits set; the network is 198.18.0.0/24")));
  EXPECT_THAT(Cidr::Parse("", "local"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
