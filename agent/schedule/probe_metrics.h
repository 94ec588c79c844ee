#ifndef NETPROBE_AGENT_SCHEDULE_PROBE_METRICS_H_
#define NETPROBE_AGENT_SCHEDULE_PROBE_METRICS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/metrics/registry.h"
#include "agent/schedule/results_hub.h"
#include "agent/schedule/scheduler.h"

namespace netprobe {

// The scheduled probes' outcomes as Prometheus metrics, and as results for
// the WatchResults streams. Series carry the labels probe, kind and target
// (where it applies) and the probe's own labels:
//   netprobe_probe_success               gauge, 1 when the last run had an answer
//   netprobe_probe_rtt_seconds           histogram of every answered attempt
//   netprobe_probe_rtt_avg_seconds       gauge, the last run's average
//   netprobe_probe_loss_ratio            gauge, the last run's (0..1)
//   netprobe_probe_sent_total            counter of attempts
//   netprobe_probe_received_total        counter of answers
//   netprobe_probe_last_run_timestamp_seconds  gauge, when the last run started
//   netprobe_probe_runs_total            counter per probe
//   netprobe_probe_run_errors_total      counter per probe: runs that failed to start or
//   ended early netprobe_probe_skipped_runs_total    counter per probe: due while the
//   last still ran netprobe_probe_run_duration_seconds  gauge per probe, the last run's
// Thread-safe (the registry is; the hub is fed on the loop thread).
class ScheduleMetrics final : public ScheduleObserver {
 public:
  // `rtt_buckets`: the RTT histogram's upper bounds (CheckRttBuckets);
  // empty: RttBuckets().
  ScheduleMetrics(metrics::Registry* registry, ResultsHub* hub,
                  std::vector<double> rtt_buckets = {});

  void OnRtt(const ScheduledProbeSpec& spec, const std::string& target,
             absl::Duration rtt) override;
  void OnResults(const ScheduledProbeSpec& spec,
                 const std::vector<v1::ScheduledResult>& results,
                 absl::Duration run_duration) override;
  void OnSkipped(const ScheduledProbeSpec& spec) override;
  void OnRemoved(const std::string& name) override;

 private:
  metrics::Registry* const registry_;
  ResultsHub* const hub_;
  metrics::GaugeFamily& success_;
  metrics::HistogramFamily& rtt_;
  metrics::GaugeFamily& rtt_avg_;
  metrics::GaugeFamily& loss_;
  metrics::CounterFamily& sent_;
  metrics::CounterFamily& received_;
  metrics::GaugeFamily& last_run_;
  metrics::CounterFamily& runs_;
  metrics::CounterFamily& run_errors_;
  metrics::CounterFamily& skipped_;
  metrics::GaugeFamily& run_duration_;
};

// The RTT histogram's default buckets, in seconds: 10us to 10s in 1-2.5-5
// steps (lab and data-centre RTTs of 20 to 100us fall apart, not all in one).
std::vector<double> RttBuckets();
// Checks configured buckets (`field` names them in the error): 1 to
// kMaxRttBuckets finite values above 0, strictly ascending.
inline constexpr size_t kMaxRttBuckets = 64;
absl::Status CheckRttBuckets(const std::vector<double>& buckets, absl::string_view field);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_PROBE_METRICS_H_
