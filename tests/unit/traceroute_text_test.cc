// traceroute -n's lines from probe events.
#include "client/output/traceroute_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/commands/mtr_command.h"
#include "client/commands/traceroute_command.h"
#include "client/output/mtr_text.h"
#include "client/output/tracepath_text.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

v1::TracerouteReply Probe(uint32_t ttl, uint32_t probe, const std::string& address,
                          int64_t rtt_ns, v1::Outcome outcome = v1::OUTCOME_TIME_EXCEEDED,
                          uint32_t type = 11, uint32_t code = 0) {
  v1::TracerouteReply reply;
  reply.mutable_target()->set_family(v1::ADDRESS_FAMILY_IPV4);
  reply.set_ttl(ttl);
  reply.set_probe(probe);
  reply.mutable_result()->set_outcome(outcome);
  if (outcome != v1::OUTCOME_TIMEOUT) {
    reply.set_address(address);
    reply.mutable_result()->set_reported_by(address);
    reply.mutable_result()->set_icmp_type(type);
    reply.mutable_result()->set_icmp_code(code);
    reply.mutable_rtt()->set_nanos(static_cast<int32_t>(rtt_ns));
  }
  return reply;
}

TEST(TracerouteText, HeaderAndLinesAsTracerouteN) {
  v1::Endpoint target;
  target.set_host("dst.lab");
  target.set_address("198.18.3.2");
  EXPECT_EQ(FormatTracerouteHeader(target, 30, 60),
            "traceroute to dst.lab (198.18.3.2), 30 hops max, 60 byte packets\n");
  EXPECT_EQ(FormatTracerouteLine(
                1, -1,
                {Probe(1, 0, "198.18.0.2", 123000), Probe(1, 1, "198.18.0.2", 101000),
                 Probe(1, 2, "198.18.0.2", 99000)}),
            " 1  198.18.0.2  0.123 ms  0.101 ms  0.099 ms\n");
  // A timeout, then a new address, then the first again.
  EXPECT_EQ(FormatTracerouteLine(
                2, -1,
                {Probe(2, 0, "", 0, v1::OUTCOME_TIMEOUT),
                 Probe(2, 1, "198.18.1.2", 200000), Probe(2, 2, "198.18.9.2", 300000)}),
            " 2  * 198.18.1.2  0.200 ms 198.18.9.2  0.300 ms\n");
  EXPECT_EQ(FormatTracerouteLine(
                3, -1,
                {Probe(3, 0, "198.18.2.1", 311000, v1::OUTCOME_NET_UNREACHABLE, 3, 0),
                 Probe(3, 1, "198.18.2.1", 280000, v1::OUTCOME_PROHIBITED, 3, 13)}),
            " 3  198.18.2.1  0.311 ms !N  0.280 ms !X\n");
  EXPECT_EQ(FormatTracerouteLine(4, 2, {Probe(4, 0, "", 0, v1::OUTCOME_TIMEOUT)}),
            " 4  (flow 2) *\n");
}

// Events come per probe index in TTL order, the indexes interleaved: a line
// is printed once all its probes came, lower TTLs first.
TEST(TracerouteText, LinesComeCompleteAndInOrder) {
  TracerouteLines lines(2, 1);
  EXPECT_EQ(lines.Add(Probe(1, 0, "198.18.0.2", 1000)), "");
  EXPECT_EQ(lines.Add(Probe(2, 0, "198.18.1.2", 2000)), "");
  EXPECT_EQ(lines.Add(Probe(1, 1, "198.18.0.2", 3000)),
            " 1  198.18.0.2  0.001 ms  0.003 ms\n");
  EXPECT_EQ(lines.Add(Probe(2, 1, "198.18.1.2", 4000)),
            " 2  198.18.1.2  0.002 ms  0.004 ms\n");
  EXPECT_EQ(lines.Add(Probe(3, 0, "198.18.2.2", 5000)), "");
  EXPECT_EQ(lines.Flush(), " 3  198.18.2.2  0.005 ms\n");
  EXPECT_EQ(lines.Flush(), "");
}

absl::StatusOr<v1::TracerouteRequest> Build(const std::vector<std::string>& args) {
  auto parsed = OptionParser(TracerouteOptions()).Parse(args);
  if (!parsed.ok()) return parsed.status();
  return BuildTracerouteRequest(*parsed);
}

// traceroute's flags, to the request's fields; ranges are the agent's.
TEST(BuildTracerouteRequest, TracerouteFlags) {
  auto request =
      Build({"-n", "-I", "-f", "2", "-m", "9", "-q", "4", "-w", "1.5", "-t", "0x10", "-s",
             "198.18.0.1", "-4", "--flows", "8", "198.18.3.2", "100"});
  ASSERT_THAT(request, ::netprobe::testing::IsOk());
  EXPECT_EQ(request->target(), "198.18.3.2");
  EXPECT_EQ(request->method(), v1::TRACEROUTE_METHOD_ICMP);
  EXPECT_EQ(request->first_ttl(), 2u);
  EXPECT_EQ(request->max_ttl(), 9u);
  EXPECT_EQ(request->probes_per_hop(), 4u);
  EXPECT_EQ(request->wait().seconds(), 1);
  EXPECT_EQ(request->wait().nanos(), 500000000);
  EXPECT_EQ(request->options().tos(), 16u);
  EXPECT_EQ(request->options().source_address(), "198.18.0.1");
  EXPECT_EQ(request->family(), v1::ADDRESS_FAMILY_IPV4);
  EXPECT_EQ(request->flows(), 8u);
  EXPECT_EQ(request->packet_length(), 100u);
  EXPECT_FALSE(request->has_port());

  auto udp = Build({"-p", "0", "-i", "eth0", "2001:2::1"});
  ASSERT_THAT(udp, ::netprobe::testing::IsOk());
  EXPECT_EQ(udp->method(), v1::TRACEROUTE_METHOD_UDP);
  EXPECT_TRUE(udp->has_port());  // 0 goes to the agent, which names the limit
  EXPECT_EQ(udp->options().interface(), "eth0");
  EXPECT_FALSE(udp->has_first_ttl());

  auto tcp = Build({"-T", "-p", "443", "198.18.3.2"});
  ASSERT_THAT(tcp, ::netprobe::testing::IsOk());
  EXPECT_EQ(tcp->method(), v1::TRACEROUTE_METHOD_TCP);
  EXPECT_EQ(tcp->port(), 443u);
  auto tcp_default = Build({"--tcp", "198.18.3.2"});
  ASSERT_THAT(tcp_default, ::netprobe::testing::IsOk());
  EXPECT_FALSE(tcp_default->has_port());  // the agent's default: 80

  // -l / --flow-label (traceroute's -l): set only when given, 0 included.
  auto labelled = Build({"-6", "-l", "12345", "2001:2::1"});
  ASSERT_THAT(labelled, ::netprobe::testing::IsOk());
  ASSERT_TRUE(labelled->has_flow_label());
  EXPECT_EQ(labelled->flow_label(), 12345u);
  auto zero = Build({"--flow-label", "0", "2001:2::1"});
  ASSERT_THAT(zero, ::netprobe::testing::IsOk());
  EXPECT_TRUE(zero->has_flow_label());
  EXPECT_FALSE(udp->has_flow_label());
  EXPECT_FALSE(Build({"-l", "label", "2001:2::1"}).ok());

  EXPECT_FALSE(Build({"-I", "-U", "x"}).ok());
  EXPECT_FALSE(Build({"-T", "-I", "x"}).ok());
  EXPECT_FALSE(Build({"-T", "-U", "x"}).ok());
  EXPECT_FALSE(Build({}).ok());
  EXPECT_FALSE(Build({"x", "sixty"}).ok());
}

// mtr --report -n's layout, column for column (as mtr 0.95 prints it:
// "  1.|-- 127.0.0.1                  0.0%     3    0.0   0.1   0.0   0.1   0.0").
TEST(MtrText, ReportAsMtrReportN) {
  MtrTable table(1);
  for (uint32_t round = 0; round < 4; ++round) {
    v1::TracerouteReply a = Probe(1, 0, "198.18.0.2", 100'000);
    a.set_round(round);
    table.Add(a);
    v1::TracerouteReply b =
        round == 1 ? Probe(2, 0, "", 0, v1::OUTCOME_TIMEOUT)
                   : Probe(2, 0, round == 3 ? "198.18.9.2" : "198.18.1.2", 300'000);
    b.set_round(round);
    table.Add(b);
    v1::TracerouteReply c = Probe(3, 0, "", 0, v1::OUTCOME_TIMEOUT);
    table.Add(c);
  }
  const absl::Time start = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_EQ(
      table.Format("vm", start, absl::UTCTimeZone()),
      "Start: 2027-01-15T08:00:00+0000\n"
      "HOST: vm                          Loss%   Snt   Last   Avg  Best  Wrst StDev\n"
      "  1.|-- 198.18.0.2                 0.0%     4    0.1   0.1   0.1   0.1   0.0\n"
      "  2.|-- 198.18.1.2                25.0%     4    0.3   0.3   0.3   0.3   0.0\n"
      "    |  `|-- 198.18.9.2\n"
      "  3.|-- ???                      100.0%     4    0.0   0.0   0.0   0.0   0.0\n");
  EXPECT_EQ(table.round(), 3u);
}

TEST(MtrCommand, FlagsAsMtrs) {
  OptionParser parser(MtrOptions());
  auto parsed = parser.Parse(
      {"-c", "200", "-i", "0.05", "-u", "-m", "8", "-U", "3", "-Z", "2", "198.18.3.2"});
  ASSERT_THAT(parsed, ::netprobe::testing::IsOk());
  auto request = BuildMtrRequest(*parsed, /*live=*/false);
  ASSERT_THAT(request, ::netprobe::testing::IsOk());
  EXPECT_EQ(request->target(), "198.18.3.2");
  EXPECT_EQ(request->rounds(), 200u);
  EXPECT_EQ(request->interval().nanos(), 50'000'000);
  EXPECT_EQ(request->method(), v1::TRACEROUTE_METHOD_UDP);
  EXPECT_EQ(request->max_ttl(), 8u);
  EXPECT_EQ(request->max_silent_hops(), 3u);
  EXPECT_EQ(request->wait().seconds(), 2);
  // -c unset: 10 for a report, until Ctrl-C for the live table; ICMP.
  auto plain = parser.Parse({"198.18.3.2"});
  ASSERT_THAT(plain, ::netprobe::testing::IsOk());
  EXPECT_EQ(BuildMtrRequest(*plain, false)->rounds(), 10u);
  EXPECT_EQ(BuildMtrRequest(*plain, true)->rounds(), 0u);
  EXPECT_TRUE(BuildMtrRequest(*plain, true)->has_rounds());
  EXPECT_EQ(BuildMtrRequest(*plain, true)->method(), v1::TRACEROUTE_METHOD_ICMP);
}

TEST(TracerouteText, MplsLabelsAfterTheAddressAsTracerouteE) {
  v1::TracerouteReply reply = Probe(3, 0, "198.18.1.2", 250000);
  for (auto [label, bottom] : {std::pair{16001u, false}, std::pair{24005u, true}}) {
    v1::MplsLabel* l = reply.add_mpls();
    l->set_label(label);
    l->set_bottom_of_stack(bottom);
    l->set_ttl(1);
  }
  EXPECT_EQ(FormatTracerouteLine(3, -1, {reply}, true),
            " 3  198.18.1.2 <MPLS:L=16001,E=0,S=0,T=1/L=24005,E=0,S=1,T=1>  0.250 ms\n");
  EXPECT_EQ(FormatTracerouteLine(3, -1, {reply}, false), " 3  198.18.1.2  0.250 ms\n");
}

TEST(TracepathText, LinesAsTracepathN) {
  TracepathLines lines(3);
  v1::TracerouteReply first = Probe(1, 0, "198.18.0.2", 65000);
  first.set_packet_length(1500);
  first.set_reply_ttl(64);
  EXPECT_EQ(lines.Add(first),
            " 1?: [LOCALHOST]                      pmtu 1500\n"
            " 1:  198.18.0.2                                            0.065ms \n");
  v1::TracerouteReply too_big =
      Probe(3, 0, "198.18.1.2", 15000, v1::OUTCOME_PACKET_TOO_BIG, 3, 4);
  too_big.set_packet_length(1500);
  too_big.set_next_hop_mtu(1400);
  EXPECT_EQ(
      lines.Add(too_big),
      " 3:  198.18.1.2                                            0.015ms pmtu 1400\n");
  v1::TracerouteReply asymmetric = Probe(3, 1, "198.18.2.2", 24000);
  asymmetric.set_packet_length(1400);
  asymmetric.set_reply_ttl(63);  // 2 hops back
  EXPECT_EQ(
      lines.Add(asymmetric),
      " 3:  198.18.2.2                                            0.024ms asymm  2 \n");
  // A silent hop: one "no reply" once its 3 tries are spent.
  EXPECT_EQ(lines.Add(Probe(4, 0, "", 0, v1::OUTCOME_TIMEOUT)), "");
  EXPECT_EQ(lines.Add(Probe(4, 1, "", 0, v1::OUTCOME_TIMEOUT)), "");
  EXPECT_EQ(lines.Add(Probe(4, 2, "", 0, v1::OUTCOME_TIMEOUT)), " 4:  no reply\n");
  v1::TracerouteReply reached =
      Probe(5, 0, "198.18.3.2", 40000, v1::OUTCOME_REFUSED, 3, 3);
  reached.set_reached(true);
  reached.set_packet_length(1400);
  reached.set_reply_ttl(60);
  EXPECT_EQ(
      lines.Add(reached),
      " 5:  198.18.3.2                                            0.040ms reached\n");
  v1::TracerouteSummary summary;
  summary.set_path_mtu(1400);
  summary.set_reached_ttl(5);
  EXPECT_EQ(lines.Summary(summary), "     Resume: pmtu 1400 hops 5 back 5 \n");
  summary.set_reached_ttl(0);
  EXPECT_EQ(lines.Summary(summary),
            "     Too many hops: pmtu 1400\n     Resume: pmtu 1400 \n");
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
