// Traceroute request validation: defaults, limits, and the payload each
// packet length leaves.
#include "agent/probes/traceroute_request.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

v1::TracerouteRequest Request(const std::string& text) {
  v1::TracerouteRequest request;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &request)) << text;
  return request;
}

TEST(ValidateTraceroute, DefaultsAreTraceroutes) {
  const auto plan = ValidateTraceroute(Request("target: '198.18.0.1'"));
  ASSERT_THAT(plan.status(), IsOk());
  EXPECT_EQ(plan->method, TraceroutePlan::Method::kUdp);
  EXPECT_EQ(plan->port, 33434);
  EXPECT_EQ(plan->first_ttl, 1u);
  EXPECT_EQ(plan->max_ttl, 30u);
  EXPECT_EQ(plan->probes_per_hop, 3u);
  EXPECT_EQ(plan->wait, absl::Seconds(5));
  EXPECT_EQ(plan->flows, 1u);
  EXPECT_EQ(plan->attempts(), 90u);
  // traceroute's 60 (IPv4) and 80 (IPv6) byte packets: 32 payload bytes.
  EXPECT_EQ(plan->PayloadSize(AF_INET).value_or(0), 32u);
  EXPECT_EQ(plan->PayloadSize(AF_INET6).value_or(0), 32u);
}

TEST(ValidateTraceroute, FieldsWithinTheirLimits) {
  const auto plan = ValidateTraceroute(
      Request("target: '2001:2::a' method: TRACEROUTE_METHOD_ICMP first_ttl: 2 "
              "max_ttl: 255 probes_per_hop: 10 flows: 64 packet_length: 60 "
              "wait { seconds: 1 }"));
  ASSERT_THAT(plan.status(), IsOk());
  EXPECT_EQ(plan->method, TraceroutePlan::Method::kIcmp);
  EXPECT_EQ(plan->hops(), 254u);
  EXPECT_EQ(plan->PayloadSize(AF_INET6).value_or(0), 12u);
  EXPECT_EQ(plan->PayloadSize(AF_INET).value_or(0), 32u);
}

// traceroute -T: port 80 unless given; SYNs are headers only (20 bytes of TCP
// header and the MSS option), no payload.
TEST(ValidateTraceroute, TcpDefaultsToPort80AndHeaderOnlySyns) {
  const auto plan =
      ValidateTraceroute(Request("target: 'x' method: TRACEROUTE_METHOD_TCP"));
  ASSERT_THAT(plan.status(), IsOk());
  EXPECT_EQ(plan->method, TraceroutePlan::Method::kTcp);
  EXPECT_EQ(plan->port, 80);
  EXPECT_EQ(plan->PayloadSize(AF_INET).value_or(1), 0u);
  EXPECT_EQ(plan->LengthFor(AF_INET), 44u);
  EXPECT_EQ(plan->LengthFor(AF_INET6), 64u);
  const auto port =
      ValidateTraceroute(Request("target: 'x' method: TRACEROUTE_METHOD_TCP port: 443"));
  ASSERT_THAT(port.status(), IsOk());
  EXPECT_EQ(port->port, 443);
}

TEST(ValidateTraceroute, RefusesNamingTheFieldAndLimit) {
  EXPECT_THAT(
      ValidateTraceroute(Request("target: 'x' first_ttl: 0")).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("first_ttl: 0 is out of range: it must be from 1 to 255")));
  EXPECT_THAT(ValidateTraceroute(Request("target: 'x' first_ttl: 9 max_ttl: 8")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("first_ttl: 9 is above max_ttl 8")));
  EXPECT_THAT(ValidateTraceroute(Request("target: 'x' flows: 65")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("flows: 65 is out of range: it must be from 1 to 64")));
  const auto tcp =
      ValidateTraceroute(Request("target: 'x' method: TRACEROUTE_METHOD_TCP"));
  ASSERT_THAT(tcp.status(), IsOk());
  EXPECT_EQ(tcp->port, 80) << "traceroute -T's default port";
  const auto mtr = ValidateTraceroute(Request("target: 'x' rounds: 0"));
  ASSERT_THAT(mtr.status(), IsOk());
  EXPECT_EQ(mtr->max_silent_hops, 5u) << "mtr's --max-unknown";
  EXPECT_EQ(mtr->interval, absl::Seconds(1));
  const auto path_mtu = ValidateTraceroute(Request("target: 'x' path_mtu: true"));
  ASSERT_THAT(path_mtu.status(), IsOk());
  EXPECT_EQ(path_mtu->setup.dont_fragment, SocketSetup::Df::kSet) << "IP_PMTUDISC_PROBE";
  EXPECT_THAT(ValidateTraceroute(
                  Request("target: 'x' method: TRACEROUTE_METHOD_TCP packet_length: 60"))
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("packet_length: TCP SYN probes are headers only")));
  EXPECT_THAT(ValidateTraceroute(Request("target: 'x' port: 0")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("port: 0")));
  const auto v6_short = ValidateTraceroute(Request("target: 'x' packet_length: 59"));
  ASSERT_THAT(v6_short.status(), IsOk());                // fine for IPv4 ...
  EXPECT_THAT(v6_short->PayloadSize(AF_INET6).status(),  // ... not for IPv6
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("packet_length: 59 bytes is below the minimum of 60")));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
