#ifndef NETPROBE_AGENT_SCHEDULE_PROBE_METRICS_H_
#define NETPROBE_AGENT_SCHEDULE_PROBE_METRICS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "agent/metrics/registry.h"
#include "agent/schedule/results_hub.h"
#include "agent/schedule/scheduler.h"

namespace netprobe {

// The scheduled probes' outcomes as Prometheus metrics, and as results for
// the WatchResults streams. Series carry the labels probe, kind and target
// (where it applies) and the probe's own labels:
//   netprobe_probe_success               gauge, 1 when the last run had an answer
//                                        (traceroute: the target itself answered)
//   netprobe_probe_rtt_seconds           histogram of every answered attempt
//                                        (traceroute: each probe the target answered)
//   netprobe_probe_rtt_avg_seconds       gauge, the last run's average (traceroute:
//                                        of the hop where the target answered)
//   netprobe_probe_loss_ratio            gauge, the last run's (0..1; traceroute:
//                                        over the probes of every hop reported)
//   netprobe_probe_sent_total            counter of attempts
//   netprobe_probe_received_total        counter of answers (traceroute: routers'
//                                        too)
//   netprobe_probe_last_run_timestamp_seconds  gauge, when the last run started
//   netprobe_probe_runs_total            counter per probe
//   netprobe_probe_run_errors_total      counter per probe: runs that failed to
//                                        start or ended early
//   netprobe_probe_skipped_runs_total    counter per probe: due while the last
//                                        still ran
//   netprobe_probe_run_duration_seconds  gauge per probe, the last run's
// Traceroute probes add, per target:
//   netprobe_traceroute_hops             gauge, the TTL at which the target
//                                        answered in the last run; 0: not reached
//                                        (not "_hop_count": promtool's lint keeps
//                                        _count for histograms and summaries)
//   netprobe_traceroute_path_changes_total  counter of runs whose path (flow
//                                        0's addresses per TTL) differs from the
//                                        runs' before (TraceRunPath)
//   netprobe_traceroute_path_changes     gauge, mtr mode (rounds): the last run's
//                                        summary.path_changes
// and per hop, with the label hop="TTL" (at most max_ttl <= 255 values, never
// an address), the last run's hops only (series of hops the last run did not
// report are removed), each over all the flows of that TTL (TraceHopPoints):
//   netprobe_traceroute_hop_loss_ratio   gauge, 0..1
//   netprobe_traceroute_hop_rtt_avg_seconds  gauge; absent for a silent hop
// Throughput probes add, per target, from the last run's summary (series a
// run cannot tell are removed, none stale):
//   netprobe_throughput_bytes_per_second{direction="send"|"receive"}  gauge,
//                                        the receiver's goodput summed over the
//                                        streams (the totals of stream_id 0), in
//                                        bytes/s (Prometheus's base unit; promtool
//                                        refuses "bits"):
//                                        "send" when the agent sent (the far
//                                        end's count, from the result exchange),
//                                        "receive" when it received; both for
//                                        a bidirectional test
//   netprobe_throughput_retransmits      gauge, TCP segments the agent
//                                        retransmitted while it sent (only
//                                        when the agent sends)
//   netprobe_throughput_limited_by{limit="send_buffer"|"receive_window"|
//                                  "network"|"application"}  gauge, 1 for the
//                                        verdict on the agent's sending, 0 for
//                                        the others (none when there is no
//                                        verdict: UDP, the agent only received)
// Thread-safe (the registry is; the traces' state has its mutex; the hub is
// fed on the loop thread).
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
  // What the traceroute series of one (probe, target) need from the runs
  // before: the previous path, and the hops that have series now.
  struct TraceState {
    // Each TTL's addresses in the last run it answered in (TraceRunPath),
    // and the last TTL at which the target answered (0: never yet).
    std::map<uint32_t, std::vector<std::string>> path;
    uint32_t reached_ttl = 0;
    std::set<uint32_t> loss_hops, rtt_hops;  // the hops with series now
  };
  // The traceroute families of one result (`trace` null: the run reported
  // no trace).
  void OnTrace(const metrics::Labels& labels, const std::string& probe,
               const std::string& target, const v1::ScheduledTrace* trace);
  // The throughput families of one result (`summary` null: the run reported
  // no summary).
  void OnThroughput(const metrics::Labels& labels, const v1::ThroughputSummary* summary);

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
  metrics::GaugeFamily& hop_count_;
  metrics::CounterFamily& path_changes_total_;
  metrics::GaugeFamily& path_changes_;
  metrics::GaugeFamily& hop_loss_;
  metrics::GaugeFamily& hop_rtt_;
  metrics::GaugeFamily& throughput_goodput_;
  metrics::GaugeFamily& throughput_retransmits_;
  metrics::GaugeFamily& throughput_limited_by_;
  absl::Mutex trace_mu_;
  // By (probe, target label).
  std::map<std::pair<std::string, std::string>, TraceState> traces_
      ABSL_GUARDED_BY(trace_mu_);
};

// One TTL of a traceroute run, all its flows together (sent and received
// summed; the RTT average weighted by each flow's answers): what the per-hop
// series of /metrics and /probe show.
struct TraceHopPoint {
  uint32_t ttl = 0;
  double loss_ratio = 0;                  // 0..1
  std::optional<double> rtt_avg_seconds;  // none: no probe of the hop answered
};
// The hops `trace` reports, by ascending TTL.
std::vector<TraceHopPoint> TraceHopPoints(const v1::ScheduledTrace& trace);

// The path of a trace for telling path changes: for each TTL of flow 0 that
// answered, its addresses (sorted: the order they answered in is no change).
// A run's path differs from what came before when a TTL answered from other
// addresses than in the last run it answered in, or the target answered at
// another TTL than the last time it answered; a hop silent in one run (or a
// target that stopped answering) is loss, not a path change.
std::map<uint32_t, std::vector<std::string>> TraceRunPath(
    const v1::ScheduledTrace& trace);
bool PathChanged(const std::map<uint32_t, std::vector<std::string>>& before,
                 uint32_t reached_before,
                 const std::map<uint32_t, std::vector<std::string>>& after,
                 uint32_t reached_after);

// The RTT histogram's default buckets, in seconds: 10us to 10s in 1-2.5-5
// steps (lab and data-centre RTTs of 20 to 100us fall apart, not all in one).
std::vector<double> RttBuckets();
// Checks configured buckets (`field` names them in the error): 1 to
// kMaxRttBuckets finite values above 0, strictly ascending.
inline constexpr size_t kMaxRttBuckets = 64;
absl::Status CheckRttBuckets(const std::vector<double>& buckets, absl::string_view field);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_PROBE_METRICS_H_
