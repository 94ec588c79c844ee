#include "agent/probes/tcp_connect_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

v1::TcpConnectRequest Request(std::initializer_list<const char*> targets) {
  v1::TcpConnectRequest request;
  for (const char* t : targets) request.add_targets(t);
  return request;
}

TEST(ValidateTcpConnect, DefaultsAreOneAttemptOneSecondThreeSecondsHundredInFlight) {
  auto plan =
      ValidateTcpConnect(Request({"198.18.0.11:80", "[2001:2::b]:443", "web:22"}));
  ASSERT_THAT(plan, IsOk());
  ASSERT_EQ(plan->targets.size(), 3u);
  EXPECT_EQ(plan->targets[1].host, "2001:2::b");
  EXPECT_EQ(plan->targets[1].port, 443);
  EXPECT_EQ(plan->targets[2].host, "web");
  EXPECT_EQ(plan->count, 1u);
  EXPECT_EQ(plan->interval, absl::Seconds(1));
  EXPECT_EQ(plan->timeout, absl::Seconds(3));
  EXPECT_EQ(plan->concurrency, 100u);
  EXPECT_FALSE(plan->graceful_close);
}

TEST(ValidateTcpConnect, RejectsBadTargetsNamingTheIndex) {
  EXPECT_THAT(
      ValidateTcpConnect(Request({})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("targets: at least one")));
  EXPECT_THAT(ValidateTcpConnect(Request({"a:1", "b:0"})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("targets[1]: port '0' is out of range")));
  EXPECT_THAT(ValidateTcpConnect(Request({"b:65536"})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 to 65535")));
  EXPECT_THAT(
      ValidateTcpConnect(Request({"b:http"})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("targets[0]: port 'http'")));
  EXPECT_THAT(ValidateTcpConnect(Request({"2001:2::b:80"})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("brackets")));
  EXPECT_THAT(ValidateTcpConnect(Request({":80"})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has no host")));
  EXPECT_THAT(ValidateTcpConnect(Request({"[::1]80"})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[IPv6]:PORT")));
}

TEST(ValidateTcpConnect, CapsTargetsCountsAndAttempts) {
  v1::TcpConnectRequest many;
  for (int i = 0; i < 1025; ++i) many.add_targets("h:1");
  EXPECT_THAT(ValidateTcpConnect(many),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit of 1024")));
  auto request = Request({"h:1"});
  request.set_count(100001);
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("count: 100001")));
  v1::TcpConnectRequest wide;
  for (int i = 0; i < 11; ++i) wide.add_targets("h:1");
  wide.set_count(100000);
  EXPECT_THAT(ValidateTcpConnect(wide), StatusIs(absl::StatusCode::kInvalidArgument,
                                                 HasSubstr("1000000 attempts")));
  request.set_count(0);
  ASSERT_THAT(ValidateTcpConnect(request), IsOk());
  EXPECT_EQ(ValidateTcpConnect(request)->count, 1u);
}

TEST(ValidateTcpConnect, TimeIntervalAndConcurrencyRanges) {
  auto request = Request({"h:1"});
  request.mutable_timeout()->set_seconds(0);
  EXPECT_THAT(
      ValidateTcpConnect(request),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("timeout: 0 is out of range: it must be from 1ms to 1m")));
  request.mutable_timeout()->set_seconds(61);
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("timeout: 1m1s")));
  request.mutable_timeout()->set_seconds(-1);
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("timeout")));
  request.mutable_timeout()->set_seconds(1);
  request.mutable_interval()->set_seconds(3601);
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("interval: 1h1s")));
  request.mutable_interval()->set_seconds(0);
  auto plan = ValidateTcpConnect(request);
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->interval, absl::ZeroDuration());  // back to back
  request.set_concurrency(4097);
  EXPECT_THAT(ValidateTcpConnect(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("concurrency: 4097")));
}

TEST(ValidateTcpConnect, PayloadAndBannerLimits) {
  auto request = Request({"h:1"});
  request.set_send_payload(std::string(4097, 'x'));
  EXPECT_THAT(ValidateTcpConnect(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("send_payload: 4097")));
  request.clear_send_payload();
  request.set_read_bytes(65537);
  EXPECT_THAT(ValidateTcpConnect(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("read_bytes: 65537")));
}

TEST(ValidateTcpConnect, SocketOptionsAreCheckedByTheSharedValidator) {
  auto request = Request({"h:1"});
  request.mutable_options()->set_ttl(0);
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.ttl: 0")));
  request.mutable_options()->set_ttl(256);
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("from 1 to 255")));
  request.mutable_options()->set_ttl(64);
  request.mutable_options()->set_tos(256);
  EXPECT_THAT(ValidateTcpConnect(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("options.tos: 256")));
  request.mutable_options()->clear_tos();
  request.mutable_options()->set_interface("no-such-if0");
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("options.interface")));
  request.mutable_options()->set_interface("lo");
  ASSERT_THAT(ValidateTcpConnect(request), IsOk());
  request.mutable_options()->set_source_address("not-an-ip");
  EXPECT_THAT(ValidateTcpConnect(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("not an IP address")));
  // TEST-NET-2 is never configured on a test machine.
  request.mutable_options()->set_source_address("198.51.100.77");
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("198.51.100.77 is not an address of this host")));
  request.mutable_options()->set_source_address("127.0.0.1");
  auto plan = ValidateTcpConnect(request);
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->setup.source->ip(), "127.0.0.1");
  request.set_family(v1::ADDRESS_FAMILY_IPV6);
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("family")));
  request.clear_family();
  request.mutable_options()->clear_source_address();
  request.mutable_options()->set_source_port(80);
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("needs options.source_address")));
  request.mutable_options()->set_source_port(0);
  request.mutable_options()->set_send_buffer(10);
  EXPECT_THAT(
      ValidateTcpConnect(request),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("options.send_buffer: 10")));
  request.mutable_options()->clear_send_buffer();
  request.mutable_options()->mutable_tcp_keepalive_idle()->set_seconds(0);
  EXPECT_THAT(ValidateTcpConnect(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("tcp_keepalive_idle")));
}

TEST(ValidateTcpConnect, HostsAreLiteralsOrHostNamesNeverResolvedHere) {
  // IPv4's older numeric forms are addresses too, as ping takes them.
  for (const char* good :
       {"h:1", "web-1.example.com:80", "example.com.:80", "[::1]:80", "[fe80::1%lo]:80",
        "127.0.0.1:1", "3com.example:1", "1.2.3:80", "0x7f000001:80"}) {
    EXPECT_THAT(ValidateTcpConnect(Request({good})), IsOk()) << good;
  }
  for (const char* bad :
       {"bad host:80", "300.1.1.1:80", "1.2.3.4.5:80", "host_name:80", "-a.example:80",
        "a-.example:80", "a..b:80", ".:80", "a\tb:80"}) {
    EXPECT_THAT(ValidateTcpConnect(Request({bad})),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("targets[0]: '")))
        << bad;
    EXPECT_THAT(ValidateTcpConnect(Request({bad})).status().message(),
                HasSubstr("is not a host name or address"))
        << bad;
  }
  EXPECT_THAT(
      ValidateTcpConnect(Request({"[web]:80"})),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("targets[0]: '[web]:80': brackets hold an IPv6 address")));
  const std::string label64 = std::string(64, 'a') + ".example:80";
  EXPECT_THAT(ValidateTcpConnect(Request({label64.c_str()})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not a host name or address")));
  // Too long for any HOST:PORT: refused before parsing, quoted short.
  const std::string huge(100000, 'x');
  auto refused = ValidateTcpConnect(Request({huge.c_str()}));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("(100000 characters) is not HOST:PORT (at "
                                          "most 260 characters)")));
  EXPECT_LT(refused.status().message().size(), 200u);
}

TEST(ValidateTcpConnect, LiteralsOfTheOtherFamilyAndUnknownFamiliesAreRefused) {
  auto request = Request({"127.0.0.1:80"});
  request.set_family(v1::ADDRESS_FAMILY_IPV6);
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("targets[0]: 127.0.0.1 is an IPv4 address but the "
                                 "request asks for IPv6")));
  request.set_family(static_cast<v1::AddressFamily>(7));
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("family: 7 is not IPV4, IPV6 or unset")));
}

TEST(ValidateTcpConnect, MalformedDurationsAreRefused) {
  auto request = Request({"h:1"});
  request.mutable_timeout()->set_seconds(1);
  request.mutable_timeout()->set_nanos(1000000000);
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("timeout: nanos 1000000000 is out of range")));
  request.mutable_timeout()->set_nanos(-1);
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("with the sign of seconds")));
  request.mutable_timeout()->set_seconds(INT64_MAX);
  request.mutable_timeout()->set_nanos(0);
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("timeout: 9223372036854775807 seconds is out of range: "
                                 "it must be from 1ms to 1m")));
  request.clear_timeout();
  request.mutable_options()->mutable_tcp_keepalive_idle()->set_seconds(10);
  request.mutable_options()->mutable_tcp_keepalive_idle()->set_nanos(-3);
  EXPECT_THAT(ValidateTcpConnect(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("options.tcp_keepalive_idle: nanos -3")));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
