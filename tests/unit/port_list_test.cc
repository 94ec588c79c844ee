// tcp's port lists and ranges (issue 18: HOST:80-85,443 as nc and nmap take
// them) and its scan line per port.
#include "client/commands/port_list.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/output/tcp_text.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ExpandPorts, RangesAndListsBecomeOneTargetEach) {
  auto web = ExpandPorts("web:80-82,443");
  ASSERT_THAT(web, IsOk());
  EXPECT_THAT(*web, ElementsAre("web:80", "web:81", "web:82", "web:443"));
  auto v6 = ExpandPorts("[2001:db8::1]:22,80");
  ASSERT_THAT(v6, IsOk());
  EXPECT_THAT(*v6, ElementsAre("[2001:db8::1]:22", "[2001:db8::1]:80"));
  auto one = ExpandPorts("198.18.0.11:80");
  ASSERT_THAT(one, IsOk());
  EXPECT_THAT(*one, ElementsAre("198.18.0.11:80"));
  // What is not a list goes to the agent as written: it names the problem.
  auto bare = ExpandPorts("2001:db8::1");
  ASSERT_THAT(bare, IsOk());
  EXPECT_THAT(*bare, ElementsAre("2001:db8::1"));
  EXPECT_FALSE(HasPortList("web:80"));
  EXPECT_TRUE(HasPortList("web:80,81"));
  EXPECT_TRUE(HasPortList("web:1-2"));
}

TEST(ExpandPorts, BadPartsAreNamed) {
  EXPECT_THAT(ExpandPorts("web:90-80"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("web:90-80: range '90-80' runs backwards")));
  EXPECT_THAT(ExpandPorts("web:80,70000"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("web:80,70000: port '70000' is not a number from 1 to "
                                 "65535")));
  EXPECT_THAT(ExpandPorts("web:0-5"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("port '0'")));
  EXPECT_THAT(ExpandPorts("web:80,,81"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("port ''")));
}

TEST(FormatTcpScanLine, NmapStatesPerPort) {
  v1::TcpAttempt a;
  a.mutable_target()->set_host("198.18.0.11");
  a.mutable_target()->set_port(80);
  a.mutable_target()->set_address("198.18.0.11");
  a.mutable_result()->set_outcome(v1::OUTCOME_OK);
  a.mutable_connect_time()->set_nanos(142000);
  EXPECT_EQ(FormatTcpScanLine(a), "198.18.0.11:80 (198.18.0.11) open 0.142 ms\n");
  a.mutable_result()->set_outcome(v1::OUTCOME_REFUSED);
  EXPECT_EQ(FormatTcpScanLine(a), "198.18.0.11:80 (198.18.0.11) closed\n");
  a.mutable_result()->set_outcome(v1::OUTCOME_TIMEOUT);
  a.mutable_result()->set_detail("no answer within 3s");
  EXPECT_EQ(FormatTcpScanLine(a),
            "198.18.0.11:80 (198.18.0.11) filtered (no answer within 3s)\n");
  a.mutable_result()->set_outcome(v1::OUTCOME_PROHIBITED);
  a.mutable_result()->set_reported_by("198.18.0.1");
  EXPECT_EQ(FormatTcpScanLine(a),
            "198.18.0.11:80 (198.18.0.11) filtered (prohibited from 198.18.0.1)\n");
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
