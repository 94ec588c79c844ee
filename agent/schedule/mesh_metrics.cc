#include "agent/schedule/mesh_metrics.h"

namespace netprobe {
namespace {

metrics::Labels EntryLabels(const MeshSpec& spec) {
  metrics::Labels labels = {{"probe", spec.name}};
  for (const auto& [key, value] : spec.labels) labels.emplace_back(key, value);
  return labels;
}

metrics::Labels KindLabels(const MeshSpec& spec, const std::string& kind) {
  metrics::Labels labels = EntryLabels(spec);
  labels.emplace_back("kind", kind);
  return labels;
}

metrics::Labels PeerLabels(const MeshSpec& spec, const std::string& kind,
                           const std::string& peer) {
  metrics::Labels labels = KindLabels(spec, kind);
  labels.emplace_back("peer", peer);
  return labels;
}

metrics::GaugeFamily& Success(metrics::Registry* r) {
  return r->Gauge("netprobe_mesh_success",
                  "1 when an attempt of the mesh's last round to the peer was answered");
}
metrics::GaugeFamily& Loss(metrics::Registry* r) {
  return r->Gauge("netprobe_mesh_loss_ratio",
                  "Unanswered / sent attempts to the peer in the mesh's last round");
}
metrics::GaugeFamily& RttAvg(metrics::Registry* r) {
  return r->Gauge("netprobe_mesh_rtt_avg_seconds",
                  "Average RTT of the answered attempts to the peer in the last round");
}
metrics::GaugeFamily& Peers(metrics::Registry* r) {
  return r->Gauge("netprobe_mesh_peers", "Peers of the mesh's last good expansion");
}
metrics::CounterFamily& Rounds(metrics::Registry* r) {
  return r->Counter("netprobe_mesh_rounds_total", "Rounds of the mesh finished");
}
metrics::CounterFamily& Skipped(metrics::Registry* r) {
  return r->Counter("netprobe_mesh_skipped_rounds_total",
                    "Rounds due while the mesh's previous round still ran");
}
metrics::GaugeFamily& Duration(metrics::Registry* r) {
  return r->Gauge("netprobe_mesh_round_duration_seconds",
                  "How long the mesh's last round took");
}
metrics::CounterFamily& ResolveErrors(metrics::Registry* r) {
  return r->Counter("netprobe_mesh_resolve_errors_total",
                    "Expansions of the mesh's names that failed, came to no peer or to "
                    "more than max_peers (the last good peers are kept)");
}
metrics::CounterFamily& Attempts(metrics::Registry* r) {
  return r->Counter("netprobe_mesh_attempts_total", "Attempts of the mesh, by kind");
}
metrics::CounterFamily& Answers(metrics::Registry* r) {
  return r->Counter("netprobe_mesh_answers_total",
                    "Answered attempts of the mesh, by kind");
}
metrics::CounterFamily& AttemptErrors(metrics::Registry* r) {
  return r->Counter(
      "netprobe_mesh_attempt_errors_total",
      "Attempts of the mesh that could not start (policy, socket), by kind; "
      "each is also a loss");
}

}  // namespace

metrics::HistogramFamily& MeshMetrics::Histogram(const MeshSpec& spec) {
  if (histogram_ == nullptr) {
    histogram_ = &registry_->Histogram("netprobe_mesh_rtt_seconds",
                                       "RTT of the mesh's answered attempts to the peer",
                                       spec.plan.rtt_buckets);
  }
  return *histogram_;
}

void MeshMetrics::OnPeers(const MeshSpec& spec, const std::vector<std::string>& peers,
                          const std::vector<std::string>& gone) {
  const metrics::Labels entry = EntryLabels(spec);
  Peers(registry_).Set(entry, static_cast<double>(peers.size()));
  Rounds(registry_).Add(entry, 0);
  Skipped(registry_).Add(entry, 0);
  ResolveErrors(registry_).Add(entry, 0);
  for (const MeshKind& kind : spec.plan.kinds) {
    const metrics::Labels labels = KindLabels(spec, kind.name);
    Attempts(registry_).Add(labels, 0);
    Answers(registry_).Add(labels, 0);
    AttemptErrors(registry_).Add(labels, 0);
  }
  for (const std::string& peer : gone) {
    for (const MeshKind& kind : spec.plan.kinds) {
      const metrics::Labels labels = PeerLabels(spec, kind.name, peer);
      Success(registry_).Remove(labels);
      Loss(registry_).Remove(labels);
      RttAvg(registry_).Remove(labels);
      if (!spec.plan.no_rtt_histogram) Histogram(spec).Remove(labels);
    }
  }
}

void MeshMetrics::OnRound(const MeshSpec& spec, const MeshRound& round) {
  const metrics::Labels entry = EntryLabels(spec);
  Rounds(registry_).Add(entry, 1);
  Duration(registry_).Set(entry, absl::ToDoubleSeconds(round.duration));
  for (const MeshPeerResult& result : round.results) {
    const metrics::Labels labels = PeerLabels(spec, result.kind, result.peer);
    Success(registry_).Set(labels, result.answered > 0 ? 1 : 0);
    Loss(registry_).Set(labels, result.sent == 0
                                    ? 0
                                    : static_cast<double>(result.sent - result.answered) /
                                          static_cast<double>(result.sent));
    if (result.rtts.empty()) {
      RttAvg(registry_).Remove(labels);
    } else {
      absl::Duration sum;
      for (absl::Duration rtt : result.rtts) sum += rtt;
      RttAvg(registry_).Set(
          labels, absl::ToDoubleSeconds(sum) / static_cast<double>(result.rtts.size()));
    }
    if (!spec.plan.no_rtt_histogram) {
      metrics::HistogramFamily& histogram = Histogram(spec);
      for (absl::Duration rtt : result.rtts) {
        histogram.Observe(labels, absl::ToDoubleSeconds(rtt));
      }
    }
    const metrics::Labels kind = KindLabels(spec, result.kind);
    Attempts(registry_).Add(kind, result.sent);
    Answers(registry_).Add(kind, result.answered);
    AttemptErrors(registry_).Add(kind, result.errors);
  }
}

void MeshMetrics::OnSkipped(const MeshSpec& spec) {
  Skipped(registry_).Add(EntryLabels(spec), 1);
}

void MeshMetrics::OnResolveError(const MeshSpec& spec, const absl::Status&) {
  ResolveErrors(registry_).Add(EntryLabels(spec), 1);
}

void MeshMetrics::OnRemoved(const std::string& name) {
  // Every family here labels its series with `probe`.
  registry_->RemoveMatching("probe", name);
}

}  // namespace netprobe
