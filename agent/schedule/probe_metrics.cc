#include "agent/schedule/probe_metrics.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <variant>

#include "absl/strings/str_cat.h"
#include "agent/schedule/single_run.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

metrics::Labels ProbeLabels(const ScheduledProbeSpec& spec) {
  metrics::Labels labels = {{"probe", spec.name}, {"kind", KindOf(spec.request)}};
  labels.insert(labels.end(), spec.labels.begin(), spec.labels.end());
  return labels;
}

metrics::Labels TargetLabels(const ScheduledProbeSpec& spec, const std::string& target) {
  metrics::Labels labels = {
      {"probe", spec.name}, {"kind", KindOf(spec.request)}, {"target", target}};
  labels.insert(labels.end(), spec.labels.begin(), spec.labels.end());
  return labels;
}

metrics::Labels HopLabels(metrics::Labels labels, uint32_t ttl) {
  labels.emplace_back("hop", absl::StrCat(ttl));
  return labels;
}

metrics::Labels With(metrics::Labels labels, const char* name, const char* value) {
  labels.emplace_back(name, value);
  return labels;
}

// The limited_by label values, by the verdict they name.
constexpr std::pair<v1::ThroughputLimit, const char*> kLimits[] = {
    {v1::THROUGHPUT_LIMIT_SEND_BUFFER, "send_buffer"},
    {v1::THROUGHPUT_LIMIT_RECEIVE_WINDOW, "receive_window"},
    {v1::THROUGHPUT_LIMIT_NETWORK, "network"},
    {v1::THROUGHPUT_LIMIT_APPLICATION, "application"}};

// The sum over the streams (stream_id 0) of the direction where the agent
// sends (`agent_sends`) or receives; null when that direction did not run.
const v1::ThroughputTotals* SumOf(const v1::ThroughputSummary& summary,
                                  bool agent_sends) {
  for (const v1::ThroughputTotals& totals : summary.totals()) {
    if (totals.stream_id() == 0 && totals.agent_sends() == agent_sends) return &totals;
  }
  return nullptr;
}

}  // namespace

std::vector<TraceHopPoint> TraceHopPoints(const v1::ScheduledTrace& trace) {
  struct Sum {
    uint64_t sent = 0, received = 0, answers = 0;
    double rtt_seconds = 0;  // sum over the answers
  };
  std::map<uint32_t, Sum> by_ttl;
  for (const v1::TracerouteHop& hop : trace.hops()) {
    Sum& sum = by_ttl[hop.ttl()];
    sum.sent += hop.sent();
    sum.received += hop.received();
    if (hop.rtt().count() > 0) {
      sum.answers += hop.rtt().count();
      sum.rtt_seconds += absl::ToDoubleSeconds(FromProto(hop.rtt().avg())) *
                         static_cast<double>(hop.rtt().count());
    }
  }
  std::vector<TraceHopPoint> points;
  for (const auto& [ttl, sum] : by_ttl) {
    TraceHopPoint& point = points.emplace_back();
    point.ttl = ttl;
    point.loss_ratio =
        sum.sent == 0 ? 1.0
                      : static_cast<double>(sum.sent - std::min(sum.received, sum.sent)) /
                            static_cast<double>(sum.sent);
    if (sum.answers > 0) {
      point.rtt_avg_seconds = sum.rtt_seconds / static_cast<double>(sum.answers);
    }
  }
  return points;
}

std::map<uint32_t, std::vector<std::string>> TraceRunPath(
    const v1::ScheduledTrace& trace) {
  std::map<uint32_t, std::vector<std::string>> path;
  for (const v1::TracerouteHop& hop : trace.hops()) {
    if (hop.flow() != 0 || hop.addresses().empty()) continue;
    std::vector<std::string>& addresses = path[hop.ttl()];
    addresses.assign(hop.addresses().begin(), hop.addresses().end());
    std::sort(addresses.begin(), addresses.end());
  }
  return path;
}

bool PathChanged(const std::map<uint32_t, std::vector<std::string>>& before,
                 uint32_t reached_before,
                 const std::map<uint32_t, std::vector<std::string>>& after,
                 uint32_t reached_after) {
  if (reached_before != 0 && reached_after != 0 && reached_before != reached_after) {
    return true;
  }
  for (const auto& [ttl, addresses] : after) {
    const auto was = before.find(ttl);
    if (was != before.end() && was->second != addresses) return true;
  }
  return false;
}

std::vector<double> RttBuckets() {
  return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,     0.1,     0.25,   0.5,     1,      2.5,   5,      10};
}

absl::Status CheckRttBuckets(const std::vector<double>& buckets,
                             absl::string_view field) {
  if (buckets.empty() || buckets.size() > kMaxRttBuckets) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", buckets.size(), " buckets; give 1 to ", kMaxRttBuckets));
  }
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i]) || buckets[i] <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "[", i, "]: ", buckets[i], " is not a number of seconds above 0"));
    }
    if (i > 0 && buckets[i] <= buckets[i - 1]) {
      return absl::InvalidArgumentError(absl::StrCat(field, "[", i, "]: ", buckets[i],
                                                     " is not above ", buckets[i - 1],
                                                     ": the bounds must ascend"));
    }
  }
  return absl::OkStatus();
}

ScheduleMetrics::ScheduleMetrics(metrics::Registry* registry, ResultsHub* hub,
                                 std::vector<double> rtt_buckets)
    : registry_(registry),
      hub_(hub),
      success_(registry->Gauge("netprobe_probe_success",
                               "1 when the scheduled probe's last run got an answer from "
                               "the target, else 0")),
      rtt_(registry->Histogram(
          "netprobe_probe_rtt_seconds",
          "RTT (connect time for TcpConnect) of each answered attempt "
          "of a scheduled probe",
          rtt_buckets.empty() ? RttBuckets() : std::move(rtt_buckets))),
      rtt_avg_(registry->Gauge("netprobe_probe_rtt_avg_seconds",
                               "Average RTT of the scheduled probe's last run")),
      loss_(registry->Gauge("netprobe_probe_loss_ratio",
                            "Share of the last run's attempts that got no answer, 0..1")),
      sent_(registry->Counter("netprobe_probe_sent_total",
                              "Attempts (echo requests, connects, datagrams) sent by a "
                              "scheduled probe")),
      received_(registry->Counter("netprobe_probe_received_total",
                                  "Answers a scheduled probe received")),
      last_run_(
          registry->Gauge("netprobe_probe_last_run_timestamp_seconds",
                          "When the scheduled probe's last run started (Unix time)")),
      runs_(registry->Counter("netprobe_probe_runs_total", "Runs of a scheduled probe")),
      run_errors_(registry->Counter(
          "netprobe_probe_run_errors_total",
          "Runs of a scheduled probe that could not start or ended early (policy, "
          "resolution, sockets)")),
      skipped_(registry->Counter("netprobe_probe_skipped_runs_total",
                                 "Runs skipped because the previous run still ran")),
      run_duration_(registry->Gauge("netprobe_probe_run_duration_seconds",
                                    "How long the scheduled probe's last run took")),
      hop_count_(registry->Gauge("netprobe_traceroute_hops",
                                 "The TTL at which the target answered in the scheduled "
                                 "traceroute's last run; 0 when it did not")),
      path_changes_total_(registry->Counter(
          "netprobe_traceroute_path_changes_total",
          "Runs of a scheduled traceroute whose path changed: a TTL of flow 0 "
          "answered from other addresses than when it last answered, or the target "
          "at another TTL")),
      path_changes_(
          registry->Gauge("netprobe_traceroute_path_changes",
                          "mtr mode: hop address changes between rounds in the scheduled "
                          "traceroute's last run")),
      hop_loss_(registry->Gauge(
          "netprobe_traceroute_hop_loss_ratio",
          "Share of the probes of one TTL (all flows) without an answer in the "
          "scheduled traceroute's last run, 0..1")),
      hop_rtt_(registry->Gauge(
          "netprobe_traceroute_hop_rtt_avg_seconds",
          "Average RTT of the answered probes of one TTL (all flows) in the "
          "scheduled traceroute's last run")),
      throughput_goodput_(registry->Gauge(
          "netprobe_throughput_bytes_per_second",
          "Goodput at the receiver in bytes/s (bits/s / 8), summed over the streams, "
          "in the scheduled throughput test's last run; direction send: the agent "
          "sent")),
      throughput_retransmits_(registry->Gauge(
          "netprobe_throughput_retransmits",
          "TCP segments the agent retransmitted while sending in the scheduled "
          "throughput test's last run")),
      throughput_limited_by_(registry->Gauge(
          "netprobe_throughput_limited_by",
          "1 for what limited the agent's sending in the scheduled throughput "
          "test's last run (send_buffer, receive_window, network, application), "
          "0 for the others")) {}

void ScheduleMetrics::OnRtt(const ScheduledProbeSpec& spec, const std::string& target,
                            absl::Duration rtt) {
  rtt_.Observe(TargetLabels(spec, target), absl::ToDoubleSeconds(rtt));
}

void ScheduleMetrics::OnResults(const ScheduledProbeSpec& spec,
                                const std::vector<v1::ScheduledResult>& results,
                                absl::Duration run_duration) {
  const metrics::Labels probe = ProbeLabels(spec);
  runs_.Add(probe, 1);
  run_duration_.Set(probe, absl::ToDoubleSeconds(run_duration));
  bool failed = false;
  for (const v1::ScheduledResult& result : results) {
    const metrics::Labels labels =
        TargetLabels(spec, TargetLabel(result.summary().target()));
    const v1::TargetSummary& summary = result.summary();
    success_.Set(labels, result.success() ? 1 : 0);
    sent_.Add(labels, static_cast<double>(summary.sent()));
    received_.Add(labels, static_cast<double>(summary.received()));
    loss_.Set(labels, summary.sent() == 0 ? 1.0 : summary.loss_percent() / 100.0);
    last_run_.Set(labels,
                  absl::ToDoubleSeconds(FromProto(result.started()) - absl::UnixEpoch()));
    if (summary.rtt().count() > 0) {
      rtt_avg_.Set(labels, absl::ToDoubleSeconds(FromProto(summary.rtt().avg())));
    }
    if (std::holds_alternative<v1::TracerouteRequest>(spec.request)) {
      OnTrace(labels, spec.name, TargetLabel(summary.target()),
              result.has_traceroute() ? &result.traceroute() : nullptr);
    }
    if (std::holds_alternative<v1::ThroughputRequest>(spec.request)) {
      OnThroughput(labels, result.has_throughput() ? &result.throughput() : nullptr);
    }
    failed |= !result.error().empty();
    if (hub_ != nullptr) hub_->Publish(result);
  }
  if (failed) run_errors_.Add(probe, 1);
}

void ScheduleMetrics::OnTrace(const metrics::Labels& labels, const std::string& probe,
                              const std::string& target,
                              const v1::ScheduledTrace* trace) {
  const uint32_t reached = trace != nullptr ? trace->summary().reached_ttl() : 0;
  hop_count_.Set(labels, reached);
  path_changes_total_.Add(labels, 0);
  if (trace != nullptr && trace->summary().rounds() > 0) {
    path_changes_.Set(labels, static_cast<double>(trace->summary().path_changes()));
  } else {
    path_changes_.Remove(labels);
  }
  const std::vector<TraceHopPoint> points =
      trace != nullptr ? TraceHopPoints(*trace) : std::vector<TraceHopPoint>();
  absl::MutexLock lock(&trace_mu_);
  TraceState& state = traces_[{probe, target}];
  if (trace != nullptr) {
    // Silent TTLs (and runs where nothing answered) keep what they last
    // answered with, to compare with when they answer again.
    std::map<uint32_t, std::vector<std::string>> path = TraceRunPath(*trace);
    if (PathChanged(state.path, state.reached_ttl, path, reached)) {
      path_changes_total_.Add(labels, 1);
    }
    for (auto& [ttl, addresses] : path) state.path[ttl] = std::move(addresses);
    if (reached != 0) state.reached_ttl = reached;
  }
  std::set<uint32_t> loss_hops, rtt_hops;
  for (const TraceHopPoint& point : points) {
    const metrics::Labels hop = HopLabels(labels, point.ttl);
    hop_loss_.Set(hop, point.loss_ratio);
    loss_hops.insert(point.ttl);
    if (point.rtt_avg_seconds) {
      hop_rtt_.Set(hop, *point.rtt_avg_seconds);
      rtt_hops.insert(point.ttl);
    }
  }
  // No stale hops: the series are the last run's.
  for (uint32_t ttl : state.loss_hops) {
    if (loss_hops.count(ttl) == 0) hop_loss_.Remove(HopLabels(labels, ttl));
  }
  for (uint32_t ttl : state.rtt_hops) {
    if (rtt_hops.count(ttl) == 0) hop_rtt_.Remove(HopLabels(labels, ttl));
  }
  state.loss_hops = std::move(loss_hops);
  state.rtt_hops = std::move(rtt_hops);
}

void ScheduleMetrics::OnThroughput(const metrics::Labels& labels,
                                   const v1::ThroughputSummary* summary) {
  for (const bool agent_sends : {true, false}) {
    const metrics::Labels direction =
        With(labels, "direction", agent_sends ? "send" : "receive");
    const v1::ThroughputTotals* sum =
        summary != nullptr ? SumOf(*summary, agent_sends) : nullptr;
    // The receiver's count: the far end's when the agent sent, known only
    // when the results were exchanged.
    if (sum != nullptr && (!agent_sends || summary->remote_results())) {
      throughput_goodput_.Set(direction, sum->receiver_bits_per_second() / 8);
    } else {
      throughput_goodput_.Remove(direction);
    }
    if (!agent_sends) continue;
    if (sum != nullptr && sum->retransmits() >= 0) {
      throughput_retransmits_.Set(labels, static_cast<double>(sum->retransmits()));
    } else {
      throughput_retransmits_.Remove(labels);
    }
  }
  const v1::ThroughputLimit verdict =
      summary != nullptr ? summary->limited_by() : v1::THROUGHPUT_LIMIT_UNSPECIFIED;
  for (const auto& [limit, name] : kLimits) {
    const metrics::Labels labelled = With(labels, "limit", name);
    if (verdict == v1::THROUGHPUT_LIMIT_UNSPECIFIED) {
      throughput_limited_by_.Remove(labelled);
    } else {
      throughput_limited_by_.Set(labelled, verdict == limit ? 1 : 0);
    }
  }
}

void ScheduleMetrics::OnSkipped(const ScheduledProbeSpec& spec) {
  skipped_.Add(ProbeLabels(spec), 1);
}

void ScheduleMetrics::OnRemoved(const std::string& name) {
  // Every family of this class labels its series with `probe`; no other
  // family in the registry does (the agent's own metrics are collectors).
  registry_->RemoveMatching("probe", name);
  absl::MutexLock lock(&trace_mu_);
  for (auto it = traces_.begin(); it != traces_.end();) {
    it = it->first.first == name ? traces_.erase(it) : std::next(it);
  }
}

}  // namespace netprobe
