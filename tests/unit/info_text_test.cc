#include "client/output/info_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "client/exit_codes.h"
#include "client/output/json_lines.h"
#include "netprobe/v1/agent.pb.h"
#include "netprobe/v1/tcp.pb.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

v1::AgentInfo MakeInfo() {
  v1::AgentInfo info;
  info.set_version("0.1.0");
  info.set_grpc_version("1.51.1");
  info.set_hostname("lab-agent");
  info.set_kernel("Linux 6.1.0-18-amd64 x86_64");
  info.mutable_uptime()->set_seconds(3723);
  info.set_pid(4242);
  info.set_uid(0);
  info.add_listen_addresses("unix:/run/netprobe/agent.sock");
  info.add_listen_addresses("127.0.0.1:7431");
  info.add_capabilities("CAP_NET_RAW");
  info.add_capabilities("CAP_NET_ADMIN");
  auto* tcp = info.add_probes();
  tcp->set_name("TcpConnect");
  tcp->set_implemented(true);
  auto* capture = info.add_probes();
  capture->set_name("Capture");
  capture->set_implemented(false);
  capture->set_unavailable_reason("not built");

  auto* lo = info.add_interfaces();
  lo->set_name("lo");
  lo->set_index(1);
  lo->add_flags("up");
  lo->add_flags("loopback");
  lo->add_flags("running");
  lo->set_mtu(65536);
  auto* lo4 = lo->add_ipv4();
  lo4->set_address("127.0.0.1");
  lo4->set_prefix_length(8);
  auto* lo6 = lo->add_ipv6();
  lo6->set_address("::1");
  lo6->set_prefix_length(128);

  auto* eth = info.add_interfaces();
  eth->set_name("eth0");
  eth->set_index(2);
  eth->add_flags("up");
  eth->add_flags("broadcast");
  eth->set_mtu(1500);
  eth->set_mac("02:00:c6:12:00:02");
  auto* eth4 = eth->add_ipv4();
  eth4->set_address("198.18.0.2");
  eth4->set_prefix_length(24);
  eth4->set_broadcast("198.18.0.255");
  auto* eth6 = eth->add_ipv6();
  eth6->set_address("2001:db8::2");
  eth6->set_prefix_length(64);
  auto* link6 = eth->add_ipv6();
  link6->set_address("fe80::c6ff:fe12:2");
  link6->set_prefix_length(64);
  return info;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n');
}

TEST(FormatAgentInfoTest, WholeOutput) {
  EXPECT_EQ(FormatAgentInfo(MakeInfo()),
            "agent      netprobe-agent 0.1.0 (gRPC 1.51.1), pid 4242, uid 0, up 1h2m3s\n"
            "host       lab-agent, Linux 6.1.0-18-amd64 x86_64\n"
            "listening  unix:/run/netprobe/agent.sock 127.0.0.1:7431\n"
            "metrics    (none: no --metrics-listen)\n"
            "schedule   (none)\n"
            "caps       CAP_NET_RAW CAP_NET_ADMIN\n"
            "probes     TcpConnect\n"
            "not yet    Capture\n"
            "interfaces\n"
            "  1: lo <up,loopback,running> mtu 65536\n"
            "      inet 127.0.0.1/8\n"
            "      inet6 ::1/128\n"
            "  2: eth0 <up,broadcast> mtu 1500 link/ether 02:00:c6:12:00:02\n"
            "      inet 198.18.0.2/24 brd 198.18.0.255\n"
            "      inet6 2001:db8::2/64\n"
            "      inet6 fe80::c6ff:fe12:2/64\n");
}

TEST(FormatAgentInfoTest, UserFollowsTheUid) {
  v1::AgentInfo info = MakeInfo();
  info.set_uid(65534);
  info.set_user("nobody");
  EXPECT_EQ(Lines(FormatAgentInfo(info))[0],
            "agent      netprobe-agent 0.1.0 (gRPC 1.51.1), pid 4242, uid 65534 "
            "(nobody), up 1h2m3s");
}

TEST(FormatAgentInfoTest, SecurityLineWhenTheAgentSendsIt) {
  v1::AgentInfo info = MakeInfo();
  EXPECT_THAT(FormatAgentInfo(info), Not(HasSubstr("security")));
  info.mutable_transport_security();
  EXPECT_THAT(FormatAgentInfo(info),
              HasSubstr("\nsecurity   tcp: plaintext; unix: callers by uid\n"));
  info.mutable_transport_security()->set_tls(true);
  info.mutable_transport_security()->set_client_certificates(true);
  info.mutable_transport_security()->set_tokens(true);
  EXPECT_THAT(
      FormatAgentInfo(info),
      HasSubstr("\nsecurity   tcp: mutual TLS, bearer tokens; unix: callers by uid\n"));
}

TEST(FormatAgentInfoTest, InterfaceLines) {
  const std::vector<std::string> lines = Lines(FormatAgentInfo(MakeInfo()));
  EXPECT_THAT(lines,
              Contains("  2: eth0 <up,broadcast> mtu 1500 link/ether 02:00:c6:12:00:02"));
  EXPECT_THAT(lines, Contains("      inet 198.18.0.2/24 brd 198.18.0.255"));
  EXPECT_THAT(lines, Contains("      inet6 2001:db8::2/64"));
  // No MAC, no "link/ether"; no broadcast, no "brd".
  EXPECT_THAT(lines, Contains("  1: lo <up,loopback,running> mtu 65536"));
  EXPECT_THAT(lines, Contains("      inet 127.0.0.1/8"));
}

TEST(FormatAgentInfoTest, ProbesThePolicyDisablesAreListedApart) {
  v1::AgentInfo info = MakeInfo();
  auto* broadcast = info.add_probes();
  broadcast->set_name("Broadcast");
  broadcast->set_implemented(true);
  broadcast->set_unavailable_reason("disabled by the agent's policy");
  const std::vector<std::string> lines = Lines(FormatAgentInfo(info));
  EXPECT_THAT(lines, Contains("probes     TcpConnect"));
  EXPECT_THAT(lines, Contains("off        Broadcast (the agent's policy)"));
  EXPECT_THAT(lines, Contains("not yet    Capture"));
}

// Issue 18: info names the metrics endpoint and the schedule in force.
TEST(FormatAgentInfoTest, MetricsListenerAndScheduleLines) {
  v1::AgentInfo info = MakeInfo();
  info.set_metrics("https://198.18.0.10:9431/metrics (basic auth)");
  v1::ScheduledProbeInfo* ping = info.add_schedule();
  ping->set_name("loopback-ping");
  ping->set_kind("Ping");
  ping->mutable_interval()->set_seconds(10);
  ping->add_targets("127.0.0.1");
  ping->add_targets("::1");
  (*ping->mutable_labels())["tier"] = "db";
  (*ping->mutable_labels())["site"] = "lab \"a\"";
  v1::ScheduledProbeInfo* tcp = info.add_schedule();
  tcp->set_name("web");
  tcp->set_kind("TcpConnect");
  tcp->mutable_interval()->set_nanos(1500000000 % 1000000000);
  tcp->mutable_interval()->set_seconds(1);
  tcp->add_targets("198.18.0.1:443");
  // Issue 23: a mesh entry shows how many peers its names expanded to.
  v1::ScheduledProbeInfo* mesh = info.add_schedule();
  mesh->set_name("mesh");
  mesh->set_kind("Mesh");
  mesh->mutable_interval()->set_seconds(60);
  mesh->add_targets("mesh.lab");
  mesh->add_peers("198.18.0.11");
  mesh->add_peers("198.18.0.12");
  const std::vector<std::string> lines = Lines(FormatAgentInfo(info));
  EXPECT_THAT(lines,
              Contains("metrics    https://198.18.0.10:9431/metrics (basic auth)"));
  EXPECT_THAT(lines, Contains("schedule   loopback-ping: Ping every 10s to 127.0.0.1 ::1 "
                              "{site=\"lab \\\"a\\\"\",tier=\"db\"}"));
  EXPECT_THAT(lines, Contains("schedule   web: TcpConnect every 1.5s to 198.18.0.1:443"));
  EXPECT_THAT(lines, Contains("schedule   mesh: Mesh every 1m to mesh.lab (2 peers)"));
  EXPECT_THAT(lines, Not(Contains("schedule   (none)")));
}

TEST(FormatAgentInfoTest, IperfServerLineOnlyWhenItRuns) {
  v1::AgentInfo info = MakeInfo();
  EXPECT_THAT(FormatAgentInfo(info), Not(HasSubstr("iperf3")));
  v1::IperfServerInfo* iperf = info.mutable_iperf_server();
  iperf->set_address("[::]:5201");
  iperf->set_port(5201);
  iperf->set_max_tests(2);
  iperf->mutable_max_duration()->set_seconds(60);
  iperf->set_tests_started(7);
  iperf->set_tests_completed(5);
  iperf->set_active_tests(1);
  (*iperf->mutable_refused())["busy"] = 3;
  (*iperf->mutable_refused())["timeout"] = 1;
  (*iperf->mutable_refused())["over_limits"] = 0;
  EXPECT_THAT(Lines(FormatAgentInfo(info)),
              Contains("iperf3     [::]:5201: 7 tests (5 completed, 1 running), refused: "
                       "busy 3, timeout 1; at most 2 at once, 1m each, clients all"));
  iperf->add_allow("198.18.0.0/15");
  iperf->add_allow("2001:2::/48");
  (*iperf->mutable_refused())["busy"] = 0;
  (*iperf->mutable_refused())["timeout"] = 0;
  EXPECT_THAT(Lines(FormatAgentInfo(info)),
              Contains("iperf3     [::]:5201: 7 tests (5 completed, 1 running), refused: "
                       "none; at most 2 at once, 1m each, clients 198.18.0.0/15 "
                       "2001:2::/48"));
}

TEST(FormatAgentInfoTest, EmptyListsSayNone) {
  v1::AgentInfo info;
  info.set_version("0.1.0");
  const std::string text = FormatAgentInfo(info);
  EXPECT_THAT(text, HasSubstr("caps       (none)\n"));
  EXPECT_THAT(text, HasSubstr("probes     (none)\n"));
  EXPECT_THAT(text, Not(HasSubstr("not yet")));
  EXPECT_THAT(text, HasSubstr(", up 0s\n"));
  EXPECT_TRUE(text.size() > 0 && text.back() == '\n');
  EXPECT_THAT(text, HasSubstr("interfaces\n"));
}

TEST(FormatUptimeTest, Cases) {
  EXPECT_EQ(FormatUptime(0), "0s");
  EXPECT_EQ(FormatUptime(59), "59s");
  EXPECT_EQ(FormatUptime(60), "1m0s");
  EXPECT_EQ(FormatUptime(312), "5m12s");
  EXPECT_EQ(FormatUptime(3599), "59m59s");
  EXPECT_EQ(FormatUptime(3600), "1h0m0s");
  EXPECT_EQ(FormatUptime(3723), "1h2m3s");
  EXPECT_EQ(FormatUptime(86399), "23h59m59s");
  EXPECT_EQ(FormatUptime(86400), "1d0h0m");
  EXPECT_EQ(FormatUptime(3 * 86400 + 4 * 3600 + 5 * 60 + 6), "3d4h5m");
  EXPECT_EQ(FormatUptime(400 * 86400), "400d0h0m");
}

TEST(JsonLinesTest, OneLineCamelCaseWithZeroValues) {
  v1::TcpConnectEvent event;
  v1::TcpAttempt* attempt = event.mutable_attempt();
  attempt->set_sequence(3);
  attempt->mutable_target()->set_host("198.18.0.2");
  attempt->mutable_target()->set_port(80);
  const std::string line = ToJsonLine(event);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.back(), '}');
  EXPECT_THAT(line, HasSubstr("\"sequence\":3"));
  EXPECT_THAT(line, HasSubstr("\"host\":\"198.18.0.2\""));
  // camelCase keys, zero values included.
  EXPECT_THAT(line, HasSubstr("\"localAddress\":\"\""));
  EXPECT_THAT(line, HasSubstr("\"localPort\":0"));
  EXPECT_THAT(line, HasSubstr("\"address\":\"\""));
  EXPECT_THAT(line, Not(HasSubstr("local_port")));
  EXPECT_THAT(line, Not(HasSubstr(" ")));
}

TEST(JsonLinesTest, EveryLineOfAKindHasTheSameKeys) {
  v1::AgentInfo empty;
  const std::string line = ToJsonLine(empty);
  EXPECT_THAT(line, HasSubstr("\"grpcVersion\":\"\""));
  EXPECT_THAT(line, HasSubstr("\"listenAddresses\":[]"));
  EXPECT_THAT(line, HasSubstr("\"pid\":0"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(JsonLinesTest, WriteJsonLineAddsNewline) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  ASSERT_NE(out, nullptr);
  v1::GetInfoRequest request;
  WriteJsonLine(out, request);
  WriteJsonLine(out, request);
  fclose(out);
  const std::string text(buffer, size);
  free(buffer);
  EXPECT_EQ(text, "{}\n{}\n");
}

TEST(ExitCodeForTest, Mapping) {
  using grpc::Status;
  using grpc::StatusCode;
  EXPECT_EQ(ExitCodeFor(Status::OK), kExitOk);
  EXPECT_EQ(ExitCodeFor(Status(StatusCode::INVALID_ARGUMENT, "")), 2);
  EXPECT_EQ(ExitCodeFor(Status(StatusCode::NOT_FOUND, "")), 2);
  EXPECT_EQ(ExitCodeFor(Status(StatusCode::OUT_OF_RANGE, "")), 2);
  EXPECT_EQ(ExitCodeFor(Status(StatusCode::UNAVAILABLE, "")), 3);
  EXPECT_EQ(ExitCodeFor(Status(StatusCode::DEADLINE_EXCEEDED, "")), 3);
  EXPECT_EQ(ExitCodeFor(Status(StatusCode::PERMISSION_DENIED, "")), 4);
  EXPECT_EQ(ExitCodeFor(Status(StatusCode::UNIMPLEMENTED, "")), 4);
  EXPECT_EQ(ExitCodeFor(Status(StatusCode::INTERNAL, "")), 4);
  EXPECT_EQ(ExitCodeFor(Status(StatusCode::FAILED_PRECONDITION, "")), 4);
  EXPECT_EQ(ExitCodeFor(Status(StatusCode::OK, "")), 0);
  EXPECT_EQ(kExitOk, 0);
  EXPECT_EQ(kExitProbeFailed, 1);
  EXPECT_EQ(kExitBadArguments, 2);
  EXPECT_EQ(kExitAgentUnreachable, 3);
  EXPECT_EQ(kExitAgentError, 4);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
