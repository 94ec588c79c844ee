// traceroute -n's lines from probe events.
#include "client/output/traceroute_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
