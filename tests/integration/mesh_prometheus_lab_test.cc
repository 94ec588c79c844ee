// Issue 23: the deployment's Prometheus side against a real mesh. Four lab
// agents probe each other (tests/lab/mesh_lab.h); Debian's Prometheus, in a
// fifth lab host, scrapes them as the Kubernetes example does (job netprobe,
// `source` = the target's address without its port), evaluates
// docker/prometheus/netprobe-rules.yaml every second, and must answer every
// recording rule and every query of docker/grafana/netprobe-mesh.json with
// data (tests/deploy/query_prometheus.py runs them through the HTTP API).
// Then one host goes down (agent stopped, link down): the host-down alert's
// expression names it and the uplink alert's names nobody.
// Four agents keep the run short: the queries need every path, not many.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/lab/lab.h"
#include "tests/lab/mesh_lab.h"
#include "tests/test_support/status_matchers.h"
#include "tests/test_support/subprocess.h"

#ifndef NETPROBE_SOURCE_DIR
#error "NETPROBE_SOURCE_DIR must name the source tree (tests/CMakeLists.txt defines it)"
#endif

namespace netprobe::testing {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::HasSubstr;

constexpr int kAgents = 4;

// The lines of `out` that --print wrote for `expr` ("EXPR: labels value").
std::vector<std::string> Printed(const std::string& out, const std::string& expr) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, absl::StrCat(expr, ": "))) lines.emplace_back(line);
  }
  return lines;
}

TEST(MeshPrometheusLabTest, EveryRuleAndDashboardQueryReturnsDataThenAHostGoesDown) {
  MeshLabOptions options;
  options.agents = kAgents;
  options.extra_hosts = 1;  // Prometheus
  // A 1 s timeout (not 500 ms or less) so that a loaded machine does not
  // make a healthy path look lossy: the test asserts every path reached.
  options.interval = absl::Seconds(2);
  options.timeout = absl::Seconds(1);
  auto mesh = MeshLab::Start(options);
  ASSERT_THAT(mesh, IsOk());
  MeshLab& m = **mesh;
  const int prometheus_host = kAgents;

  std::vector<std::string> targets;
  for (int i = 0; i < kAgents; ++i)
    targets.push_back(absl::StrCat("\"", m.metrics_address(i), "\""));
  const std::string source_dir = NETPROBE_SOURCE_DIR;
  const std::string rules = source_dir + "/docker/prometheus/netprobe-rules.yaml";
  const std::string config = absl::StrCat(m.lab().dir(), "/prometheus.yml");
  // As docker/prometheus/prometheus.yml, with static targets for the pods:
  // `source` is the address without the port ([v6] without brackets).
  std::ofstream(config) << absl::StrCat(R"(global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - ")",
                                        rules, R"("
scrape_configs:
  - job_name: netprobe
    static_configs:
      - targets: [)",
                                        absl::StrJoin(targets, ", "), R"(]
    relabel_configs:
      - source_labels: [__address__]
        regex: '\[(.+)\]:\d+|(.+):\d+'
        replacement: '$1$2'
        target_label: source
)");
  auto check = RunCommand({"promtool", "check", "config", config});
  ASSERT_THAT(check, IsOk());
  ASSERT_EQ(check->exit_code, 0) << check->out << check->err;

  // A fixed port is safe here: the address is 127.0.0.1 inside the lab
  // host's own network namespace, which this test created and where nothing
  // else listens (Prometheus accepts no port 0).
  const std::string web = "127.0.0.1:9090";
  auto prometheus = m.lab().Spawn(
      prometheus_host, {"prometheus", "--config.file", config, "--storage.tsdb.path",
                        absl::StrCat(m.lab().dir(), "/tsdb"), "--web.listen-address", web,
                        "--log.level=warn"});
  ASSERT_THAT(prometheus, IsOk());

  // Bounded: the script polls until every query has data, 60 s at most
  // (Prometheus starts, scrapes every second, evaluates the rules every
  // second; the histogram quantile needs two scrapes of a round).
  const std::string reach = "peer:netprobe_mesh_reach:ratio";
  const std::string uplink = "source:netprobe_mesh_reach_healthy:ratio";
  auto run = m.lab().Exec(prometheus_host,
                          {"python3",
                           source_dir + "/tests/deploy/query_prometheus.py",
                           "--url",
                           absl::StrCat("http://", web),
                           "--rules",
                           rules,
                           "--dashboard",
                           source_dir + "/docker/grafana/netprobe-mesh.json",
                           "--var",
                           "probe=mesh",
                           "--var",
                           "kind=Ping",
                           "--deadline",
                           "60",
                           "--print",
                           reach,
                           "--print",
                           uplink,
                           "--print-min-series",
                           absl::StrCat(kAgents)},
                          absl::Seconds(90));
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->exit_code, 0) << run->out << run->err << "\nprometheus:\n"
                               << prometheus->err();
  EXPECT_THAT(run->out, HasSubstr("; all pass"));

  // Every agent is a peer every other reaches and a source that reaches
  // every peer: `source` and `peer` name the same addresses.
  const std::vector<std::string> peers = Printed(run->out, reach);
  const std::vector<std::string> sources = Printed(run->out, uplink);
  EXPECT_EQ(peers.size(), static_cast<size_t>(kAgents)) << run->out;
  EXPECT_EQ(sources.size(), static_cast<size_t>(kAgents)) << run->out;
  for (int i = 0; i < kAgents; ++i) {
    const std::string peer = absl::StrCat("peer=", m.address(i), ",");
    const std::string source = absl::StrCat("source=", m.address(i), " ");
    EXPECT_TRUE(absl::c_any_of(peers,
                               [&](const std::string& l) {
                                 return absl::StrContains(l, peer) &&
                                        absl::EndsWith(l, " 1");
                               }))
        << peer << "\n"
        << run->out;
    EXPECT_TRUE(absl::c_any_of(sources,
                               [&](const std::string& l) {
                                 return absl::StrContains(l, source) &&
                                        absl::EndsWith(l, " 1");
                               }))
        << source << "\n"
        << run->out;
  }

  // A host down: its agent stopped (its scrape fails: up 0) and its link
  // down (no kind reaches it). NetprobeMeshHostDown's expression (its `for`
  // aside) names it within a few rounds, and NetprobeMeshUplink's names
  // nobody: `up`'s `source` joins the others' `peer`.
  const int down = kAgents - 1;
  ASSERT_THAT(m.StopAgent(down), IsOk());
  auto link = m.lab().Exec(down, {"ip", "link", "set", "eth0", "down"});
  ASSERT_THAT(link, IsOk());
  ASSERT_EQ(link->exit_code, 0) << link->err;
  const std::vector<std::string> query = {
      "python3",     source_dir + "/tests/deploy/query_prometheus.py",
      "--url",       absl::StrCat("http://", web),
      "--rules",     rules,
      "--dashboard", source_dir + "/docker/grafana/netprobe-mesh.json",
      "--var",       "probe=mesh",
      "--var",       "kind=Ping",
      "--deadline",  "30"};
  std::vector<std::string> host_down = query;
  host_down.insert(host_down.end(),
                   {"--print", "NetprobeMeshHostDown", "--print-min-series", "1"});
  auto after = m.lab().Exec(prometheus_host, host_down, absl::Seconds(60));
  ASSERT_THAT(after, IsOk());
  const std::vector<std::string> alerts = Printed(after->out, "NetprobeMeshHostDown");
  ASSERT_EQ(alerts.size(), 1u) << after->out << prometheus->err();
  EXPECT_THAT(alerts[0], HasSubstr(absl::StrCat("peer=", m.address(down), ",")));
  std::vector<std::string> uplinks = query;
  uplinks.insert(uplinks.end(), {"--print", "NetprobeMeshUplink"});
  auto uplink_run = m.lab().Exec(prometheus_host, uplinks, absl::Seconds(60));
  ASSERT_THAT(uplink_run, IsOk());
  EXPECT_THAT(Printed(uplink_run->out, "NetprobeMeshUplink"), ::testing::IsEmpty())
      << uplink_run->out;
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::testing
