// ValidateBroadcast against fixed interface lists: every rejection names its
// field, and the defaults are what the README states.
#include "agent/probes/broadcast_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <net/if.h>

#include "common/proto_time.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

InterfaceInfo Iface(std::string name, uint32_t flags,
                    std::vector<InterfaceAddressInfo> ipv4) {
  InterfaceInfo info;
  info.name = std::move(name);
  info.flags = flags;
  info.ipv4 = std::move(ipv4);
  return info;
}

// lo, an ethernet with two subnets, one without IPv4, and a point-to-point
// tunnel (no IFF_BROADCAST) -- none of these names needs to exist here.
std::vector<InterfaceInfo> Interfaces() {
  return {
      Iface("lo", IFF_UP | IFF_LOOPBACK, {{"127.0.0.1", 8, ""}}),
      Iface("lab0", IFF_UP | IFF_BROADCAST,
            {{"198.18.0.10", 24, "198.18.0.255"}, {"198.18.4.1", 22, "198.18.7.255"}}),
      Iface("v6only", IFF_UP | IFF_BROADCAST, {}),
      Iface("tun0", IFF_UP | IFF_POINTOPOINT, {{"10.9.0.1", 32, ""}}),
      Iface("host32", IFF_UP | IFF_BROADCAST, {{"192.0.2.7", 32, ""}}),
  };
}

v1::BroadcastRequest Request(std::string interface = "lab0", uint32_t port = 7) {
  v1::BroadcastRequest request;
  request.set_interface(std::move(interface));
  request.set_port(port);
  return request;
}

TEST(ValidateBroadcast, DefaultsToTheFirstDirectedBroadcastTwoSecondsAndAPayload) {
  auto plan = ValidateBroadcast(Request(), Interfaces());
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->interface, "lab0");
  EXPECT_EQ(plan->destination.ToString(), "198.18.0.255:7");
  EXPECT_EQ(plan->window, absl::Seconds(2));
  EXPECT_EQ(std::string(plan->payload.begin(), plan->payload.end()),
            "netprobe broadcast");
  EXPECT_EQ(plan->setup.interface, "lab0");
  EXPECT_THAT(plan->local_addresses, ElementsAre("198.18.0.10", "198.18.4.1"));
}

TEST(ValidateBroadcast, AcceptsEveryDirectedBroadcastAndTheLimitedOne) {
  for (const char* address : {"198.18.0.255", "198.18.7.255", "255.255.255.255"}) {
    auto request = Request("lab0", 65535);
    request.set_address(address);
    request.set_payload(std::string(65507, 'x'));
    ToProto(absl::Milliseconds(1), request.mutable_window());
    auto plan = ValidateBroadcast(request, Interfaces());
    ASSERT_THAT(plan, IsOk()) << address;
    EXPECT_EQ(plan->destination.ip(), address);
    EXPECT_EQ(plan->destination.port(), 65535);
    EXPECT_EQ(plan->payload.size(), 65507u);
    EXPECT_EQ(plan->window, absl::Milliseconds(1));
  }
}

TEST(ValidateBroadcast, InterfaceIsRequiredAndMustExist) {
  EXPECT_THAT(
      ValidateBroadcast(Request(""), Interfaces()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("interface: required")));
  EXPECT_THAT(ValidateBroadcast(Request("eth9"), Interfaces()),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("interface: no interface 'eth9'"),
                             HasSubstr("broadcast-capable: lab0, v6only, host32"))));
}

TEST(ValidateBroadcast, InterfaceMustBroadcastAndHaveIpv4) {
  EXPECT_THAT(ValidateBroadcast(Request("lo"), Interfaces()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("interface: 'lo' cannot broadcast")));
  EXPECT_THAT(ValidateBroadcast(Request("tun0"), Interfaces()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("interface: 'tun0' cannot broadcast")));
  EXPECT_THAT(ValidateBroadcast(Request("v6only"), Interfaces()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("interface: 'v6only' has no IPv4 address")));
}

TEST(ValidateBroadcast, WithoutADirectedBroadcastOnlyTheLimitedOneIsAllowed) {
  EXPECT_THAT(ValidateBroadcast(Request("host32"), Interfaces()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("address: 'host32' has no directed broadcast")));
  auto request = Request("host32");
  request.set_address("255.255.255.255");
  EXPECT_THAT(ValidateBroadcast(request, Interfaces()), IsOk());
}

TEST(ValidateBroadcast, AddressMustBeABroadcastOfTheInterface) {
  for (const char* address :
       {"198.18.0.11", "198.18.1.255", "10.9.0.255", "not-an-ip", "ff02::1", "0.0.0.0"}) {
    auto request = Request();
    request.set_address(address);
    EXPECT_THAT(ValidateBroadcast(request, Interfaces()),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("address: '"),
                               HasSubstr("is not a broadcast address of lab0"),
                               HasSubstr("allowed: 198.18.0.255, 198.18.7.255, "
                                         "255.255.255.255"))))
        << address;
  }
}

TEST(ValidateBroadcast, PortMustBeOneTo65535) {
  for (uint32_t port : {0u, 65536u, 4000000000u}) {
    EXPECT_THAT(ValidateBroadcast(Request("lab0", port), Interfaces()),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("port: "), HasSubstr("from 1 to 65535"))))
        << port;
  }
}

TEST(ValidateBroadcast, PayloadAtMost65507Bytes) {
  auto request = Request();
  request.set_payload(std::string(65508, 'x'));
  EXPECT_THAT(ValidateBroadcast(request, Interfaces()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("payload: 65508 bytes is above the maximum of 65507")));
}

TEST(ValidateBroadcast, WindowFromOneMillisecondToSixtySeconds) {
  for (absl::Duration window : {absl::ZeroDuration(), absl::Microseconds(999),
                                absl::Seconds(61), -absl::Seconds(1)}) {
    auto request = Request();
    ToProto(window, request.mutable_window());
    EXPECT_THAT(ValidateBroadcast(request, Interfaces()),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("window: "), HasSubstr("from 1ms to 1m"))))
        << window;
  }
}

TEST(ValidateBroadcast, SocketOptionsAreCheckedAndMayNotNameAnotherInterface) {
  auto request = Request();
  request.mutable_options()->set_interface("lo");
  EXPECT_THAT(ValidateBroadcast(request, Interfaces()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("options.interface: 'lo' conflicts with interface "
                                 "'lab0'")));
  request = Request();
  request.mutable_options()->set_ttl(0);
  EXPECT_THAT(ValidateBroadcast(request, Interfaces()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.ttl: 0")));
  request = Request();
  request.mutable_options()->set_tcp_nodelay(true);
  EXPECT_THAT(ValidateBroadcast(request, Interfaces()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("options.tcp_nodelay: applies to TCP only")));
  request = Request();
  request.mutable_options()->set_source_address("::1");
  EXPECT_THAT(ValidateBroadcast(request, Interfaces()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("options.source_address: a broadcast is IPv4")));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
