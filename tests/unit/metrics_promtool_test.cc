// The exposition checked by Prometheus' own parser and linter:
// `promtool check metrics` (Debian package prometheus).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <string>

#include "agent/metrics/process_metrics.h"
#include "agent/metrics/registry.h"
#include "tests/test_support/promtool.h"
#include "tests/test_support/status_matchers.h"
#include "tests/test_support/subprocess.h"

namespace netprobe::metrics {
namespace {
namespace NETPROBE_UNITY_ID {

using ::netprobe::testing::HavePromtool;
using ::netprobe::testing::IsOk;
using ::netprobe::testing::PromtoolCheckMetrics;
using ::netprobe::testing::RunResult;

class PromtoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HavePromtool()) {
      FAIL() << "promtool not found (scripts/install-deps.sh installs prometheus)";
    }
  }
};

TEST_F(PromtoolTest, EveryTypeWithNastyLabelValuesPasses) {
  Registry registry;
  const Labels nasty = {
      {"probe", "back\\slash \"quoted\"\nnew line"},
      {"target", "caf\xC3\xA9 \xF0\x9F\x98\x80 {x=\"y\"} # not a comment"},
      {"kind", "invalid utf-8 \xFF\xFE end"},
      {"empty", ""}};
  registry.Counter("netprobe_probe_runs_total", "Probe runs.\nSecond line with \\ too.")
      .Add(nasty, 3);
  registry.Counter("netprobe_probe_runs_total", "").Add({{"probe", "plain"}}, 1e20);
  GaugeFamily& gauge =
      registry.Gauge("netprobe_probe_success", "1 if the last run passed.");
  gauge.Set(nasty, 1);
  gauge.Set({{"probe", "inf"}}, std::numeric_limits<double>::infinity());
  gauge.Set({{"probe", "-inf"}}, -std::numeric_limits<double>::infinity());
  gauge.Set({{"probe", "nan"}}, std::nan(""));
  gauge.Set({{"probe", "tiny"}}, 1.5e-300);
  HistogramFamily& rtt = registry.Histogram("netprobe_probe_rtt_seconds", "RTT.",
                                            {0.0005, 0.001, 0.01, 0.1, 1, 10});
  for (double v : {0.0002, 0.003, 0.003, 0.5, 42.0}) rtt.Observe(nasty, v);
  rtt.Observe({}, 0.01);
  registry.Gauge("netprobe_streams_active", "Active streams; no series yet.");
  registry.Histogram("netprobe_run_duration_seconds", "Empty histogram.", {1, 2});
  registry.AddCollector(ProcessMetricsCollector());

  const std::string text = registry.Render();
  RunResult run = PromtoolCheckMetrics(text);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err << "\n" << text;
  EXPECT_EQ(run.out, "") << text;  // lint problems are printed
  EXPECT_EQ(run.err, "") << text;
}

TEST_F(PromtoolTest, BrokenExpositionFails) {
  // The check can fail: an unescaped quote, and a lint problem.
  RunResult broken = PromtoolCheckMetrics("# TYPE x gauge\nx{a=\"b\"c\"} 1\n");
  EXPECT_NE(broken.exit_code, 0);
  RunResult lint = PromtoolCheckMetrics("# HELP x X.\n# TYPE x counter\nx 1\n");
  EXPECT_NE(lint.exit_code, 0);
  EXPECT_THAT(lint.out + lint.err, ::testing::HasSubstr("_total"));
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::metrics
