#include "agent/probes/multicast_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

v1::MulticastRequest Request(const std::string& group, uint32_t port = 5000) {
  v1::MulticastRequest request;
  request.set_group(group);
  request.set_port(port);
  return request;
}

TEST(ValidateMulticast, DefaultsAreAnySourceNoLimitsAndNoSending) {
  auto plan = ValidateMulticast(Request("239.1.2.3"));
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->group.ToString(), "239.1.2.3:5000");
  EXPECT_EQ(plan->interface_index, 0u);
  EXPECT_FALSE(plan->source.has_value());
  EXPECT_EQ(plan->count, 0u);
  EXPECT_EQ(plan->duration, absl::ZeroDuration());
  EXPECT_EQ(plan->max_payload, 256u);
  EXPECT_FALSE(plan->send);
  EXPECT_EQ(plan->send_interval, absl::Seconds(1));
  EXPECT_EQ(plan->send_ttl, 1);
  EXPECT_FALSE(plan->loopback);
}

TEST(ValidateMulticast, AcceptsSsmIpv6AndEveryOptionAtItsLimits) {
  auto request = Request("ff35::8000:1", 65535);
  request.set_interface("lo");
  request.set_source("2001:2::b");
  request.set_count(1000000);
  request.mutable_duration()->set_seconds(24 * 3600);
  request.set_max_payload(0);
  request.set_send(true);
  request.set_send_payload(std::string(65507, 'x'));
  request.mutable_send_interval()->set_nanos(1000000);
  request.set_send_ttl(255);
  request.set_loopback(true);
  auto plan = ValidateMulticast(request);
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->group.ToString(), "[ff35::8000:1]:65535");
  EXPECT_EQ(plan->interface, "lo");
  EXPECT_NE(plan->interface_index, 0u);
  ASSERT_TRUE(plan->source.has_value());
  EXPECT_EQ(plan->source->ip(), "2001:2::b");
  EXPECT_EQ(plan->max_payload, 0u);
  EXPECT_EQ(plan->send_interval, absl::Milliseconds(1));
  EXPECT_EQ(plan->send_ttl, 255);
  EXPECT_TRUE(plan->loopback);
}

TEST(ValidateMulticast, GroupMustBeAMulticastLiteral) {
  EXPECT_THAT(ValidateMulticast(Request("")),
              StatusIs(kInvalid, HasSubstr("group: a multicast group address")));
  EXPECT_THAT(ValidateMulticast(Request("198.18.0.11")),
              StatusIs(kInvalid, HasSubstr("group: 198.18.0.11 is not a multicast")));
  EXPECT_THAT(ValidateMulticast(Request("240.0.0.1")),
              StatusIs(kInvalid, HasSubstr("group: 240.0.0.1 is not a multicast")));
  EXPECT_THAT(ValidateMulticast(Request("2001:2::1")),
              StatusIs(kInvalid, HasSubstr("group: 2001:2::1 is not a multicast")));
  EXPECT_THAT(
      ValidateMulticast(Request("mcast.example")),
      StatusIs(kInvalid, HasSubstr("group: 'mcast.example' is not an IP address")));
  EXPECT_THAT(ValidateMulticast(Request("ff02::1%lo")),
              StatusIs(kInvalid, HasSubstr("group: 'ff02::1%lo': give the interface")));
  EXPECT_THAT(ValidateMulticast(Request("224.0.0.0")), IsOk());
  EXPECT_THAT(ValidateMulticast(Request("239.255.255.255")), IsOk());
}

TEST(ValidateMulticast, PortMustBeOneTo65535) {
  EXPECT_THAT(ValidateMulticast(Request("239.1.2.3", 0)),
              StatusIs(kInvalid, HasSubstr("port: 0 is out of range: it must be from 1 "
                                           "to 65535")));
  EXPECT_THAT(ValidateMulticast(Request("239.1.2.3", 65536)),
              StatusIs(kInvalid, HasSubstr("port: 65536 is out of range")));
}

TEST(ValidateMulticast, InterfaceMustExistAndLinkLocalScopesNeedOne) {
  auto request = Request("239.1.2.3");
  request.set_interface("nosuch0");
  EXPECT_THAT(ValidateMulticast(request),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("interface: no interface 'nosuch0' on this host")));
  request.set_interface(std::string(40, 'e'));
  EXPECT_THAT(ValidateMulticast(request),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("interface: ")));
  for (const char* group : {"ff02::1:3", "ff01::1", "ff32::8000:1"}) {
    EXPECT_THAT(ValidateMulticast(Request(group)),
                StatusIs(kInvalid, HasSubstr("needs an interface")))
        << group;
  }
  auto scoped = Request("ff02::1:3");
  scoped.set_interface("lo");
  auto plan = ValidateMulticast(scoped);
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(reinterpret_cast<const sockaddr_in6*>(plan->group.get())->sin6_scope_id,
            plan->interface_index);
  EXPECT_THAT(ValidateMulticast(Request("ff15::1")), IsOk());  // site scope: by route
}

TEST(ValidateMulticast, SourceMustBeAUnicastLiteralOfTheGroupsFamily) {
  auto request = Request("232.1.2.3");
  for (const auto& [source, message] : std::vector<std::pair<std::string, std::string>>{
           {"host1", "source: 'host1' is not an IP address literal"},
           {"2001:2::b", "source: 2001:2::b is not of the family of the group"},
           {"239.1.1.1", "source: 239.1.1.1 is not a unicast address"},
           {"0.0.0.0", "source: 0.0.0.0 is not a unicast"},
           {"255.255.255.255", "source: 255.255.255.255 is not a unicast"},
       }) {
    request.set_source(source);
    EXPECT_THAT(ValidateMulticast(request), StatusIs(kInvalid, HasSubstr(message)))
        << source;
  }
  auto v6 = Request("ff35::1");
  for (const char* source : {"::", "ff05::2"}) {
    v6.set_source(source);
    EXPECT_THAT(ValidateMulticast(v6), StatusIs(kInvalid, HasSubstr("source: ")))
        << source;
  }
  v6.set_source("198.18.0.11");
  EXPECT_THAT(ValidateMulticast(v6), StatusIs(kInvalid, HasSubstr("not of the family")));
}

TEST(ValidateMulticast, CountDurationAndMaxPayloadLimits) {
  auto request = Request("239.1.2.3");
  request.set_count(1000001);
  EXPECT_THAT(ValidateMulticast(request),
              StatusIs(kInvalid, HasSubstr("count: 1000001 is above the limit of "
                                           "1000000")));
  request.set_count(0);
  request.mutable_duration()->set_seconds(24 * 3600 + 1);
  EXPECT_THAT(ValidateMulticast(request),
              StatusIs(kInvalid, HasSubstr("duration: 24h1s is out of range: it must "
                                           "be from 0 (none) to 24h")));
  request.mutable_duration()->set_seconds(-1);
  EXPECT_THAT(ValidateMulticast(request), StatusIs(kInvalid, HasSubstr("duration: -1s")));
  request.clear_duration();
  request.set_max_payload(65508);
  EXPECT_THAT(ValidateMulticast(request),
              StatusIs(kInvalid, HasSubstr("max_payload: 65508 bytes is above the "
                                           "maximum of 65507")));
}

TEST(ValidateMulticast, SendOptionsHaveLimitsAndNeedSend) {
  auto request = Request("239.1.2.3");
  request.set_send_ttl(2);
  EXPECT_THAT(ValidateMulticast(request),
              StatusIs(kInvalid, HasSubstr("send_ttl: applies only when send is set")));
  request.set_send_ttl(0);
  request.set_loopback(true);
  EXPECT_THAT(ValidateMulticast(request),
              StatusIs(kInvalid, HasSubstr("loopback: applies only when send")));
  request.set_loopback(false);
  request.set_send_payload("x");
  EXPECT_THAT(ValidateMulticast(request),
              StatusIs(kInvalid, HasSubstr("send_payload: applies only when send")));
  request.set_send(true);
  request.set_send_payload(std::string(65508, 'x'));
  EXPECT_THAT(ValidateMulticast(request),
              StatusIs(kInvalid, HasSubstr("send_payload: 65508 bytes is above the "
                                           "maximum of 65507")));
  request.clear_send_payload();
  request.mutable_send_interval()->set_nanos(999999);
  EXPECT_THAT(ValidateMulticast(request),
              StatusIs(kInvalid, HasSubstr("send_interval: 999.999us is out of range: "
                                           "it must be from 1ms")));
  request.mutable_send_interval()->set_seconds(3601);
  request.mutable_send_interval()->set_nanos(0);
  EXPECT_THAT(ValidateMulticast(request),
              StatusIs(kInvalid, HasSubstr("send_interval: 1h1s is out of range")));
  request.clear_send_interval();
  request.set_send_ttl(256);
  EXPECT_THAT(ValidateMulticast(request),
              StatusIs(kInvalid, HasSubstr("send_ttl: 256 is out of range: it must be "
                                           "from 1 to 255")));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
