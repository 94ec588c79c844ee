#include "client/output/watch_text.h"

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

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::client
