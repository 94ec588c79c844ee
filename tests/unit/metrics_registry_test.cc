#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "agent/metrics/registry.h"

namespace netprobe::metrics {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

TEST(Registry, CounterAndGaugeRender) {
  Registry registry;
  CounterFamily& runs = registry.Counter("netprobe_runs_total", "Probe runs.");
  runs.Add({{"probe", "b"}});
  runs.Add({{"probe", "a"}}, 2);
  runs.Add({{"probe", "a"}}, 0.5);
  runs.Add({{"probe", "a"}}, -7);  // counters only go up
  GaugeFamily& up = registry.Gauge("netprobe_up", "Up.");
  up.Set({}, 1);
  up.Add({}, 2);
  EXPECT_THAT(runs.Value({{"probe", "a"}}), Optional(2.5));
  EXPECT_THAT(up.Value({}), Optional(3.0));
  EXPECT_EQ(up.Value({{"x", "y"}}), std::nullopt);
  EXPECT_EQ(registry.Render(),
            "# HELP netprobe_runs_total Probe runs.\n"
            "# TYPE netprobe_runs_total counter\n"
            "netprobe_runs_total{probe=\"a\"} 2.5\n"
            "netprobe_runs_total{probe=\"b\"} 1\n"
            "# HELP netprobe_up Up.\n"
            "# TYPE netprobe_up gauge\n"
            "netprobe_up 3\n");
}

TEST(Registry, LabelOrderIsOneSeriesRenderedAsFirstGiven) {
  Registry registry;
  GaugeFamily& g = registry.Gauge("g", "G.");
  g.Set({{"target", "t"}, {"probe", "p"}}, 1);
  g.Set({{"probe", "p"}, {"target", "t"}}, 2);
  EXPECT_EQ(g.series_count(), 1u);
  EXPECT_THAT(registry.Render(), HasSubstr("g{target=\"t\",probe=\"p\"} 2\n"));
}

TEST(Registry, SeriesSortedByLabels) {
  Registry registry;
  GaugeFamily& g = registry.Gauge("g", "G.");
  g.Set({{"probe", "b"}, {"target", "1"}}, 1);
  g.Set({{"probe", "a"}, {"target", "2"}}, 2);
  g.Set({{"probe", "a"}, {"target", "1"}}, 3);
  EXPECT_EQ(registry.Render(),
            "# HELP g G.\n# TYPE g gauge\n"
            "g{probe=\"a\",target=\"1\"} 3\n"
            "g{probe=\"a\",target=\"2\"} 2\n"
            "g{probe=\"b\",target=\"1\"} 1\n");
}

TEST(Registry, HistogramBucketsAreCumulative) {
  Registry registry;
  HistogramFamily& h = registry.Histogram("rtt_seconds", "RTT.", {1, 0.1, 0.5, 0.5});
  EXPECT_EQ(h.upper_bounds(), (std::vector<double>{0.1, 0.5, 1}));
  const Labels p = {{"probe", "p"}};
  for (double v : {0.05, 0.1, 0.7, 5.0}) h.Observe(p, v);
  h.Observe(p, std::nan(""));  // ignored
  EXPECT_THAT(h.Count(p), Optional(4u));
  EXPECT_EQ(registry.Render(),
            std::string("# HELP rtt_seconds RTT.\n"
                        "# TYPE rtt_seconds histogram\n"
                        "rtt_seconds_bucket{probe=\"p\",le=\"0.1\"} 2\n"
                        "rtt_seconds_bucket{probe=\"p\",le=\"0.5\"} 2\n"
                        "rtt_seconds_bucket{probe=\"p\",le=\"1\"} 3\n"
                        "rtt_seconds_bucket{probe=\"p\",le=\"+Inf\"} 4\n"
                        "rtt_seconds_sum{probe=\"p\"} ") +
                FormatValue(0.05 + 0.1 + 0.7 + 5.0) +
                "\n"
                "rtt_seconds_count{probe=\"p\"} 4\n");
}

TEST(Registry, HistogramBoundsDropInfinities) {
  Registry registry;
  HistogramFamily& h = registry.Histogram(
      "h", "H.", {std::numeric_limits<double>::infinity(), 2, std::nan(""), 1});
  EXPECT_EQ(h.upper_bounds(), (std::vector<double>{1, 2}));
  h.Observe({}, 3);
  EXPECT_THAT(registry.Render(),
              HasSubstr("h_bucket{le=\"2\"} 0\nh_bucket{le=\"+Inf\"} 1\n"));
}

TEST(Registry, RemoveAndRemoveMatching) {
  Registry registry;
  GaugeFamily& g = registry.Gauge("g", "G.");
  g.Set({{"probe", "a"}, {"target", "1"}}, 1);
  g.Set({{"probe", "a"}, {"target", "2"}}, 1);
  g.Set({{"probe", "b"}, {"target", "1"}}, 1);
  EXPECT_TRUE(g.Remove({{"target", "2"}, {"probe", "a"}}));  // any order
  EXPECT_FALSE(g.Remove({{"probe", "a"}, {"target", "2"}}));
  EXPECT_EQ(g.RemoveMatching("probe", "a"), 1u);
  EXPECT_EQ(g.RemoveMatching("probe", "zzz"), 0u);
  EXPECT_EQ(registry.Render(),
            "# HELP g G.\n# TYPE g gauge\ng{probe=\"b\",target=\"1\"} 1\n");
  g.Clear();
  // A family without series still has its HELP and TYPE.
  EXPECT_EQ(registry.Render(), "# HELP g G.\n# TYPE g gauge\n");
}

TEST(Registry, RemoveMatchingAcrossFamilies) {
  Registry registry;
  registry.Gauge("g", "G.").Set({{"probe", "gone"}}, 1);
  registry.Counter("c_total", "C.").Add({{"probe", "gone"}, {"target", "t"}}, 1);
  registry.Histogram("h", "H.", {1}).Observe({{"probe", "gone"}}, 1);
  registry.Histogram("h", "H.", {1}).Observe({{"probe", "kept"}}, 1);
  EXPECT_EQ(registry.RemoveMatching("probe", "gone"), 3u);
  const std::string text = registry.Render();
  EXPECT_THAT(text, Not(HasSubstr("gone")));
  EXPECT_THAT(text, HasSubstr("h_count{probe=\"kept\"} 1\n"));
}

TEST(Registry, FamiliesInNameOrderThenCollectors) {
  Registry registry;
  registry.Gauge("zeta", "Z.").Set({}, 1);
  registry.Counter("alpha_total", "A.").Add({}, 1);
  registry.AddCollector([](ExpositionWriter& out) {
    out.Family("collected_b", MetricType::kGauge, "B.");
    out.Sample("collected_b", {}, 2);
  });
  Registry::CollectorId a = registry.AddCollector([](ExpositionWriter& out) {
    out.Family("collected_a", MetricType::kGauge, "A.");
    out.Sample("collected_a", {}, 1);
  });
  const std::string text = registry.Render();
  EXPECT_EQ(text,
            "# HELP alpha_total A.\n# TYPE alpha_total counter\nalpha_total 1\n"
            "# HELP zeta Z.\n# TYPE zeta gauge\nzeta 1\n"
            "# HELP collected_b B.\n# TYPE collected_b gauge\ncollected_b 2\n"
            "# HELP collected_a A.\n# TYPE collected_a gauge\ncollected_a 1\n");
  EXPECT_EQ(registry.Render(), text);  // stable
  registry.RemoveCollector(a);
  EXPECT_THAT(registry.Render(), Not(HasSubstr("collected_a")));
}

TEST(Registry, CollectorMayUpdateFamilies) {
  Registry registry;
  GaugeFamily& streams = registry.Gauge("streams", "S.");
  int scrapes = 0;
  registry.AddCollector([&](ExpositionWriter&) { streams.Set({}, ++scrapes); });
  registry.Render();
  EXPECT_THAT(streams.Value({}), Optional(1.0));
}

TEST(Registry, SameNameSameTypeIsOneFamily) {
  Registry registry;
  CounterFamily& a = registry.Counter("x_total", "X.");
  CounterFamily& b = registry.Counter("x_total", "other help");
  EXPECT_EQ(&a, &b);
}

TEST(Registry, BadNamesAndConflictsAreNotRendered) {
  Registry registry;
  registry.Counter("x_total", "X.").Add({}, 1);
  GaugeFamily& conflict = registry.Gauge("x_total", "Conflict.");
  conflict.Set({}, 5);  // harmless
  registry.Gauge("bad-name", "B.").Set({}, 1);
  registry.Gauge("__reserved", "R.").Set({}, 1);
  EXPECT_EQ(registry.Render(), "# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n");
}

TEST(Registry, InvalidLabelSetsAreIgnored) {
  Registry registry;
  GaugeFamily& g = registry.Gauge("g", "G.");
  g.Set({{"bad-label", "x"}}, 1);
  g.Set({{"__name__", "x"}}, 1);
  g.Set({{"a", "1"}, {"a", "2"}}, 1);
  HistogramFamily& h = registry.Histogram("h", "H.", {1});
  h.Observe({{"le", "1"}}, 1);
  EXPECT_EQ(g.series_count(), 0u);
  EXPECT_EQ(h.series_count(), 0u);
  g.Set({{"le", "fine in a gauge"}}, 1);
  EXPECT_EQ(g.series_count(), 1u);
}

TEST(Registry, ConcurrentUpdatesAndRenders) {
  Registry registry;
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry, t] {
      CounterFamily& c = registry.Counter("c_total", "C.");
      HistogramFamily& h = registry.Histogram("h", "H.", {0.5});
      GaugeFamily& g = registry.Gauge("g", "G.");
      const Labels mine = {{"thread", std::to_string(t)}};
      for (int i = 0; i < kRounds; ++i) {
        c.Add({{"shared", "yes"}});
        h.Observe(mine, i % 2);
        g.Set(mine, i);
        if (i % 100 == 0) {
          g.Remove({{"thread", "gone"}});
          EXPECT_THAT(registry.Render(), HasSubstr("# TYPE c_total counter"));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_THAT(registry.Counter("c_total", "C.").Value({{"shared", "yes"}}),
              Optional(double{kThreads * kRounds}));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_THAT(registry.Histogram("h", "H.", {}).Count({{"thread", std::to_string(t)}}),
                Optional(uint64_t{kRounds}));
  }
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::metrics
