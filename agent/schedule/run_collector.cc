#include "agent/schedule/run_collector.h"

namespace netprobe {

v1::TargetSummary TraceTargetSummary(const v1::ScheduledTrace& trace) {
  v1::TargetSummary out;
  *out.mutable_target() = trace.summary().target();
  out.mutable_target()->clear_port();
  out.set_sent(trace.summary().sent());
  out.set_received(trace.summary().received());
  if (out.sent() > 0) {
    out.set_loss_percent(100.0 * static_cast<double>(out.sent() - out.received()) /
                         static_cast<double>(out.sent()));
  }
  const v1::TracerouteHop* reached = nullptr;
  for (const v1::TracerouteHop& hop : trace.hops()) {
    if (hop.reached() && hop.ttl() == trace.summary().reached_ttl() &&
        (reached == nullptr || hop.flow() < reached->flow())) {
      reached = &hop;
    }
  }
  if (reached != nullptr) *out.mutable_rtt() = reached->rtt();
  return out;
}

bool KeepResult(v1::TracerouteEvent& event, RunOutcome* outcome) {
  if (event.has_reply()) {
    event.mutable_reply()->mutable_target()->clear_port();
    return false;
  }
  if (event.has_hop()) {
    if (!outcome->trace) outcome->trace.emplace();
    *outcome->trace->add_hops() = std::move(*event.mutable_hop());
    return true;
  }
  if (!event.has_summary()) return false;
  if (!outcome->trace) outcome->trace.emplace();
  *outcome->trace->mutable_summary() = std::move(*event.mutable_summary());
  outcome->summaries.push_back(TraceTargetSummary(*outcome->trace));
  return true;
}

bool ThroughputSucceeded(const v1::ThroughputSummary& summary) {
  if (!summary.error().empty()) return false;
  for (const v1::ThroughputTotals& totals : summary.totals()) {
    if (totals.stream_id() == 0 && totals.receiver_bytes() > 0) return true;
  }
  return false;
}

v1::TargetSummary ThroughputTargetSummary(const v1::ThroughputSummary& summary) {
  v1::TargetSummary out;
  *out.mutable_target() = summary.target();
  out.set_sent(1);
  const bool succeeded = ThroughputSucceeded(summary);
  out.set_received(succeeded ? 1 : 0);
  out.set_loss_percent(succeeded ? 0 : 100);
  return out;
}

bool KeepResult(v1::ThroughputEvent& event, RunOutcome* outcome) {
  if (!event.has_summary()) return false;
  outcome->throughput = std::move(*event.mutable_summary());
  outcome->summaries.push_back(ThroughputTargetSummary(*outcome->throughput));
  return true;
}

}  // namespace netprobe
