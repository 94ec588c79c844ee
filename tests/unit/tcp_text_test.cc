#include "client/output/tcp_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/commands/tcp_command.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::IsOk;
using ::netprobe::testing::StatusIs;
using ::testing::HasSubstr;

v1::TcpAttempt Attempt(v1::Outcome outcome) {
  v1::TcpAttempt a;
  a.mutable_target()->set_host("web");
  a.mutable_target()->set_port(80);
  a.mutable_target()->set_address("198.18.0.11");
  a.set_sequence(2);
  a.mutable_result()->set_outcome(outcome);
  a.mutable_connect_time()->set_nanos(142000);
  return a;
}

TEST(FormatTcpAttempt, ConnectedWithLocalAddressAndTcpInfo) {
  v1::TcpAttempt a = Attempt(v1::OUTCOME_OK);
  a.set_local_address("198.18.0.10");
  a.set_local_port(40112);
  a.mutable_tcp_info()->set_state("ESTABLISHED");
  a.mutable_tcp_info()->mutable_rtt()->set_nanos(34000);
  a.mutable_tcp_info()->set_snd_mss(1448);
  a.mutable_tcp_info()->set_congestion("cubic");
  const std::string text = FormatTcpAttempt(a);
  EXPECT_THAT(text, HasSubstr("connected to web:80 (198.18.0.11): seq=2 time=0.142 ms "
                              "local=198.18.0.10:40112\n"));
  EXPECT_THAT(text,
              HasSubstr("  tcp_info: state=ESTABLISHED rtt=0.034/0.000 ms mss=1448/0"));
  EXPECT_THAT(text, HasSubstr("congestion=cubic\n"));
}

TEST(FormatTcpAttempt, FailuresSayWhat) {
  EXPECT_EQ(FormatTcpAttempt(Attempt(v1::OUTCOME_REFUSED)),
            "refused by web:80 (198.18.0.11): seq=2 time=0.142 ms\n");
  v1::TcpAttempt timeout = Attempt(v1::OUTCOME_TIMEOUT);
  timeout.mutable_result()->set_detail("no answer within 3s");
  EXPECT_EQ(FormatTcpAttempt(timeout),
            "timeout to web:80 (198.18.0.11): seq=2 no answer within 3s\n");
  v1::TcpAttempt unreachable = Attempt(v1::OUTCOME_NET_UNREACHABLE);
  unreachable.mutable_result()->set_error("ENETUNREACH");
  unreachable.mutable_result()->set_detail("Network is unreachable");
  EXPECT_EQ(FormatTcpAttempt(unreachable),
            "net unreachable to web:80 (198.18.0.11): seq=2 time=0.142 ms (ENETUNREACH: "
            "Network is unreachable)\n");
}

TEST(FormatTcpAttempt, Ipv6AndBannerEscaping) {
  v1::TcpAttempt a = Attempt(v1::OUTCOME_OK);
  a.mutable_target()->set_host("2001:2::b");
  a.mutable_target()->set_address("2001:2::b");
  a.set_local_address("2001:2::a");
  a.set_local_port(5);
  a.set_banner(std::string("SSH\r\n\x01", 6));
  const std::string text = FormatTcpAttempt(a);
  EXPECT_THAT(text, HasSubstr("connected to [2001:2::b]:80 (2001:2::b)"));
  EXPECT_THAT(text, HasSubstr("local=[2001:2::a]:5"));
  EXPECT_THAT(text, HasSubstr("  banner: SSH\\x0d\\x0a\\x01\n"));
}

TEST(FormatTcpSummary, LikePing) {
  v1::TargetSummary s;
  s.mutable_target()->set_host("web");
  s.mutable_target()->set_port(80);
  s.mutable_target()->set_address("198.18.0.11");
  s.set_sent(3);
  s.set_received(2);
  s.set_loss_percent(100.0 / 3);
  (*s.mutable_outcomes())["OUTCOME_OK"] = 2;
  (*s.mutable_outcomes())["OUTCOME_REFUSED"] = 1;
  s.mutable_rtt()->set_count(2);
  s.mutable_rtt()->mutable_min()->set_nanos(101000);
  s.mutable_rtt()->mutable_avg()->set_nanos(121600);
  s.mutable_rtt()->mutable_max()->set_nanos(142000);
  s.mutable_rtt()->mutable_stddev()->set_nanos(20500);
  EXPECT_EQ(FormatTcpSummary(s),
            "--- web:80 (198.18.0.11) tcp connect statistics ---\n"
            "3 attempts, 2 connected, 33.3% failed (REFUSED 1)\n"
            "connect min/avg/max/mdev = 0.101/0.122/0.142/0.021 ms\n");
}

TEST(FormatDropped, CountsAndTotal) {
  v1::Dropped d;
  d.set_count(5);
  d.set_total(12);
  d.set_reason("slow");
  EXPECT_EQ(FormatDropped(d), "!! 5 events dropped by the agent (12 in all): slow\n");
}

absl::StatusOr<v1::TcpConnectRequest> Build(std::vector<std::string> args) {
  auto parsed = OptionParser(TcpOptions()).Parse(args);
  if (!parsed.ok()) return parsed.status();
  return BuildTcpRequest(*parsed);
}

TEST(BuildTcpRequest, MapsOptionsToTheRequest) {
  auto request =
      Build({"-c",  "5",      "-i",          "0.2",    "-W",     "500ms", "--concurrency",
             "7",   "-I",     "198.18.0.10", "--info", "-6",     "-t",    "9",
             "-Q",  "16",     "--send",      "HI",     "--read", "10",    "--graceful",
             "a:1", "[::1]:2"});
  ASSERT_THAT(request, IsOk());
  EXPECT_EQ(request->targets_size(), 2);
  EXPECT_EQ(request->count(), 5u);
  EXPECT_EQ(request->interval().nanos(), 200000000);
  EXPECT_EQ(request->timeout().nanos(), 500000000);
  EXPECT_EQ(request->concurrency(), 7u);
  EXPECT_EQ(request->options().source_address(), "198.18.0.10");
  EXPECT_TRUE(request->tcp_info());
  EXPECT_EQ(request->family(), v1::ADDRESS_FAMILY_IPV6);
  EXPECT_EQ(request->options().ttl(), 9u);
  EXPECT_EQ(request->options().tos(), 16u);
  EXPECT_EQ(request->send_payload(), "HI");
  EXPECT_EQ(request->read_bytes(), 10u);
  EXPECT_TRUE(request->graceful_close());
  auto by_interface = Build({"-I", "eth0", "a:1"});
  ASSERT_THAT(by_interface, IsOk());
  EXPECT_EQ(by_interface->options().interface(), "eth0");
}

TEST(BuildTcpRequest, RejectsBadOptionsNamingThem) {
  EXPECT_THAT(Build({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no target")));
  EXPECT_THAT(Build({"-c", "x", "a:1"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-c/--count: 'x'")));
  EXPECT_THAT(Build({"-i", "soon", "a:1"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-i/--interval")));
  EXPECT_THAT(Build({"-4", "-6", "a:1"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-4 and -6")));
  EXPECT_THAT(Build({"-t", "0", "a:1"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-t/--ttl: '0'")));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
