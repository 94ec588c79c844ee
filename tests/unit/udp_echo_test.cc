// The UDP echo payload (fixed bytes both ways), request validation, and the
// responder's address flag.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/net/udp_echo_payload.h"
#include "agent/probes/udp_echo_request.h"
#include "agent/responders/udp_echo_responder.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

TEST(UdpEchoPayload, BuildsTheDocumentedLayout) {
  const std::vector<uint8_t> d =
      udp_echo::Build({.token = 0x01020304,
                       .sequence = 0x0a0b0c0d,
                       .sent = absl::FromUnixNanos(0x1122334455667788)},
                      28);
  const std::vector<uint8_t> want = {'N', 'P', 'U', 'E', 0x01, 0x02, 0x03, 0x04, 0x0a,
                                     0x0b, 0x0c, 0x0d, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44,
                                     0x55, 0x66, 0x77, 0x88,
                                     // pattern: offset * 7 + 0x5a
                                     (0x5a + 24 * 7) & 0xff, (0x5a + 25 * 7) & 0xff,
                                     (0x5a + 26 * 7) & 0xff, (0x5a + 27 * 7) & 0xff};
  ASSERT_EQ(d.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(d[i], want[i]) << i;
}

TEST(UdpEchoPayload, ParsesWhatItBuiltAndSeesCorruption) {
  std::vector<uint8_t> d =
      udp_echo::Build({.token = 7, .sequence = 42, .sent = absl::FromUnixSeconds(1)}, 64);
  auto parsed = udp_echo::Parse(d);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->header.token, 7u);
  EXPECT_EQ(parsed->header.sequence, 42u);
  EXPECT_EQ(parsed->header.sent, absl::FromUnixSeconds(1));
  EXPECT_TRUE(parsed->intact);
  d[63] ^= 1;
  EXPECT_FALSE(udp_echo::Parse(d)->intact);
  d[63] ^= 1;
  d[13] = 1;  // the reserved word
  EXPECT_FALSE(udp_echo::Parse(d)->intact);
}

TEST(UdpEchoPayload, RejectsShortAndForeignDatagrams) {
  std::vector<uint8_t> d = udp_echo::Build({.token = 1, .sequence = 1}, 24);
  EXPECT_TRUE(udp_echo::Parse(d).has_value());
  EXPECT_FALSE(udp_echo::Parse(absl::MakeConstSpan(d).subspan(0, 23)).has_value());
  EXPECT_FALSE(udp_echo::Parse({}).has_value());
  d[0] = 'X';
  EXPECT_FALSE(udp_echo::Parse(d).has_value());
}

v1::UdpEchoRequest Request(const std::string& target) {
  v1::UdpEchoRequest request;
  request.set_target(target);
  return request;
}

TEST(UdpEchoRequest, DefaultsAndLimits) {
  auto plan = ValidateUdpEcho(Request("198.18.0.11:7"));
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->host, "198.18.0.11");
  EXPECT_EQ(plan->port, 7);
  EXPECT_EQ(plan->size, 64u);
  EXPECT_EQ(plan->interval, absl::Seconds(1));
  EXPECT_EQ(plan->timeout, absl::Seconds(1));
  auto smallest = Request("[2001:2::b]:7");
  smallest.set_size(24);
  ASSERT_THAT(ValidateUdpEcho(smallest), IsOk());
  EXPECT_EQ(ValidateUdpEcho(smallest)->host, "2001:2::b");
}

TEST(UdpEchoRequest, BadInputNamesTheField) {
  struct Case {
    v1::UdpEchoRequest request;
    std::string field;
  };
  std::vector<Case> cases;
  cases.push_back({Request("198.18.0.11"), "target"});
  cases.push_back({Request("198.18.0.11:0"), "target"});
  cases.push_back({Request("198.18.0.11:65536"), "target"});
  cases.push_back({Request(""), "target"});
  auto r = Request("h:7");
  r.set_size(23);
  cases.push_back({r, "size"});
  r.set_size(65508);
  cases.push_back({r, "size"});
  r = Request("h:7");
  r.set_count(1000001);
  cases.push_back({r, "count"});
  r = Request("h:7");
  r.mutable_interval()->set_nanos(999999);
  cases.push_back({r, "interval"});
  r = Request("h:7");
  r.mutable_timeout()->set_seconds(61);
  cases.push_back({r, "timeout"});
  r = Request("h:7");
  r.mutable_options()->set_ttl(256);
  cases.push_back({r, "ttl"});
  r = Request("h:7");
  r.mutable_options()->set_tcp_nodelay(true);
  cases.push_back({r, "tcp_nodelay"});
  for (const Case& c : cases) {
    EXPECT_THAT(ValidateUdpEcho(c.request),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.field)))
        << c.request.DebugString();
  }
}

TEST(UdpEchoAddress, PortAloneMeansEveryAddressBothFamilies) {
  auto any = ParseUdpEchoAddress("7", "--udp-echo");
  ASSERT_THAT(any, IsOk());
  EXPECT_EQ(any->ToString(), "[::]:7");
  EXPECT_EQ(ParseUdpEchoAddress("0", "--udp-echo")->port(), 0);
  EXPECT_EQ(ParseUdpEchoAddress("127.0.0.1:9", "f")->ToString(), "127.0.0.1:9");
  EXPECT_EQ(ParseUdpEchoAddress("[::1]:9", "f")->ToString(), "[::1]:9");
}

TEST(UdpEchoAddress, BadInputNamesTheField) {
  for (const char* bad : {"70000", "host:7", "::1:7", "1.2.3.4:", "1.2.3.4:x", ""}) {
    EXPECT_THAT(ParseUdpEchoAddress(bad, "--udp-echo"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--udp-echo")))
        << bad;
  }
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
