// Issue 20: a scheduled throughput test's summary (fixed, as the probe emits
// it) through the run's collector, its results and ScheduleMetrics, to the
// exposition text: goodput per direction, retransmits, the limit verdict,
// success, no stale series, and what promtool says of it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/metrics/registry.h"
#include "agent/schedule/probe_metrics.h"
#include "agent/schedule/run_collector.h"
#include "agent/schedule/scheduler.h"
#include "agent/schedule/single_run.h"
#include "common/proto_time.h"
#include "tests/test_support/promtool.h"

namespace netprobe {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHost[] = "198.18.3.2";
constexpr char kTarget[] = "198.18.3.2:5201";

v1::ThroughputTotals Totals(uint32_t stream_id, bool agent_sends, uint64_t receiver_bytes,
                            double receiver_bps, int64_t retransmits) {
  v1::ThroughputTotals totals;
  totals.set_stream_id(stream_id);
  totals.set_agent_sends(agent_sends);
  totals.set_seconds(1);
  totals.set_sender_bytes(receiver_bytes + 1000);
  totals.set_sender_bits_per_second(receiver_bps * 1.01);
  totals.set_receiver_bytes(receiver_bytes);
  totals.set_receiver_bits_per_second(receiver_bps);
  totals.set_retransmits(retransmits);
  return totals;
}

// The summary event a 1 s TCP test that sent on two streams ends with.
v1::ThroughputEvent SendSummary(
    v1::ThroughputLimit verdict = v1::THROUGHPUT_LIMIT_NETWORK) {
  v1::ThroughputEvent event;
  v1::ThroughputSummary* summary = event.mutable_summary();
  summary->mutable_target()->set_host(kHost);
  summary->mutable_target()->set_port(5201);
  summary->mutable_target()->set_address(kHost);
  *summary->add_totals() = Totals(1, true, 60000000, 480e6, 3);
  *summary->add_totals() = Totals(3, true, 55000000, 440e6, 4);
  *summary->add_totals() = Totals(0, true, 115000000, 920e6, 7);
  summary->set_remote_results(true);
  summary->set_limited_by(verdict);
  return event;
}

v1::ThroughputEvent IntervalEvent() {
  v1::ThroughputEvent event;
  event.mutable_interval()->set_stream_id(0);
  event.mutable_interval()->set_bits_per_second(1e9);
  return event;
}

class ThroughputMetricsTest : public ::testing::Test {
 protected:
  ThroughputMetricsTest() : metrics_(&registry_, nullptr) {
    spec_.name = "tput";
    spec_.labels = {{"site", "lab"}};
    v1::ThroughputRequest request;
    request.set_target(kHost);
    spec_.request = request;
  }

  // One run of `events` through the collector, the results and the metrics.
  void Run(std::vector<v1::ThroughputEvent> events, absl::Status status = {}) {
    std::optional<RunOutcome> outcome;
    auto collector = std::make_shared<RunCollector<v1::ThroughputEvent>>(
        [this](const v1::Endpoint& target, absl::Duration rtt) {
          metrics_.OnRtt(spec_, TargetLabel(target), rtt);
        },
        [&outcome](RunOutcome done) { outcome = std::move(done); });
    for (v1::ThroughputEvent& event : events) collector->Emit(std::move(event));
    collector->Finish(std::move(status), {});
    ASSERT_TRUE(outcome.has_value());
    results_ = ResultsOf(spec_, ++runs_, *outcome);
    metrics_.OnResults(spec_, results_, outcome->duration);
  }

  // The value of `name`{the probe's labels[,extra]} in a fresh scrape.
  std::optional<double> Value(const std::string& name,
                              const std::string& extra = "") const {
    const std::string series =
        absl::StrCat(name, R"({probe="tput",kind="Throughput",target=")", kTarget,
                     R"(",site="lab")", extra.empty() ? "" : ",", extra, "} ");
    for (absl::string_view line : absl::StrSplit(registry_.Render(), '\n')) {
      double value;
      if (absl::ConsumePrefix(&line, series) && absl::SimpleAtod(line, &value)) {
        return value;
      }
    }
    return std::nullopt;
  }
  std::optional<double> Bps(const char* direction) const {
    return Value("netprobe_throughput_bytes_per_second",
                 absl::StrCat(R"(direction=")", direction, R"(")"));
  }
  std::optional<double> Limit(const char* limit) const {
    return Value("netprobe_throughput_limited_by",
                 absl::StrCat(R"(limit=")", limit, R"(")"));
  }

  metrics::Registry registry_;
  ScheduleMetrics metrics_;
  ScheduledProbeSpec spec_;
  std::vector<v1::ScheduledResult> results_;
  uint64_t runs_ = 0;
};

TEST_F(ThroughputMetricsTest, ASendingTestBecomesGoodputRetransmitsAndItsLimit) {
  Run({IntervalEvent(), IntervalEvent(), SendSummary()});
  // The receiver's goodput summed over the streams (stream_id 0), bytes/s.
  EXPECT_EQ(Bps("send"), 920e6 / 8);
  EXPECT_EQ(Bps("receive"), std::nullopt);
  EXPECT_EQ(Value("netprobe_throughput_retransmits"), 7);
  EXPECT_EQ(Limit("network"), 1);
  EXPECT_EQ(Limit("send_buffer"), 0);
  EXPECT_EQ(Limit("receive_window"), 0);
  EXPECT_EQ(Limit("application"), 0);
  // The usual series of every scheduled probe: one test, answered.
  EXPECT_EQ(Value("netprobe_probe_success"), 1);
  EXPECT_EQ(Value("netprobe_probe_sent_total"), 1);
  EXPECT_EQ(Value("netprobe_probe_received_total"), 1);
  EXPECT_EQ(Value("netprobe_probe_loss_ratio"), 0);
  EXPECT_THAT(registry_.Render(),
              HasSubstr(R"(netprobe_probe_runs_total{probe="tput",kind="Throughput",)"
                        R"(site="lab"} 1)"));
  EXPECT_THAT(registry_.Render(), Not(HasSubstr("netprobe_probe_rtt_avg_seconds{")));
  // The result carries the summary for WatchResults.
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].kind(), "Throughput");
  EXPECT_TRUE(results_[0].success());
  EXPECT_EQ(results_[0].throughput().totals_size(), 3);
  EXPECT_EQ(results_[0].summary().target().port(), 5201u);
}

TEST_F(ThroughputMetricsTest, AReverseTestHasReceiveGoodputAndNoVerdictOrRetransmits) {
  v1::ThroughputEvent event;
  v1::ThroughputSummary* summary = event.mutable_summary();
  summary->mutable_target()->set_host(kHost);
  summary->mutable_target()->set_port(5201);
  *summary->add_totals() = Totals(1, false, 120000000, 960e6, 2);
  *summary->add_totals() = Totals(0, false, 120000000, 960e6, 2);
  summary->set_remote_results(true);
  Run({event});
  EXPECT_EQ(Bps("receive"), 960e6 / 8);
  EXPECT_EQ(Bps("send"), std::nullopt);
  // The far end's retransmits are not the agent's; no verdict on its sending.
  EXPECT_EQ(Value("netprobe_throughput_retransmits"), std::nullopt);
  EXPECT_THAT(registry_.Render(), Not(HasSubstr("limit=")));
  EXPECT_EQ(Value("netprobe_probe_success"), 1);
}

TEST_F(ThroughputMetricsTest, ABidirectionalTestHasBothDirections) {
  v1::ThroughputEvent event = SendSummary(v1::THROUGHPUT_LIMIT_SEND_BUFFER);
  *event.mutable_summary()->add_totals() = Totals(0, false, 50000000, 400e6, -1);
  Run({event});
  EXPECT_EQ(Bps("send"), 920e6 / 8);
  EXPECT_EQ(Bps("receive"), 400e6 / 8);
  EXPECT_EQ(Limit("send_buffer"), 1);
  EXPECT_EQ(Limit("network"), 0);
}

TEST_F(ThroughputMetricsTest, FailedRunsLeaveNoStaleGoodput) {
  Run({SendSummary()});
  // The far end vanished mid-test: no result exchange, so what it received
  // is not known; the agent's own side (retransmits, verdict) is.
  v1::ThroughputEvent cut = SendSummary(v1::THROUGHPUT_LIMIT_RECEIVE_WINDOW);
  cut.mutable_summary()->set_remote_results(false);
  cut.mutable_summary()->set_error("the server stopped answering for 5s");
  for (v1::ThroughputTotals& totals : *cut.mutable_summary()->mutable_totals()) {
    totals.set_receiver_bytes(0);
    totals.set_receiver_bits_per_second(0);
  }
  Run({cut});
  EXPECT_EQ(Value("netprobe_probe_success"), 0);
  EXPECT_EQ(Value("netprobe_probe_loss_ratio"), 1);
  EXPECT_EQ(Bps("send"), std::nullopt);
  EXPECT_EQ(Value("netprobe_throughput_retransmits"), 7);
  EXPECT_EQ(Limit("receive_window"), 1);
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].error(), "");  // the run itself ended normally
  EXPECT_EQ(results_[0].throughput().error(), "the server stopped answering for 5s");

  // The far end refused (policy, resolution): no summary at all. The result
  // is labelled as the summaries are, host:port with iperf3's port.
  Run({}, absl::PermissionDeniedError("policy: the Throughput probe is not enabled"));
  EXPECT_EQ(Value("netprobe_probe_success"), 0);
  EXPECT_THAT(registry_.Render(),
              Not(HasSubstr("netprobe_throughput_bytes_per_second{")));
  EXPECT_THAT(registry_.Render(), Not(HasSubstr("netprobe_throughput_retransmits{")));
  EXPECT_THAT(registry_.Render(), Not(HasSubstr("netprobe_throughput_limited_by{")));
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(TargetLabel(results_[0].summary().target()), kTarget);
  EXPECT_THAT(results_[0].error(), HasSubstr("not enabled"));

  metrics_.OnRemoved("tput");
  EXPECT_THAT(registry_.Render(), Not(HasSubstr(R"(probe="tput")")));
}

TEST_F(ThroughputMetricsTest, PromtoolAcceptsTheThroughputSeries) {
  if (!testing::HavePromtool()) {
    FAIL() << "promtool not found (scripts/install-deps.sh installs prometheus)";
  }
  v1::ThroughputEvent event = SendSummary();
  *event.mutable_summary()->add_totals() = Totals(0, false, 50000000, 400e6, -1);
  Run({event});
  const std::string text = registry_.Render();
  testing::RunResult run = testing::PromtoolCheckMetrics(text);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err << "\n" << text;
  EXPECT_EQ(run.out + run.err, "") << text;
}

TEST(ThroughputTargetLabelTest, IperfsPortWhenTheTargetHasNone) {
  v1::ThroughputRequest request;
  request.set_target("198.18.3.2");
  EXPECT_EQ(ThroughputTargetLabel(request), "198.18.3.2:5201");
  EXPECT_EQ(RequestTargets(request), std::vector<std::string>{"198.18.3.2:5201"});
  request.set_target("[2001:db8::1]:5202");
  EXPECT_EQ(ThroughputTargetLabel(request), "[2001:db8::1]:5202");
  request.set_target("2001:db8::1");
  EXPECT_EQ(ThroughputTargetLabel(request), "[2001:db8::1]:5201");
  EXPECT_EQ(KindOf(ProbeRequest(request)), std::string("Throughput"));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
