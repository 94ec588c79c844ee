// Throughput request validation: iperf3's defaults, the limits, and what the
// window and protocol imply.
#include "agent/probes/throughput_request.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "agent/probes/throughput_limit.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

v1::ThroughputRequest Request(const std::string& text) {
  v1::ThroughputRequest request;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &request)) << text;
  return request;
}

TEST(ValidateThroughput, DefaultsAreIperf3s) {
  const auto plan = ValidateThroughput(Request("target: '198.18.0.1'"));
  ASSERT_THAT(plan.status(), IsOk());
  EXPECT_EQ(plan->host, "198.18.0.1");
  EXPECT_EQ(plan->port, 5201);
  EXPECT_FALSE(plan->udp);
  EXPECT_EQ(plan->duration, absl::Seconds(10));
  EXPECT_EQ(plan->bytes, 0u);
  EXPECT_EQ(plan->parallel, 1u);
  EXPECT_EQ(plan->direction, ThroughputPlan::Direction::kSend);
  EXPECT_EQ(plan->bitrate, 0u);  // TCP: unlimited
  EXPECT_EQ(plan->interval, absl::Seconds(1));
  EXPECT_EQ(plan->Length(), absl::Seconds(10));
}

TEST(ValidateThroughput, UdpDefaultsToOneMegabitAndTargetsTakePorts) {
  const auto plan = ValidateThroughput(Request(
      "target: '[2001:db8::1]:5999' protocol: PROTOCOL_UDP direction: DIRECTION_BOTH"));
  ASSERT_THAT(plan.status(), IsOk());
  EXPECT_EQ(plan->host, "2001:db8::1");
  EXPECT_EQ(plan->port, 5999);
  EXPECT_TRUE(plan->udp);
  EXPECT_EQ(plan->bitrate, 1000000u);
  EXPECT_EQ(plan->direction, ThroughputPlan::Direction::kBoth);
  const auto bare = ValidateThroughput(Request("target: '2001:db8::1'"));
  ASSERT_THAT(bare.status(), IsOk());
  EXPECT_EQ(bare->port, 5201);
}

TEST(ValidateThroughput, BytesReplaceTheDurationAndWindowSetsBothBuffers) {
  const auto plan = ValidateThroughput(
      Request("target: 'h.example' bytes: 1048576 window: 4096 omit { seconds: 2 } "
              "options { receive_buffer: 8192 }"));
  ASSERT_THAT(plan.status(), IsOk());
  EXPECT_EQ(plan->bytes, 1048576u);
  EXPECT_EQ(plan->duration, absl::ZeroDuration());
  EXPECT_EQ(plan->setup.send_buffer, 4096);
  EXPECT_EQ(plan->setup.receive_buffer, 8192);  // the agent's own wins
  EXPECT_EQ(plan->omit, absl::Seconds(2));
}

TEST(ValidateThroughput, LimitsNameTheField) {
  EXPECT_THAT(ValidateThroughput(Request("target: 'h' parallel: 17")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("parallel: 17 streams is out of range")));
  EXPECT_THAT(ValidateThroughput(Request("target: 'h' mss: 87")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mss: 87 bytes")));
  EXPECT_THAT(
      ValidateThroughput(Request("target: 'h' protocol: PROTOCOL_UDP length: 65508"))
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("length: 65508 bytes")));
  EXPECT_THAT(ValidateThroughput(Request("target: 'h' duration { nanos: 1 }")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duration: 1ns")));
  EXPECT_THAT(ValidateThroughput(Request("target: 'h' congestion: 'no such'")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("congestion: 'no such' is not a congestion control")));
}

TEST(ValidateThroughput, TheKernelsCongestionControlsAreAccepted) {
  const std::vector<std::string> offered = AvailableCongestionControls();
  ASSERT_FALSE(offered.empty()) << "/proc/sys/net/ipv4/tcp_available_congestion_control";
  for (const std::string& name : offered) {
    EXPECT_THAT(
        ValidateThroughput(Request("target: 'h' congestion: '" + name + "'")).status(),
        IsOk());
  }
}

TEST(JudgeLimit, TheLargerLimitOverAFifthNamesIt) {
  const absl::Duration s = absl::Seconds(1);
  EXPECT_EQ(JudgeLimit({10 * s, 0 * s, 7 * s, 10 * s}).limit,
            v1::THROUGHPUT_LIMIT_SEND_BUFFER);
  EXPECT_THAT(JudgeLimit({10 * s, 0 * s, 7 * s, 10 * s}).detail,
              HasSubstr("(SO_SNDBUF) was full of unacknowledged data 70% of the time"));
  EXPECT_EQ(JudgeLimit({10 * s, 3 * s, 1 * s, 10 * s}).limit,
            v1::THROUGHPUT_LIMIT_RECEIVE_WINDOW);
  EXPECT_EQ(JudgeLimit({10 * s, 1 * s, 1 * s, 10 * s}).limit,
            v1::THROUGHPUT_LIMIT_NETWORK);
  EXPECT_EQ(JudgeLimit({3 * s, 0 * s, 0 * s, 10 * s}).limit,
            v1::THROUGHPUT_LIMIT_APPLICATION);
  EXPECT_EQ(JudgeLimit({0 * s, 0 * s, 0 * s, 0 * s}).limit,
            v1::THROUGHPUT_LIMIT_UNSPECIFIED);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
