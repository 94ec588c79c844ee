#include "client/output/watch_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "netprobe/v1/schedule.pb.h"

namespace netprobe::client {
namespace {
namespace NETPROBE_UNITY_ID {

v1::ScheduledResult PingResult() {
  v1::ScheduledResult result;
  result.set_probe("loopback-ping");
  result.set_kind("Ping");
  result.set_run(3);
  result.mutable_started()->set_seconds(1796418184);  // 2026-12-04T21:03:04Z
  result.mutable_started()->set_nanos(123456789);
  result.set_success(true);
  v1::TargetSummary* summary = result.mutable_summary();
  summary->mutable_target()->set_host("127.0.0.1");
  summary->set_sent(3);
  summary->set_received(3);
  summary->mutable_rtt()->set_count(3);
  summary->mutable_rtt()->mutable_min()->set_nanos(21000);
  summary->mutable_rtt()->mutable_avg()->set_nanos(30000);
  summary->mutable_rtt()->mutable_max()->set_nanos(40000);
  return result;
}

TEST(FormatScheduledResultTest, ALineWithTheFpingSummaryAndTheLabels) {
  v1::ScheduledResult result = PingResult();
  EXPECT_EQ(
      FormatScheduledResult(result),
      "2026-12-04T21:03:04.123Z loopback-ping #3 127.0.0.1 : xmt/rcv/%loss = 3/3/0%, "
      "min/avg/max = 0.021/0.030/0.040\n");
  (*result.mutable_labels())["site"] = "lab";
  (*result.mutable_labels())["az"] = "b";
  EXPECT_EQ(
      FormatScheduledResult(result),
      "2026-12-04T21:03:04.123Z loopback-ping #3 127.0.0.1 : xmt/rcv/%loss = 3/3/0%, "
      "min/avg/max = 0.021/0.030/0.040 {az=\"b\",site=\"lab\"}\n");
}

TEST(FormatScheduledResultTest, ARunThatCouldNotStartSaysWhy) {
  v1::ScheduledResult result = PingResult();
  result.clear_summary();
  result.set_success(false);
  result.set_error("resolve web.invalid: not found");
  EXPECT_EQ(FormatScheduledResult(result),
            "2026-12-04T21:03:04.123Z loopback-ping #3 error: resolve web.invalid: not "
            "found\n");
}

// Issue 19: a scheduled traceroute's line ends with flow 0's path.
TEST(FormatScheduledResultTest, ATracerouteShowsItsPathAndWhereItEnded) {
  v1::ScheduledResult result = PingResult();
  result.set_probe("path");
  result.set_kind("Traceroute");
  result.mutable_summary()->mutable_target()->set_host("198.18.3.2");
  v1::ScheduledTrace* trace = result.mutable_traceroute();
  trace->mutable_summary()->set_reached_ttl(3);
  for (const char* address : {"198.18.0.2", "", "198.18.3.2"}) {
    v1::TracerouteHop* hop = trace->add_hops();
    if (*address != '\0') hop->add_addresses(address);
  }
  trace->add_hops()->set_flow(1);  // other flows are not on the line
  EXPECT_EQ(FormatScheduledResult(result),
            "2026-12-04T21:03:04.123Z path #3 198.18.3.2 : xmt/rcv/%loss = 3/3/0%, "
            "min/avg/max = 0.021/0.030/0.040, path 198.18.0.2 * 198.18.3.2 (reached at "
            "hop 3)\n");
  trace->mutable_summary()->set_reached_ttl(0);
  trace->mutable_hops(0)->add_addresses("198.18.0.3");
  EXPECT_THAT(FormatScheduledResult(result),
              ::testing::HasSubstr(", path 198.18.0.2|198.18.0.3 * 198.18.3.2 (not "
                                   "reached)\n"));
}

// Issue 20: a scheduled throughput test's line ends with its goodput, the
// agent's retransmits and what limited its sending.
TEST(FormatScheduledResultTest, AThroughputTestShowsGoodputAndItsLimit) {
  v1::ScheduledResult result = PingResult();
  result.set_probe("tput");
  result.set_kind("Throughput");
  v1::TargetSummary* summary = result.mutable_summary();
  summary->Clear();
  summary->mutable_target()->set_host("198.18.3.2");
  summary->mutable_target()->set_port(5201);
  summary->set_sent(1);
  summary->set_received(1);
  v1::ThroughputSummary* throughput = result.mutable_throughput();
  throughput->set_remote_results(true);
  throughput->set_limited_by(v1::THROUGHPUT_LIMIT_SEND_BUFFER);
  v1::ThroughputTotals* sent = throughput->add_totals();
  sent->set_agent_sends(true);
  sent->set_receiver_bits_per_second(87.4e6);
  sent->set_retransmits(12);
  v1::ThroughputTotals* stream = throughput->add_totals();  // not on the line
  stream->set_stream_id(1);
  stream->set_agent_sends(true);
  EXPECT_EQ(FormatScheduledResult(result),
            "2026-12-04T21:03:04.123Z tput #3 198.18.3.2 : xmt/rcv/%loss = 1/1/0%, "
            "send 87.4 Mbit/s, 12 retransmits, limited by the send buffer\n");
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
