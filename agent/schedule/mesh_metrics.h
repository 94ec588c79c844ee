#ifndef NETPROBE_AGENT_SCHEDULE_MESH_METRICS_H_
#define NETPROBE_AGENT_SCHEDULE_MESH_METRICS_H_

#include <string>
#include <vector>

#include "agent/metrics/registry.h"
#include "agent/schedule/mesh_scheduler.h"

namespace netprobe {

// The mesh entries' metrics (README: netprobe_mesh_*). Per peer and kind
// (labels probe, kind, peer and the entry's labels), from the last finished
// round: netprobe_mesh_success, _loss_ratio, _rtt_avg_seconds (absent when
// nothing answered) and the _rtt_seconds histogram (unless
// no_rtt_histogram). Per entry: _peers, _rounds_total,
// _skipped_rounds_total, _round_duration_seconds, _resolve_errors_total,
// and per kind _attempts_total, _answers_total, _attempt_errors_total. A
// peer gone from the expansion loses its series at once; an entry removed
// or changed loses all of them. The histogram's bounds are those of the
// first mesh entry seen (one family, one set of bounds). Called on the loop
// thread; the registry is thread-safe.
class MeshMetrics final : public MeshObserver {
 public:
  explicit MeshMetrics(metrics::Registry* registry) : registry_(registry) {}

  void OnPeers(const MeshSpec& spec, const std::vector<std::string>& peers,
               const std::vector<std::string>& gone) override;
  void OnRound(const MeshSpec& spec, const MeshRound& round) override;
  void OnSkipped(const MeshSpec& spec) override;
  void OnResolveError(const MeshSpec& spec, const absl::Status& error) override;
  void OnRemoved(const std::string& name) override;

 private:
  metrics::HistogramFamily& Histogram(const MeshSpec& spec);

  metrics::Registry* const registry_;
  metrics::HistogramFamily* histogram_ = nullptr;
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_MESH_METRICS_H_
