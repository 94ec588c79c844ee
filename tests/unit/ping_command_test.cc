// The ping command's iputils flags and output (issue 18): -M, -Q in hex,
// -w, -c 0, the header and statistics lines, and the client's own counts of
// a run it stopped.
#include "client/commands/ping_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/commands/local_tallies.h"
#include "client/commands/ping_targets.h"
#include "client/output/ping_text.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

absl::StatusOr<v1::PingRequest> Build(const std::vector<std::string>& args) {
  auto parsed = OptionParser(PingOptions()).Parse(args);
  if (!parsed.ok()) return parsed.status();
  return BuildPingRequest(*parsed);
}

TEST(BuildPingRequest, PmtuDiscoveryModesAsIputilsNamesThem) {
  const std::pair<const char*, v1::DontFragment> modes[] = {
      {"do", v1::DONT_FRAGMENT_DO},
      {"dont", v1::DONT_FRAGMENT_CLEAR},
      {"want", v1::DONT_FRAGMENT_WANT},
      {"probe", v1::DONT_FRAGMENT_SET}};
  for (const auto& [mode, value] : modes) {
    auto request = Build({"-M", mode, "198.18.0.1"});
    ASSERT_THAT(request, IsOk()) << mode;
    EXPECT_EQ(request->options().dont_fragment(), value) << mode;
  }
  auto legacy = Build({"--dont-fragment", "198.18.0.1"});
  ASSERT_THAT(legacy, IsOk());
  EXPECT_EQ(legacy->options().dont_fragment(), v1::DONT_FRAGMENT_SET);
  EXPECT_THAT(Build({"-M", "sometimes", "198.18.0.1"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("-M/--pmtudisc: 'sometimes' is not one of do, dont, "
                                 "want, probe")));
  EXPECT_THAT(Build({"-M", "do", "--dont-fragment", "198.18.0.1"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exclude")));
}

TEST(BuildPingRequest, TosInHexOrDecimalCountZeroAndTheDeadline) {
  auto hex = Build({"-Q", "0x10", "198.18.0.1"});
  ASSERT_THAT(hex, IsOk());
  EXPECT_EQ(hex->options().tos(), 16u);
  auto decimal = Build({"-Q", "184", "198.18.0.1"});
  ASSERT_THAT(decimal, IsOk());
  EXPECT_EQ(decimal->options().tos(), 184u);
  EXPECT_THAT(Build({"-Q", "0x100", "198.18.0.1"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'0x100' is not a whole number from 0 to 255")));
  EXPECT_THAT(Build({"-Q", "0xzz", "198.18.0.1"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'0xzz'")));
  auto forever = Build({"-c", "0", "198.18.0.1"});
  ASSERT_THAT(forever, IsOk());
  EXPECT_EQ(forever->count(), 0u) << "-c 0 runs until interrupted, as the README says";
  EXPECT_TRUE(forever->report_sends());
  ASSERT_THAT(Build({"-w", "3", "198.18.0.1"}), IsOk());
  EXPECT_THAT(Build({"-w", "0", "198.18.0.1"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("-w/--deadline: must be above 0")));
  for (const char* flag : {"-q", "-n", "-O", "-D"}) {
    EXPECT_THAT(Build({flag, "198.18.0.1"}), IsOk()) << flag;
  }
}

TEST(PingText, HeaderAndStatisticsAsIputilsPrintsThem) {
  v1::Endpoint v4;
  v4.set_host("web");
  v4.set_address("198.18.0.11");
  v4.set_family(v1::ADDRESS_FAMILY_IPV4);
  EXPECT_EQ(FormatPingHeader(v4, 56), "PING web (198.18.0.11) 56(84) bytes of data.\n");
  EXPECT_EQ(FormatPingHeader(v4, 100),
            "PING web (198.18.0.11) 100(128) bytes of data.\n");
  v1::Endpoint v6;
  v6.set_host("::1");
  v6.set_address("::1");
  v6.set_family(v1::ADDRESS_FAMILY_IPV6);
  EXPECT_EQ(FormatPingHeader(v6, 56), "PING ::1(::1) 56 data bytes\n");

  v1::TargetSummary s;
  *s.mutable_target() = v4;
  s.set_sent(5);
  s.set_received(5);
  EXPECT_THAT(
      FormatPingSummary(s, absl::Milliseconds(4005.7)),
      HasSubstr("5 packets transmitted, 5 received, 0% packet loss, time 4005ms\n"));
  EXPECT_THAT(FormatPingSummary(s), HasSubstr("0% packet loss\n"));

  EXPECT_EQ(FormatPingTimestamp(absl::FromUnixMicros(1733312345123456)),
            "[1733312345.123456] ");
  v1::PingReply timeout;
  timeout.set_sequence(3);
  timeout.mutable_result()->set_outcome(v1::OUTCOME_TIMEOUT);
  EXPECT_EQ(FormatPingReply(timeout), "no answer yet for icmp_seq=3\n");
}

TEST(LocalTallies, RequestsStillInFlightCountAsSentAndLost) {
  v1::Endpoint target;
  target.set_host("198.18.0.1");
  LocalTallies tallies;
  for (int i = 0; i < 5; ++i) tallies.Sent(target);
  tallies.Add(target, v1::OUTCOME_OK, absl::Milliseconds(1));
  tallies.Add(target, v1::OUTCOME_TIMEOUT, std::nullopt);
  const std::vector<v1::TargetSummary> summaries = tallies.Summaries();
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].sent(), 5u) << "three still waited for their reply";
  EXPECT_EQ(summaries[0].received(), 1u);
  EXPECT_DOUBLE_EQ(summaries[0].loss_percent(), 80.0);
  EXPECT_EQ(summaries[0].outcomes().at("OUTCOME_TIMEOUT"), 1u);
}

TEST(ExpandPingTargets, CidrBlocksAndRangesLikeFpingG) {
  auto block = ExpandPingTargets({"198.18.0.8/30"}, false);
  ASSERT_THAT(block, IsOk());
  EXPECT_EQ(*block, (std::vector<std::string>{"198.18.0.9", "198.18.0.10"}));
  auto p2p = ExpandPingTargets({"198.18.0.8/31", "web"}, false);
  ASSERT_THAT(p2p, IsOk());
  EXPECT_EQ(*p2p, (std::vector<std::string>{"198.18.0.8", "198.18.0.9", "web"}));
  auto v6 = ExpandPingTargets({"2001:db8::/126"}, false);
  ASSERT_THAT(v6, IsOk());
  EXPECT_EQ(*v6, (std::vector<std::string>{"2001:db8::", "2001:db8::1", "2001:db8::2",
                                           "2001:db8::3"}));
  auto range = ExpandPingTargets({"198.18.0.254", "198.18.1.1"}, true);
  ASSERT_THAT(range, IsOk());
  EXPECT_EQ(*range, (std::vector<std::string>{"198.18.0.254", "198.18.0.255",
                                              "198.18.1.0", "198.18.1.1"}));
  auto unaligned = ExpandPingTargets({"198.18.0.13/30"}, true);
  ASSERT_THAT(unaligned, IsOk());
  EXPECT_EQ(unaligned->front(), "198.18.0.13");
  EXPECT_EQ(unaligned->size(), 2u);
  auto big = ExpandPingTargets({"198.18.0.0/20"}, false);
  ASSERT_THAT(big, IsOk());
  EXPECT_EQ(big->size(), 4094u);

  EXPECT_THAT(
      ExpandPingTargets({"10.0.0.0/8"}, true),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("10.0.0.0/8: 16777216 addresses exceed the 4096 targets")));
  EXPECT_THAT(ExpandPingTargets({"198.18.0.0/19"}, false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("8192 addresses")));
  EXPECT_THAT(
      ExpandPingTargets({"198.18.0.0/33"}, false),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a CIDR block")));
  EXPECT_THAT(
      ExpandPingTargets({"198.18.1.1", "198.18.0.1"}, true),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("END is before START")));
  EXPECT_THAT(ExpandPingTargets({"web"}, true),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("-g: give one CIDR block, or START END")));
  std::vector<std::string> many(4097, "198.18.0.1");
  EXPECT_THAT(ExpandPingTargets(many, false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("targets: 4097 targets exceed the limit of 4096")));
}

TEST(PingText, FpingLinesArePaddedAndCarryTheRunningFigures) {
  v1::PingReply r;
  r.mutable_target()->set_host("198.18.0.1");
  r.set_sequence(1);
  r.set_bytes(64);
  r.mutable_result()->set_outcome(v1::OUTCOME_OK);
  r.mutable_rtt()->set_nanos(53000);
  EXPECT_EQ(FormatFpingReply(r, 13, absl::Microseconds(53), 0),
            "198.18.0.1    : [0], 64 bytes, 0.053 ms (0.053 avg, 0% loss)\n");
  r.set_sequence(2);
  r.mutable_result()->set_outcome(v1::OUTCOME_TIMEOUT);
  EXPECT_EQ(FormatFpingReply(r, 10, std::nullopt, 100),
            "198.18.0.1 : [1], timed out (NaN avg, 100% loss)\n");
  v1::TargetSummary s;
  s.mutable_target()->set_host("::1");
  s.set_sent(2);
  EXPECT_EQ(FormatFpingSummary(s, 9), "::1       : xmt/rcv/%loss = 2/0/0%\n");
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
