// Scheduled probes, the Prometheus endpoint and WatchResults end to end: the
// real agent in lab host 0 with a config of scheduled probes against lab
// host 1, and a real Prometheus server (Debian's) in lab host 2 scraping the
// agent's /metrics and driving /probe like blackbox_exporter. Prometheus's
// query API must return our metrics, and `promtool check metrics` must pass
// on what the agent serves.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <fstream>
#include <map>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/substitute.h"
#include "agent/net/monotonic_clock.h"
#include "netprobe/v1/schedule.grpc.pb.h"
#include "tests/lab/lab.h"
#include "tests/lab/netns_socket.h"
#include "tests/test_support/status_matchers.h"

namespace netprobe::testing {
namespace {
namespace NETPROBE_UNITY_ID {

using ::testing::HasSubstr;

constexpr int kAgent = 0, kTarget = 1, kPrometheus = 2;

// Fetches `url` from inside `host` and prints "<status>\n<body>".
constexpr char kFetch[] = R"py(
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=20)
    print(r.status); sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); sys.stdout.write(e.read().decode())
)py";

// Runs a PromQL instant query and prints one "<labels> <value>" line per
// series, labels as k=v,... sorted by name.
constexpr char kQuery[] = R"py(
import json, sys, urllib.parse, urllib.request
url = sys.argv[1] + "/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[2]})
data = json.load(urllib.request.urlopen(url, timeout=10))
for r in data["data"]["result"]:
    m = r["metric"]
    print(",".join("%s=%s" % (k, m[k]) for k in sorted(m)), r["value"][1])
)py";

struct Fetched {
  int status = 0;
  std::string body;
};

class MetricsLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto lab = NewLab();
    ASSERT_THAT(lab, IsOk());
    lab_ = *std::move(lab);
    config_ = absl::StrCat(lab_->dir(), "/agent.textproto");
    target_ = lab_->host(TargetHost()).ipv4;
  }

  // The agent runs in host kAgent (0), probing host TargetHost().
  virtual absl::StatusOr<std::unique_ptr<Lab>> NewLab() { return Lab::Create(3); }
  virtual int TargetHost() const { return kTarget; }

  // Runs `promtool check metrics` on `text`: no error, no lint finding.
  void ExpectPromtoolAccepts(const std::string& text) {
    const std::string file = absl::StrCat(lab_->dir(), "/metrics.txt");
    std::ofstream(file) << text;
    auto check =
        RunCommand({"/bin/sh", "-c", absl::StrCat("promtool check metrics < ", file)});
    ASSERT_THAT(check, IsOk());
    EXPECT_EQ(check->exit_code, 0) << check->out << check->err;
    EXPECT_EQ(check->out + check->err, "") << "promtool lint findings";
  }

  // Starts the agent with `config` and its metrics endpoint on the lab
  // address (port chosen by the kernel); `metrics_` is where it listens.
  void StartAgent(const std::string& config) {
    std::ofstream(config_) << config;
    auto agent = LabAgent::Start(*lab_, kAgent,
                                 {"--config", config_, "--metrics-listen",
                                  absl::StrCat(lab_->host(kAgent).ipv4, ":0")});
    ASSERT_THAT(agent, IsOk());
    agent_ = std::make_unique<LabAgent>(*std::move(agent));
    auto line = agent_->process().WaitForStderr("metrics on http://", absl::Seconds(10));
    ASSERT_THAT(line, IsOk());
    const std::string rest = line->substr(line->find("http://") + 7);
    metrics_ = rest.substr(0, rest.find("/metrics"));
  }

  Fetched Fetch(int host, const std::string& url) {
    auto run = lab_->Exec(host, {"python3", "-c", kFetch, url});
    Fetched out;
    EXPECT_THAT(run, IsOk());
    if (!run.ok()) return out;
    const size_t newline = run->out.find('\n');
    EXPECT_NE(newline, std::string::npos) << run->out << run->err;
    if (newline == std::string::npos) return out;
    EXPECT_TRUE(absl::SimpleAtoi(run->out.substr(0, newline), &out.status));
    out.body = run->out.substr(newline + 1);
    return out;
  }

  // The value of the series of `text` (an exposition) whose line starts
  // with `series` ("name{labels}"), or nullopt.
  static std::optional<double> Sample(const std::string& text,
                                      const std::string& series) {
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (!absl::StartsWith(line, series + " ")) continue;
      double value;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) return value;
    }
    return std::nullopt;
  }

  // Scrapes /metrics until `series` appears with a value (at most 20 s).
  std::optional<double> WaitForSample(const std::string& series) {
    const absl::Duration deadline = MonotonicNow() + absl::Seconds(20);
    while (MonotonicNow() < deadline) {
      Fetched page = Fetch(kAgent, absl::StrCat("http://", metrics_, "/metrics"));
      if (auto value = Sample(page.body, series)) return value;
      poll(nullptr, 0, 200);
    }
    return std::nullopt;
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<LabAgent> agent_;
  std::string config_, target_, metrics_;
};

std::string ScheduledConfig(const std::string& target) {
  // Not an R"pb(...)" string: clang-format would reflow the text proto
  // around the inserted target.
  return absl::Substitute(R"cfg(
    scheduled_probes {
      name: "lab-ping"
      interval { seconds: 2 }
      labels { key: "site" value: "lab" }
      ping { targets: "$0" count: 2 interval { nanos: 200000000 } }
    }
    scheduled_probes {
      name: "closed-port"
      interval { seconds: 2 }
      tcp_connect { targets: "$0:9" timeout { nanos: 500000000 } }
    }
    modules {
      name: "icmp"
      timeout { seconds: 5 }
      ping { count: 3 interval { nanos: 100000000 } }
    }
  )cfg",
                          target);
}

TEST_F(MetricsLabTest, ServesScheduledProbeMetricsThatPromtoolAccepts) {
  StartAgent(ScheduledConfig(target_));
  const std::string ping_series =
      absl::StrCat(R"(netprobe_probe_success{probe="lab-ping",kind="Ping",target=")",
                   target_, R"(",site="lab"})");
  EXPECT_EQ(WaitForSample(ping_series), 1.0);
  // Nothing listens on port 9 of the target: refused, so not a success.
  EXPECT_EQ(
      WaitForSample(absl::StrCat(
          R"(netprobe_probe_success{probe="closed-port",kind="TcpConnect",target=")",
          target_, R"(:9"})")),
      0.0);

  Fetched page = Fetch(kAgent, absl::StrCat("http://", metrics_, "/metrics"));
  EXPECT_EQ(page.status, 200);
  // Two echo requests per run, each answered: sent and received agree.
  const std::string labels = absl::StrCat(R"({probe="lab-ping",kind="Ping",target=")",
                                          target_, R"(",site="lab"})");
  auto sent = Sample(page.body, "netprobe_probe_sent_total" + labels);
  auto received = Sample(page.body, "netprobe_probe_received_total" + labels);
  ASSERT_TRUE(sent && received) << page.body;
  EXPECT_GE(*sent, 2);
  EXPECT_EQ(*sent, *received);
  EXPECT_THAT(page.body,
              HasSubstr("netprobe_probe_rtt_seconds_bucket{probe=\"lab-ping\""));
  EXPECT_THAT(page.body, HasSubstr("netprobe_packets_sent_total{probe=\"Ping\"}"));
  EXPECT_THAT(page.body, HasSubstr("process_resident_memory_bytes "));

  // The exposition is valid, by Prometheus's own checker.
  ExpectPromtoolAccepts(page.body);
}

// Issue 20: a scheduled throughput test (1 s of TCP every 5 s) against the
// real `iperf3 -s` in host 1 (its own namespace: iperf3's port is free
// there), with Throughput enabled by the policy; its goodput, verdict and
// success in /metrics, which promtool accepts.
TEST_F(MetricsLabTest, ScheduledThroughputTestsServeGoodput) {
  auto server = lab_->Spawn(kTarget, {"iperf3", "-s", "-p", "5201"});
  ASSERT_THAT(server, IsOk());
  const absl::Duration deadline = MonotonicNow() + absl::Seconds(10);
  for (;;) {
    auto listening = lab_->Exec(kTarget, {"ss", "-Hltn", "sport = :5201"});
    ASSERT_THAT(listening, IsOk());
    if (!listening->out.empty()) break;
    ASSERT_LT(MonotonicNow(), deadline) << "iperf3 -s did not listen";
    poll(nullptr, 0, 50);
  }
  StartAgent(absl::Substitute(R"cfg(
    policy { enabled_probes: "Throughput" }
    scheduled_probes {
      name: "lab-tput"
      interval { seconds: 5 }
      labels { key: "site" value: "lab" }
      throughput { target: "$0" duration { seconds: 1 } }
    }
  )cfg",
                              target_));
  const std::string labels = absl::StrCat(
      R"({probe="lab-tput",kind="Throughput",target=")", target_, R"(:5201",site="lab")");
  const std::optional<double> goodput = WaitForSample(absl::StrCat(
      "netprobe_throughput_bytes_per_second", labels, R"(,direction="send"})"));
  ASSERT_TRUE(goodput.has_value());
  EXPECT_GT(*goodput, 0);
  Fetched page = Fetch(kAgent, absl::StrCat("http://", metrics_, "/metrics"));
  EXPECT_EQ(Sample(page.body, absl::StrCat("netprobe_probe_success", labels, "}")), 1.0)
      << page.body;
  EXPECT_TRUE(
      Sample(page.body, absl::StrCat("netprobe_throughput_retransmits", labels, "}")))
      << page.body;
  // One verdict on the agent's sending, among the four limits.
  double verdicts = 0;
  for (const char* limit : {"send_buffer", "receive_window", "network", "application"}) {
    auto value = Sample(page.body, absl::StrCat("netprobe_throughput_limited_by", labels,
                                                R"(,limit=")", limit, R"("})"));
    ASSERT_TRUE(value) << limit << "\n" << page.body;
    verdicts += *value;
  }
  EXPECT_EQ(verdicts, 1) << page.body;
  ExpectPromtoolAccepts(page.body);
}

TEST_F(MetricsLabTest, ProbeEndpointRunsModulesAndNamesBadParameters) {
  const std::string denied = lab_->host(kPrometheus).ipv4;
  StartAgent(
      absl::StrCat(ScheduledConfig(target_), "policy { deny: \"", denied, "/32\" }"));
  const std::string base = absl::StrCat("http://", metrics_, "/probe");
  Fetched ok = Fetch(kAgent, absl::StrCat(base, "?module=icmp&target=", target_));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(Sample(ok.body, "probe_success"), 1.0) << ok.body;
  EXPECT_EQ(Sample(ok.body, "probe_sent"), 3.0) << ok.body;
  EXPECT_EQ(Sample(ok.body, "probe_received"), 3.0) << ok.body;
  EXPECT_TRUE(Sample(ok.body, R"(probe_rtt_seconds{stat="avg"})")) << ok.body;

  // An address of the lab nobody holds: no answer, a result not an error.
  Fetched silent = Fetch(kAgent, absl::StrCat(base, "?module=icmp&target=198.18.0.99"));
  EXPECT_EQ(silent.status, 200);
  EXPECT_EQ(Sample(silent.body, "probe_success"), 0.0) << silent.body;

  Fetched unknown = Fetch(kAgent, absl::StrCat(base, "?module=nope&target=", target_));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.body, HasSubstr("module: unknown 'nope' (configured: icmp)"));
  Fetched missing = Fetch(kAgent, absl::StrCat(base, "?module=icmp"));
  EXPECT_EQ(missing.status, 400);
  EXPECT_THAT(missing.body, HasSubstr("target: missing"));
  // Validated like the RPC's request: a host name has at most 253 characters.
  Fetched malformed =
      Fetch(kAgent, absl::StrCat(base, "?module=icmp&target=", std::string(254, 'a')));
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  EXPECT_THAT(malformed.body, HasSubstr("is not a host name or address"));
  // The policy applies as to an anonymous RPC.
  Fetched refused = Fetch(kAgent, absl::StrCat(base, "?module=icmp&target=", denied));
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("policy"));
  Fetched nowhere = Fetch(kAgent, absl::StrCat("http://", metrics_, "/nowhere"));
  EXPECT_EQ(nowhere.status, 404);
}

TEST_F(MetricsLabTest, PrometheusScrapesTheAgentAndDrivesProbe) {
  StartAgent(ScheduledConfig(target_));
  // Prometheus in its own namespace, on a port the kernel picked there.
  auto fd = OpenSocketInNetns(lab_->host(kPrometheus).netns, AF_INET, SOCK_STREAM, 0);
  ASSERT_THAT(fd, IsOk());
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(any);
  ASSERT_EQ(bind(fd->get(), reinterpret_cast<sockaddr*>(&any), sizeof(any)), 0);
  ASSERT_EQ(getsockname(fd->get(), reinterpret_cast<sockaddr*>(&any), &length), 0);
  const std::string web = absl::StrCat("127.0.0.1:", ntohs(any.sin_port));
  *fd = UniqueFd();

  const std::string config = absl::StrCat(lab_->dir(), "/prometheus.yml");
  std::ofstream(config) << absl::StrCat(R"(global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: netprobe
    static_configs:
      - targets: [")",
                                        metrics_, R"("]
  - job_name: blackbox-icmp
    metrics_path: /probe
    params:
      module: [icmp]
    scrape_interval: 2s
    scrape_timeout: 2s
    static_configs:
      - targets: [")",
                                        target_, R"("]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: ")",
                                        metrics_, R"("
)");
  auto check = RunCommand({"promtool", "check", "config", config});
  ASSERT_THAT(check, IsOk());
  ASSERT_EQ(check->exit_code, 0) << check->out << check->err;
  auto prometheus =
      lab_->Spawn(kPrometheus, {"prometheus", "--config.file", config,
                                "--storage.tsdb.path", absl::StrCat(lab_->dir(), "/tsdb"),
                                "--web.listen-address", web, "--log.level=warn"});
  ASSERT_THAT(prometheus, IsOk());

  // Bounded: Prometheus starts, scrapes every second; 40 s at most.
  std::map<std::string, std::string> found;
  const std::vector<std::string> queries = {
      absl::StrCat(R"(netprobe_probe_success{probe="lab-ping"})"),
      R"(up{job="netprobe"})",
      R"(probe_success{job="blackbox-icmp"})",
      R"(netprobe_probe_rtt_seconds_count{probe="lab-ping"})",
  };
  const absl::Duration deadline = MonotonicNow() + absl::Seconds(40);
  while (found.size() < queries.size() && MonotonicNow() < deadline) {
    for (const std::string& query : queries) {
      if (found.count(query) > 0) continue;
      auto run = lab_->Exec(
          kPrometheus, {"python3", "-c", kQuery, absl::StrCat("http://", web), query});
      if (run.ok() && run->exit_code == 0 && !run->out.empty()) found[query] = run->out;
    }
    if (found.size() < queries.size()) poll(nullptr, 0, 500);
  }
  ASSERT_EQ(found.size(), queries.size()) << prometheus->err();
  EXPECT_THAT(found[queries[0]], HasSubstr(absl::StrCat("target=", target_)));
  EXPECT_THAT(found[queries[0]], HasSubstr("site=lab"));
  EXPECT_THAT(found[queries[0]], ::testing::EndsWith(" 1\n"));
  EXPECT_THAT(found[queries[1]], ::testing::EndsWith(" 1\n"));
  EXPECT_THAT(found[queries[2]], HasSubstr(absl::StrCat("instance=", target_)));
  EXPECT_THAT(found[queries[2]], ::testing::EndsWith(" 1\n"));
}

TEST_F(MetricsLabTest, WatchResultsStreamsEachRunAndNamesUnknownProbes) {
  StartAgent(ScheduledConfig(target_));
  auto channel =
      grpc::CreateChannel(agent_->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::Results::NewStub(channel);

  {  // An unknown name is NOT_FOUND, naming it and what is configured.
    grpc::ClientContext context;
    v1::WatchResultsRequest request;
    request.add_probes("nope");
    auto reader = stub->WatchResults(&context, request);
    v1::WatchResultsEvents events;
    EXPECT_FALSE(reader->Read(&events));
    const grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(status.error_message(),
                HasSubstr("probes[0]: no scheduled probe named 'nope'"));
    EXPECT_THAT(status.error_message(), HasSubstr("lab-ping"));
  }

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::WatchResultsRequest request;
  request.add_probes("lab-ping");
  auto reader = stub->WatchResults(&context, request);
  std::vector<v1::ScheduledResult> results;
  v1::WatchResultsEvents events;
  while (results.size() < 2 && reader->Read(&events)) {
    for (const auto& event : events.events()) {
      if (event.has_result()) results.push_back(event.result());
    }
  }
  ASSERT_EQ(results.size(), 2u);
  for (const v1::ScheduledResult& result : results) {
    EXPECT_EQ(result.probe(), "lab-ping");
    EXPECT_EQ(result.kind(), "Ping");
    EXPECT_EQ(result.labels().at("site"), "lab");
    EXPECT_TRUE(result.success());
    EXPECT_EQ(result.summary().target().host(), target_);
    EXPECT_EQ(result.summary().sent(), 2u);
    EXPECT_EQ(result.summary().received(), 2u);
  }
  // Consecutive runs, in order.
  EXPECT_EQ(results[1].run(), results[0].run() + 1);

  // SIGTERM ends the stream with a StreamEnd and OK.
  agent_->process().Signal(SIGTERM);
  bool ended = false;
  while (reader->Read(&events)) {
    for (const auto& event : events.events()) ended |= event.has_end();
  }
  EXPECT_TRUE(ended);
  EXPECT_THAT(reader->Finish().error_code(), grpc::StatusCode::OK);
}

// Issue 18: `netprobe watch` prints the scheduled results a line each (JSON
// with --json), ends after -c N, at --timeout (exit 7), and names an unknown
// probe (exit 2); `netprobe info` shows the metrics endpoint and schedule.
TEST_F(MetricsLabTest, CliWatchesTheResultsAndInfoShowsTheSchedule) {
  StartAgent(ScheduledConfig(target_));
  auto info = agent_->Client({"info"});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->exit_code, 0) << info->err;
  EXPECT_THAT(info->out,
              HasSubstr(absl::StrCat("\nmetrics    http://", metrics_, "/metrics\n")));
  EXPECT_THAT(info->out,
              HasSubstr(absl::StrCat("\nschedule   lab-ping: Ping every 2s to ", target_,
                                     " {site=\"lab\"}\n")));
  EXPECT_THAT(info->out,
              HasSubstr(absl::StrCat("\nschedule   closed-port: TcpConnect every 2s to ",
                                     target_, ":9\n")));

  auto watch = agent_->Client({"watch", "-c", "2", "lab-ping"});
  ASSERT_THAT(watch, IsOk());
  EXPECT_EQ(watch->exit_code, 0) << watch->err;
  const std::regex line(absl::StrCat(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z lab-ping #(\d+) )", target_,
      R"( : xmt/rcv/%loss = 2/2/0%, min/avg/max = [0-9.]+/[0-9.]+/[0-9.]+ \{site="lab"\})"));
  std::vector<std::string> lines = absl::StrSplit(watch->out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << watch->out;
  std::smatch first, second;
  ASSERT_TRUE(std::regex_match(lines[0], first, line)) << lines[0];
  ASSERT_TRUE(std::regex_match(lines[1], second, line)) << lines[1];
  EXPECT_EQ(std::stoi(second[1]), std::stoi(first[1]) + 1) << "consecutive runs";

  // Refused connections: the run fails, and so does the watch that saw it.
  auto refused = agent_->Client({"--json", "watch", "-c", "1", "closed-port"});
  ASSERT_THAT(refused, IsOk());
  EXPECT_EQ(refused->exit_code, 1) << refused->err;
  v1::WatchResultsEvent event;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  std::string(absl::StripTrailingAsciiWhitespace(refused->out)), &event)
                  .ok())
      << refused->out;
  EXPECT_EQ(event.result().probe(), "closed-port");
  EXPECT_FALSE(event.result().success());

  auto bounded = agent_->Client({"--timeout", "1500ms", "watch", "closed-port"});
  ASSERT_THAT(bounded, IsOk());
  EXPECT_EQ(bounded->exit_code, 7) << bounded->err;
  EXPECT_EQ(bounded->err, "");

  auto unknown = agent_->Client({"watch", "nope"});
  ASSERT_THAT(unknown, IsOk());
  EXPECT_EQ(unknown->exit_code, 2);
  EXPECT_THAT(unknown->err, HasSubstr("no scheduled probe named 'nope'"));
}

TEST_F(MetricsLabTest, SighupReplacesTheSchedule) {
  StartAgent(ScheduledConfig(target_));
  const std::string old_series =
      absl::StrCat(R"(netprobe_probe_success{probe="lab-ping",kind="Ping",target=")",
                   target_, R"(",site="lab"})");
  ASSERT_EQ(WaitForSample(old_series), 1.0);
  std::ofstream(config_) << absl::Substitute(R"cfg(
    scheduled_probes {
      name: "renamed"
      interval { seconds: 2 }
      ping { targets: "$0" count: 1 }
    })cfg",
                                             target_);
  agent_->process().Signal(SIGHUP);
  ASSERT_THAT(
      agent_->process().WaitForStderr("configuration reloaded", absl::Seconds(10)),
      IsOk());
  EXPECT_EQ(WaitForSample(absl::StrCat(
                R"(netprobe_probe_success{probe="renamed",kind="Ping",target=")", target_,
                R"("})")),
            1.0);
  Fetched page = Fetch(kAgent, absl::StrCat("http://", metrics_, "/metrics"));
  EXPECT_THAT(page.body, ::testing::Not(HasSubstr("probe=\"lab-ping\"")));
}

TEST_F(MetricsLabTest, BadScheduleIsRefusedAtStartNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> configs = {
      {R"pb(scheduled_probes {
              name: "x"
              ping { targets: "198.18.0.11" }
            })pb",
       "scheduled_probes[0].ping.count: 0 is not from 1 to 1000"},
      // A traceroute until cancelled (mtr's rounds 0) never ends by itself.
      {R"pb(modules {
              name: "mtr"
              traceroute { rounds: 0 }
            })pb",
       "modules[0].traceroute.rounds: 0 is not from 1 to 1000"},
  };
  for (const auto& [config, message] : configs) {
    std::ofstream(config_) << config;
    auto run = RunCommand({NETPROBE_AGENT_BIN, "--config", config_, "--listen",
                           absl::StrCat("unix:", lab_->dir(), "/bad.sock")});
    ASSERT_THAT(run, IsOk());
    EXPECT_EQ(run->exit_code, 2) << config;
    EXPECT_THAT(run->err, HasSubstr(message));
  }
}

// The histogram's buckets from the flag (parsed in the agent's main) and
// from the config: a bad one stops the start, naming the flag or field.
TEST_F(MetricsLabTest, BadRttBucketsAreRefusedAtStartNamingTheFlagOrField) {
  const std::string socket = absl::StrCat("unix:", lab_->dir(), "/bad.sock");
  const std::vector<std::pair<std::string, std::string>> flags = {
      {"0.001,x", "--metrics-rtt-buckets: 'x' is not a number of seconds"},
      {"0.0001,0.001,0.0005",
       "--metrics-rtt-buckets[2]: 0.0005 is not above 0.001: the bounds must ascend"},
      {"0.001,-1", "--metrics-rtt-buckets[1]: -1 is not a number of seconds above 0"},
  };
  for (const auto& [value, message] : flags) {
    auto run = RunCommand(
        {NETPROBE_AGENT_BIN, "--listen", socket, "--metrics-rtt-buckets", value});
    ASSERT_THAT(run, IsOk());
    EXPECT_EQ(run->exit_code, 2) << value;
    EXPECT_THAT(run->err, HasSubstr(message)) << value;
  }
  std::ofstream(config_) << "metrics_rtt_buckets: [0.001, 0.001]\n";
  auto run = RunCommand({NETPROBE_AGENT_BIN, "--config", config_, "--listen", socket});
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ(run->exit_code, 2);
  EXPECT_THAT(run->err, HasSubstr("metrics_rtt_buckets[1]: 0.001 is not above 0.001"));
}

// Issue 19: a scheduled traceroute and a traceroute module over a chain of 3
// routers (Lab::CreateChain): the agent in "src" (host 0), the target "dst"
// (host 4) at TTL 4. ICMP echo, so that neither the routers' time exceeded
// (not rate limited in the chain) nor the target's answers (echo replies, not
// in the kernel's icmp_ratemask) are rate limited: no hop loses a probe.
class TracerouteMetricsLabTest : public MetricsLabTest {
 protected:
  static constexpr int kRouters = 3;
  absl::StatusOr<std::unique_ptr<Lab>> NewLab() override {
    return Lab::CreateChain(kRouters);
  }
  int TargetHost() const override { return kRouters + 1; }

  std::string TraceConfig() const {
    return absl::Substitute(R"cfg(
    scheduled_probes {
      name: "lab-trace"
      interval { seconds: 2 }
      labels { key: "site" value: "lab" }
      traceroute {
        target: "$0"
        method: TRACEROUTE_METHOD_ICMP
        max_ttl: 8
        probes_per_hop: 2
        wait { seconds: 1 }
      }
    }
    modules {
      name: "trace"
      timeout { seconds: 5 }
      traceroute { method: TRACEROUTE_METHOD_ICMP max_ttl: 8 wait { seconds: 1 } }
    }
  )cfg",
                            target_);
  }

  // `name` with the scheduled traceroute's labels (and hop="N" when given).
  std::string Series(const std::string& name, int hop = 0) const {
    return absl::StrCat(name, R"({probe="lab-trace",kind="Traceroute",target=")", target_,
                        R"(",site="lab")",
                        hop > 0 ? absl::StrCat(R"(,hop=")", hop, R"(")") : "", "}");
  }
};

TEST_F(TracerouteMetricsLabTest, ScheduledTraceServesHopCountAndPerHopSeries) {
  StartAgent(TraceConfig());
  EXPECT_EQ(WaitForSample(Series("netprobe_traceroute_hops")), kRouters + 1.0);
  // A second run: the path of the first is there to compare with.
  const std::string runs =
      R"(netprobe_probe_runs_total{probe="lab-trace",kind="Traceroute",site="lab"})";
  const absl::Duration deadline = MonotonicNow() + absl::Seconds(20);
  Fetched page;
  while (MonotonicNow() < deadline) {
    page = Fetch(kAgent, absl::StrCat("http://", metrics_, "/metrics"));
    if (Sample(page.body, runs).value_or(0) >= 2) break;
    poll(nullptr, 0, 200);
  }
  ASSERT_GE(Sample(page.body, runs).value_or(0), 2) << page.body;
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(Sample(page.body, Series("netprobe_traceroute_hops")), kRouters + 1.0);
  EXPECT_EQ(Sample(page.body, Series("netprobe_probe_success")), 1.0) << page.body;
  // The same routers each run: no path change.
  EXPECT_EQ(Sample(page.body, Series("netprobe_traceroute_path_changes_total")), 0.0)
      << page.body;
  for (int hop = 1; hop <= kRouters + 1; ++hop) {
    SCOPED_TRACE(absl::StrCat("hop ", hop));
    EXPECT_EQ(Sample(page.body, Series("netprobe_traceroute_hop_loss_ratio", hop)), 0.0)
        << page.body;
    auto rtt = Sample(page.body, Series("netprobe_traceroute_hop_rtt_avg_seconds", hop));
    ASSERT_TRUE(rtt) << page.body;
    EXPECT_GT(*rtt, 0);
    EXPECT_LT(*rtt, 1);
  }
  // The trace ends where the target answered; no TTL beyond it has series.
  EXPECT_THAT(page.body, ::testing::Not(HasSubstr(R"(hop="5")")));
  // No address is a label: only the target's, as configured.
  EXPECT_THAT(page.body, ::testing::Not(HasSubstr(lab_->host(1).ipv4)));
  // 2 probes per hop, 4 hops a run (probes beyond the target are not
  // counted), each answered. The counters may be between two adds of a run
  // while scraped: the last run's loss is one value.
  EXPECT_GE(Sample(page.body, Series("netprobe_probe_sent_total")).value_or(0),
            2 * (kRouters + 1));
  EXPECT_GE(Sample(page.body, Series("netprobe_probe_received_total")).value_or(0),
            2 * (kRouters + 1));
  EXPECT_EQ(Sample(page.body, Series("netprobe_probe_loss_ratio")), 0.0) << page.body;
  ExpectPromtoolAccepts(page.body);
}

TEST_F(TracerouteMetricsLabTest, ProbeEndpointRunsATracerouteModule) {
  StartAgent(TraceConfig());
  Fetched trace = Fetch(
      kAgent, absl::StrCat("http://", metrics_, "/probe?module=trace&target=", target_));
  EXPECT_EQ(trace.status, 200) << trace.body;
  EXPECT_EQ(Sample(trace.body, "probe_success"), 1.0) << trace.body;
  EXPECT_EQ(Sample(trace.body, "probe_traceroute_hops"), kRouters + 1.0) << trace.body;
  // Three probes per hop (the default), four hops.
  EXPECT_EQ(Sample(trace.body, "probe_sent"), 3.0 * (kRouters + 1)) << trace.body;
  for (int hop = 1; hop <= kRouters + 1; ++hop) {
    const std::string label = absl::StrCat(R"({hop=")", hop, R"("})");
    EXPECT_EQ(Sample(trace.body, "probe_traceroute_hop_loss_ratio" + label), 0.0)
        << trace.body;
    EXPECT_TRUE(Sample(trace.body, "probe_traceroute_hop_rtt_avg_seconds" + label))
        << trace.body;
  }
  EXPECT_TRUE(Sample(trace.body, R"(probe_rtt_seconds{stat="avg"})")) << trace.body;
  ExpectPromtoolAccepts(trace.body);
}

// `netprobe watch` ends a traceroute's line with the path; WatchResults
// carries its hops and summary; `netprobe info` lists it.
TEST_F(TracerouteMetricsLabTest, WatchShowsThePathAndInfoTheSchedule) {
  StartAgent(TraceConfig());
  auto info = agent_->Client({"info"});
  ASSERT_THAT(info, IsOk());
  EXPECT_THAT(info->out,
              HasSubstr(absl::StrCat("\nschedule   lab-trace: Traceroute every 2s to ",
                                     target_, " {site=\"lab\"}\n")));
  std::vector<std::string> path;
  for (int host = 1; host <= kRouters + 1; ++host) path.push_back(lab_->host(host).ipv4);
  auto watch = agent_->Client({"watch", "-c", "1", "lab-trace"});
  ASSERT_THAT(watch, IsOk());
  EXPECT_EQ(watch->exit_code, 0) << watch->err;
  EXPECT_THAT(watch->out, HasSubstr("Z lab-trace #"));
  EXPECT_THAT(watch->out, HasSubstr(absl::StrCat(target_, " : xmt/rcv/%loss = 8/8/0%")));
  EXPECT_THAT(watch->out,
              HasSubstr(absl::StrCat(", path ", absl::StrJoin(path, " "),
                                     " (reached at hop 4) {site=\"lab\"}\n")));

  auto json = agent_->Client({"--json", "watch", "-c", "1", "lab-trace"});
  ASSERT_THAT(json, IsOk());
  v1::WatchResultsEvent event;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  std::string(absl::StripTrailingAsciiWhitespace(json->out)), &event)
                  .ok())
      << json->out;
  const v1::ScheduledResult& result = event.result();
  EXPECT_EQ(result.kind(), "Traceroute");
  EXPECT_TRUE(result.success());
  EXPECT_EQ(result.traceroute().summary().reached_ttl(), 4u);
  ASSERT_EQ(result.traceroute().hops_size(), kRouters + 1);
  for (int i = 0; i < kRouters + 1; ++i) {
    const v1::TracerouteHop& hop = result.traceroute().hops(i);
    EXPECT_EQ(hop.ttl(), static_cast<uint32_t>(i + 1));
    ASSERT_EQ(hop.addresses_size(), 1) << hop.ShortDebugString();
    EXPECT_EQ(hop.addresses(0), path[i]);
    EXPECT_EQ(hop.sent(), 2u);
    EXPECT_EQ(hop.received(), 2u);
  }
}

// A bad traceroute entry on SIGHUP: the running schedule stays, the log names
// the field.
TEST_F(TracerouteMetricsLabTest, BadTracerouteOnSighupKeepsTheScheduleNamingTheField) {
  StartAgent(TraceConfig());
  ASSERT_EQ(WaitForSample(Series("netprobe_traceroute_hops")), kRouters + 1.0);
  std::ofstream(config_) << absl::Substitute(R"cfg(
    scheduled_probes {
      name: "lab-trace"
      traceroute { target: "$0" max_ttl: 256 }
    })cfg",
                                             target_);
  agent_->process().Signal(SIGHUP);
  auto line = agent_->process().WaitForStderr("SIGHUP: not reloaded", absl::Seconds(10));
  ASSERT_THAT(line, IsOk());
  EXPECT_THAT(*line,
              HasSubstr("scheduled_probes[0].traceroute.max_ttl: 256 is out of range"));
  EXPECT_EQ(WaitForSample(Series("netprobe_traceroute_hops")), kRouters + 1.0);
}

}  // namespace NETPROBE_UNITY_ID
}  // namespace
}  // namespace netprobe::testing
