#include "agent/schedule/probe_metrics.h"

#include <cmath>

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

}  // namespace

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
                                    "How long the scheduled probe's last run took")) {}

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
    failed |= !result.error().empty();
    if (hub_ != nullptr) hub_->Publish(result);
  }
  if (failed) run_errors_.Add(probe, 1);
}

void ScheduleMetrics::OnSkipped(const ScheduledProbeSpec& spec) {
  skipped_.Add(ProbeLabels(spec), 1);
}

void ScheduleMetrics::OnRemoved(const std::string& name) {
  // Every family of this class labels its series with `probe`; no other
  // family in the registry does (the agent's own metrics are collectors).
  registry_->RemoveMatching("probe", name);
}

}  // namespace netprobe
