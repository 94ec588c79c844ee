// Issue 19: a scheduled traceroute's events (fixed, as the probe emits them)
// through the run's collector, its results and ScheduleMetrics, to the
// exposition text: hop count, per-hop loss and RTT (no stale hops), path
// changes, and what promtool says of it.
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

constexpr char kTarget[] = "198.18.3.2";

v1::TracerouteEvent Hop(uint32_t ttl, uint32_t flow, std::vector<std::string> addresses,
                        uint64_t sent, uint64_t received, absl::Duration avg,
                        bool reached = false) {
  v1::TracerouteEvent event;
  v1::TracerouteHop* hop = event.mutable_hop();
  hop->set_ttl(ttl);
  hop->set_flow(flow);
  for (const std::string& address : addresses) hop->add_addresses(address);
  hop->set_sent(sent);
  hop->set_received(received);
  hop->set_reached(reached);
  if (received > 0) {
    hop->mutable_rtt()->set_count(received);
    ToProto(avg, hop->mutable_rtt()->mutable_avg());
  }
  return event;
}

v1::TracerouteEvent Summary(uint32_t reached_ttl, uint64_t sent, uint64_t received) {
  v1::TracerouteEvent event;
  v1::TracerouteSummary* summary = event.mutable_summary();
  summary->mutable_target()->set_host(kTarget);
  summary->mutable_target()->set_address(kTarget);
  summary->mutable_target()->set_port(33434);
  summary->set_reached_ttl(reached_ttl);
  summary->set_sent(sent);
  summary->set_received(received);
  return event;
}

v1::TracerouteEvent Reply(uint32_t ttl, absl::Duration rtt) {
  v1::TracerouteEvent event;
  v1::TracerouteReply* reply = event.mutable_reply();
  reply->mutable_target()->set_host(kTarget);
  reply->mutable_target()->set_port(33434);
  reply->set_ttl(ttl);
  reply->set_address(kTarget);
  reply->set_reached(true);
  ToProto(rtt, reply->mutable_rtt());
  return event;
}

class TraceMetricsTest : public ::testing::Test {
 protected:
  TraceMetricsTest() : metrics_(&registry_, nullptr) {
    spec_.name = "trace";
    spec_.labels = {{"site", "lab"}};
    v1::TracerouteRequest request;
    request.set_target(kTarget);
    spec_.request = request;
  }

  // One run of `events` through the collector, the results and the metrics.
  void Run(std::vector<v1::TracerouteEvent> events, absl::Status status = {}) {
    std::optional<RunOutcome> outcome;
    auto collector = std::make_shared<RunCollector<v1::TracerouteEvent>>(
        [this](const v1::Endpoint& target, absl::Duration rtt) {
          metrics_.OnRtt(spec_, TargetLabel(target), rtt);
        },
        [&outcome](RunOutcome done) { outcome = std::move(done); });
    for (v1::TracerouteEvent& event : events) collector->Emit(std::move(event));
    collector->Finish(std::move(status), {});
    ASSERT_TRUE(outcome.has_value());
    metrics_.OnResults(spec_, ResultsOf(spec_, ++runs_, *outcome), outcome->duration);
  }

  // The value of `name`{the probe's labels[,hop="N"]} in a fresh scrape.
  std::optional<double> Value(const std::string& name, int hop = 0) const {
    const std::string series = absl::StrCat(
        name, R"({probe="trace",kind="Traceroute",target=")", kTarget, R"(",site="lab")",
        hop > 0 ? absl::StrCat(R"(,hop=")", hop, R"(")") : "", "} ");
    for (absl::string_view line : absl::StrSplit(registry_.Render(), '\n')) {
      double value;
      if (absl::ConsumePrefix(&line, series) && absl::SimpleAtod(line, &value)) {
        return value;
      }
    }
    return std::nullopt;
  }

  // Two flows; TTL 2 silent; the target at TTL 3 (one probe of flow 1 lost).
  std::vector<v1::TracerouteEvent> FirstRun() const {
    return {Reply(3, absl::Milliseconds(5)),
            Hop(1, 0, {"198.18.0.2"}, 3, 3, absl::Milliseconds(1)),
            Hop(2, 0, {}, 3, 0, absl::ZeroDuration()),
            Hop(3, 0, {kTarget}, 3, 3, absl::Milliseconds(5), true),
            Hop(1, 1, {"198.18.0.2"}, 3, 3, absl::Milliseconds(3)),
            Hop(2, 1, {}, 3, 0, absl::ZeroDuration()),
            Hop(3, 1, {kTarget}, 3, 2, absl::Milliseconds(5), true),
            Summary(3, 18, 14)};
  }

  metrics::Registry registry_;
  ScheduleMetrics metrics_;
  ScheduledProbeSpec spec_;
  uint64_t runs_ = 0;
};

TEST_F(TraceMetricsTest, ARunBecomesHopCountSuccessAndPerHopSeriesOverTheFlows) {
  Run(FirstRun());
  EXPECT_EQ(Value("netprobe_traceroute_hops"), 3);
  EXPECT_EQ(Value("netprobe_probe_success"), 1);
  EXPECT_EQ(Value("netprobe_traceroute_path_changes_total"), 0);
  EXPECT_EQ(Value("netprobe_probe_sent_total"), 18);
  EXPECT_EQ(Value("netprobe_probe_received_total"), 14);
  EXPECT_DOUBLE_EQ(Value("netprobe_probe_loss_ratio").value_or(-1), 4.0 / 18);
  // The RTT of the hop (flow 0) where the target answered.
  EXPECT_DOUBLE_EQ(Value("netprobe_probe_rtt_avg_seconds").value_or(-1), 0.005);
  // Both flows of a TTL together: sent and received summed, RTT weighted.
  EXPECT_EQ(Value("netprobe_traceroute_hop_loss_ratio", 1), 0);
  EXPECT_EQ(Value("netprobe_traceroute_hop_loss_ratio", 2), 1);
  EXPECT_DOUBLE_EQ(Value("netprobe_traceroute_hop_loss_ratio", 3).value_or(-1), 1.0 / 6);
  EXPECT_DOUBLE_EQ(Value("netprobe_traceroute_hop_rtt_avg_seconds", 1).value_or(-1),
                   0.002);
  EXPECT_EQ(Value("netprobe_traceroute_hop_rtt_avg_seconds", 2), std::nullopt);
  EXPECT_DOUBLE_EQ(Value("netprobe_traceroute_hop_rtt_avg_seconds", 3).value_or(-1),
                   0.005);
  // The reply that reached the target, labelled by the target alone.
  EXPECT_THAT(registry_.Render(),
              HasSubstr(absl::StrCat(
                  R"(netprobe_probe_rtt_seconds_count{probe="trace",kind="Traceroute",)"
                  R"(target=")",
                  kTarget, R"(",site="lab"} 1)")));
  // One run reports no mtr path changes; no address is a label.
  EXPECT_EQ(Value("netprobe_traceroute_path_changes"), std::nullopt);
  EXPECT_THAT(registry_.Render(), Not(HasSubstr("198.18.0.2")));
  EXPECT_THAT(registry_.Render(), Not(HasSubstr(":33434")));
}

TEST_F(TraceMetricsTest, PathChangesCountRunsAndHopsGoneLoseTheirSeries) {
  Run(FirstRun());
  // Another router at TTL 1, the target at TTL 2: a path change.
  Run({Hop(1, 0, {"198.18.9.9"}, 2, 2, absl::Milliseconds(1)),
       Hop(2, 0, {kTarget}, 2, 2, absl::Milliseconds(4), true), Summary(2, 4, 4)});
  EXPECT_EQ(Value("netprobe_traceroute_path_changes_total"), 1);
  EXPECT_EQ(Value("netprobe_traceroute_hops"), 2);
  EXPECT_EQ(Value("netprobe_traceroute_hop_loss_ratio", 2), 0);
  EXPECT_DOUBLE_EQ(Value("netprobe_traceroute_hop_rtt_avg_seconds", 2).value_or(-1),
                   0.004);
  EXPECT_EQ(Value("netprobe_traceroute_hop_loss_ratio", 3), std::nullopt);
  EXPECT_EQ(Value("netprobe_traceroute_hop_rtt_avg_seconds", 3), std::nullopt);

  // TTL 1 silent this time: loss, not a path change; its RTT series goes.
  Run({Hop(1, 0, {}, 2, 0, absl::ZeroDuration()),
       Hop(2, 0, {kTarget}, 2, 2, absl::Milliseconds(4), true), Summary(2, 4, 2)});
  EXPECT_EQ(Value("netprobe_traceroute_path_changes_total"), 1);
  EXPECT_EQ(Value("netprobe_traceroute_hop_loss_ratio", 1), 1);
  EXPECT_EQ(Value("netprobe_traceroute_hop_rtt_avg_seconds", 1), std::nullopt);

  // The same addresses answering in another order: no change either.
  Run({Hop(1, 0, {"198.18.9.9", "198.18.8.8"}, 2, 2, absl::Milliseconds(1)),
       Hop(2, 0, {kTarget}, 2, 2, absl::Milliseconds(4), true), Summary(2, 4, 4)});
  Run({Hop(1, 0, {"198.18.8.8", "198.18.9.9"}, 2, 2, absl::Milliseconds(1)),
       Hop(2, 0, {kTarget}, 2, 2, absl::Milliseconds(4), true), Summary(2, 4, 4)});
  EXPECT_EQ(Value("netprobe_traceroute_path_changes_total"), 2);  // 9.9 -> 9.9+8.8
}

TEST_F(TraceMetricsTest, ARunThatFailsHasNoHopsAndHopCountZero) {
  Run(FirstRun());
  Run({}, absl::UnavailableError("resolve: no such host"));
  EXPECT_EQ(Value("netprobe_probe_success"), 0);
  EXPECT_EQ(Value("netprobe_traceroute_hops"), 0);
  EXPECT_THAT(registry_.Render(), Not(HasSubstr("hop=")));
  EXPECT_EQ(Value("netprobe_traceroute_path_changes_total"), 0);
  // The path before the failure is still the one compared with.
  Run(FirstRun());
  EXPECT_EQ(Value("netprobe_traceroute_path_changes_total"), 0);
  EXPECT_EQ(Value("netprobe_traceroute_hops"), 3);
}

TEST_F(TraceMetricsTest, MtrRoundsReportTheirPathChangesAndRemovalClearsAll) {
  std::vector<v1::TracerouteEvent> mtr = FirstRun();
  mtr.back().mutable_summary()->set_rounds(10);
  mtr.back().mutable_summary()->set_path_changes(2);
  Run(mtr);
  EXPECT_EQ(Value("netprobe_traceroute_path_changes"), 2);
  Run(FirstRun());  // one trace again: no mtr series
  EXPECT_EQ(Value("netprobe_traceroute_path_changes"), std::nullopt);

  metrics_.OnRemoved("trace");
  EXPECT_THAT(registry_.Render(), Not(HasSubstr(R"(probe="trace")")));
  // A new probe of that name starts its path afresh.
  Run({Hop(1, 0, {"198.18.9.9"}, 2, 2, absl::Milliseconds(1)),
       Hop(2, 0, {kTarget}, 2, 2, absl::Milliseconds(4), true), Summary(2, 4, 4)});
  EXPECT_EQ(Value("netprobe_traceroute_path_changes_total"), 0);
}

TEST_F(TraceMetricsTest, PromtoolAcceptsTheTracerouteSeries) {
  if (!testing::HavePromtool()) {
    FAIL() << "promtool not found (scripts/install-deps.sh installs prometheus)";
  }
  std::vector<v1::TracerouteEvent> mtr = FirstRun();
  mtr.back().mutable_summary()->set_rounds(10);
  Run(mtr);
  const std::string text = registry_.Render();
  testing::RunResult run = testing::PromtoolCheckMetrics(text);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err << "\n" << text;
  EXPECT_EQ(run.out + run.err, "") << text;
}

TEST(TraceHopPointsTest, TtlsAscendWhateverTheOrderOfTheHops) {
  v1::ScheduledTrace trace;
  for (uint32_t ttl : {5u, 2u, 9u}) {
    v1::TracerouteHop* hop = trace.add_hops();
    hop->set_ttl(ttl);
    hop->set_sent(1);
  }
  std::vector<TraceHopPoint> points = TraceHopPoints(trace);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0].ttl, 2u);
  EXPECT_EQ(points[2].ttl, 9u);
  EXPECT_EQ(points[1].loss_ratio, 1);
  EXPECT_FALSE(points[1].rtt_avg_seconds);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe
