#include "agent/probes/capture_request.h"

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

TEST(ValidateCapture, DefaultsAreAnyInterfaceFullPacketsAndTheAgentsBounds) {
  auto plan = ValidateCapture(v1::CaptureRequest(), {});
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->interface, "any");
  EXPECT_EQ(plan->filter, "");
  EXPECT_EQ(plan->effective_filter, "");
  EXPECT_EQ(plan->snaplen, 262144);
  EXPECT_FALSE(plan->promiscuous);
  EXPECT_EQ(plan->max_packets, 100000000u);
  EXPECT_EQ(plan->duration, absl::Hours(24));
  EXPECT_EQ(plan->max_bytes, uint64_t{16} << 30);
}

TEST(ValidateCapture, LimitsWithinTheBoundsAreKept) {
  v1::CaptureRequest request;
  request.set_interface("lo");
  request.set_snaplen(96);
  request.set_promiscuous(true);
  request.set_max_packets(10);
  request.set_max_bytes(5000);
  request.mutable_duration()->set_seconds(3);
  auto plan = ValidateCapture(request, {});
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->interface, "lo");
  EXPECT_EQ(plan->snaplen, 96);
  EXPECT_TRUE(plan->promiscuous);
  EXPECT_EQ(plan->max_packets, 10u);
  EXPECT_EQ(plan->max_bytes, 5000u);
  EXPECT_EQ(plan->duration, absl::Seconds(3));
}

TEST(ValidateCapture, SnaplenOutOfRangeNamesTheFieldAndLimit) {
  for (uint32_t snaplen : {0u, 262145u, 4000000000u}) {
    v1::CaptureRequest request;
    request.set_snaplen(snaplen);
    EXPECT_THAT(
        ValidateCapture(request, {}),
        StatusIs(kInvalid, HasSubstr(absl::StrCat("snaplen: ", snaplen,
                                                  " is out of range 1..262144"))));
  }
  v1::CaptureRequest edge;
  edge.set_snaplen(1);
  EXPECT_THAT(ValidateCapture(edge, {}), IsOk());
  edge.set_snaplen(262144);
  EXPECT_THAT(ValidateCapture(edge, {}), IsOk());
}

TEST(ValidateCapture, LimitsAboveTheAgentsBoundsAreRejected) {
  v1::CaptureRequest packets;
  packets.set_max_packets(100000001);
  EXPECT_THAT(ValidateCapture(packets, {}),
              StatusIs(kInvalid, HasSubstr("max_packets: 100000001 is above the agent's "
                                           "limit of 100000000")));
  v1::CaptureRequest bytes;
  bytes.set_max_bytes((uint64_t{16} << 30) + 1);
  EXPECT_THAT(ValidateCapture(bytes, {}), StatusIs(kInvalid, HasSubstr("max_bytes: ")));
  v1::CaptureRequest longer;
  longer.mutable_duration()->set_seconds(24 * 3600 + 1);
  EXPECT_THAT(ValidateCapture(longer, {}),
              StatusIs(kInvalid, HasSubstr("duration: 24h1s is out of range")));
  v1::CaptureRequest negative;
  negative.mutable_duration()->set_seconds(-1);
  EXPECT_THAT(ValidateCapture(negative, {}), StatusIs(kInvalid, HasSubstr("duration: ")));
}

TEST(ValidateCapture, UnknownInterfaceIsNotFound) {
  v1::CaptureRequest request;
  request.set_interface("nosuch0");
  EXPECT_THAT(ValidateCapture(request, {}),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("interface: no interface 'nosuch0'")));
  request.set_interface(std::string(40, 'x'));
  EXPECT_THAT(ValidateCapture(request, {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("interface: ")));
}

TEST(ValidateCapture, OverlongFilterIsRejected) {
  v1::CaptureRequest request;
  request.set_filter(std::string(4097, ' '));
  EXPECT_THAT(ValidateCapture(request, {}),
              StatusIs(kInvalid, HasSubstr("filter: 4097 characters exceed the limit "
                                           "of 4096")));
}

TEST(ValidateCapture, OwnListenersAreExcludedUnlessIncluded) {
  const std::vector<std::string> own = {"127.0.0.1:7431", "[::]:9000", "[::1]:7432"};
  v1::CaptureRequest request;
  request.set_filter("udp or icmp");
  auto plan = ValidateCapture(request, own);
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->filter, "udp or icmp");
  EXPECT_EQ(plan->effective_filter,
            "(udp or icmp) and not ((tcp and host 127.0.0.1 and port 7431) or tcp port "
            "9000 or (tcp and host ::1 and port 7432))");
  request.set_include_own_traffic(true);
  plan = ValidateCapture(request, own);
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->effective_filter, "udp or icmp");
  request.set_include_own_traffic(false);
  request.clear_filter();
  plan = ValidateCapture(request, {"0.0.0.0:7431"});
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->effective_filter, "not (tcp port 7431)");
}

TEST(OwnTrafficExclusion, NoListenersOrUnparsableOnesExcludeNothing) {
  EXPECT_EQ(OwnTrafficExclusion({}), "");
  EXPECT_EQ(OwnTrafficExclusion({"unix:/run/x.sock"}), "");
  // A name would make pcap_compile resolve it: the port alone is excluded.
  EXPECT_EQ(OwnTrafficExclusion({"localhost:7431"}), "not (tcp port 7431)");
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
