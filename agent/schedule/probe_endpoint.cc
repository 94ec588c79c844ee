#include "agent/schedule/probe_endpoint.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "agent/metrics/exposition.h"
#include "agent/schedule/probe_metrics.h"
#include "agent/schedule/single_run.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

metrics::HttpReply Text(int status, std::string body) {
  metrics::HttpReply reply;
  reply.status = status;
  reply.content_type = "text/plain; charset=utf-8";
  reply.body = absl::StrCat(body, "\n");
  return reply;
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
      return 400;
    default:
      return 500;
  }
}

// What the loop thread hands back to the waiting HTTP thread.
struct RunWait {
  absl::Notification done;
  RunOutcome outcome;
};

// A traceroute module's families: the run's counterparts of /metrics'
// netprobe_traceroute_* (ScheduleMetrics), hop="TTL" over all flows.
void WriteTrace(const v1::ScheduledTrace& trace, metrics::ExpositionWriter& out) {
  out.Family("probe_traceroute_hops", metrics::MetricType::kGauge,
             "The TTL at which the target answered; 0 when it did not");
  out.Sample("probe_traceroute_hops", {},
             static_cast<double>(trace.summary().reached_ttl()));
  if (trace.summary().rounds() > 0) {
    out.Family("probe_traceroute_path_changes", metrics::MetricType::kGauge,
               "mtr mode: hop address changes between rounds");
    out.Sample("probe_traceroute_path_changes", {},
               static_cast<double>(trace.summary().path_changes()));
  }
  const std::vector<TraceHopPoint> points = TraceHopPoints(trace);
  if (points.empty()) return;
  out.Family("probe_traceroute_hop_loss_ratio", metrics::MetricType::kGauge,
             "Share of the probes of one TTL (all flows) without an answer, 0..1");
  for (const TraceHopPoint& point : points) {
    out.Sample("probe_traceroute_hop_loss_ratio", {{"hop", absl::StrCat(point.ttl)}},
               point.loss_ratio);
  }
  bool rtt_family = false;
  for (const TraceHopPoint& point : points) {
    if (!point.rtt_avg_seconds) continue;
    if (!std::exchange(rtt_family, true)) {
      out.Family("probe_traceroute_hop_rtt_avg_seconds", metrics::MetricType::kGauge,
                 "Average RTT of the answered probes of one TTL (all flows)");
    }
    out.Sample("probe_traceroute_hop_rtt_avg_seconds", {{"hop", absl::StrCat(point.ttl)}},
               *point.rtt_avg_seconds);
  }
}

std::string Exposition(const RunOutcome& outcome, bool finished) {
  metrics::ExpositionWriter out;
  const v1::TargetSummary* summary =
      outcome.summaries.empty() ? nullptr : &outcome.summaries.front();
  const bool success = finished && summary != nullptr && Reached(outcome, *summary);
  out.Family("probe_success", metrics::MetricType::kGauge,
             "1 when the target answered at least once");
  out.Sample("probe_success", {}, success ? 1 : 0);
  out.Family("probe_duration_seconds", metrics::MetricType::kGauge,
             "How long the probe took");
  out.Sample("probe_duration_seconds", {}, absl::ToDoubleSeconds(outcome.duration));
  if (summary == nullptr) return out.Take();
  out.Family("probe_sent", metrics::MetricType::kGauge, "Attempts sent");
  out.Sample("probe_sent", {}, static_cast<double>(summary->sent()));
  out.Family("probe_received", metrics::MetricType::kGauge, "Answers received");
  out.Sample("probe_received", {}, static_cast<double>(summary->received()));
  out.Family("probe_loss_ratio", metrics::MetricType::kGauge,
             "Share of attempts without an answer, 0..1");
  out.Sample("probe_loss_ratio", {},
             summary->sent() == 0 ? 1.0 : summary->loss_percent() / 100.0);
  if (summary->rtt().count() > 0) {
    const v1::DurationStats& rtt = summary->rtt();
    out.Family("probe_rtt_seconds", metrics::MetricType::kGauge,
               "RTT (connect time for TcpConnect) statistics of the answered attempts");
    const std::pair<const char*, const google::protobuf::Duration*> stats[] = {
        {"min", &rtt.min()},       {"avg", &rtt.avg()}, {"max", &rtt.max()},
        {"stddev", &rtt.stddev()}, {"p50", &rtt.p50()}, {"p90", &rtt.p90()},
        {"p99", &rtt.p99()}};
    for (const auto& [name, value] : stats) {
      out.Sample("probe_rtt_seconds", {{"stat", name}},
                 absl::ToDoubleSeconds(FromProto(*value)));
    }
  }
  if (outcome.trace) WriteTrace(*outcome.trace, out);
  return out.Take();
}

}  // namespace

void ProbeEndpoint::SetModules(std::vector<ModuleSpec> modules) {
  absl::MutexLock lock(&mu_);
  modules_ = std::move(modules);
}

metrics::HttpReply ProbeEndpoint::Handle(const metrics::HttpQuery& query) {
  const auto module_param = query.params.find("module");
  const auto target_param = query.params.find("target");
  if (target_param == query.params.end() || target_param->second.empty()) {
    return Text(400, "target: missing (/probe?module=NAME&target=HOST)");
  }
  std::optional<ModuleSpec> module;
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    for (const ModuleSpec& spec : modules_) {
      names.push_back(spec.name);
      if (module_param != query.params.end() && spec.name == module_param->second) {
        module = spec;
      }
    }
  }
  if (!module) {
    return Text(400,
                absl::StrCat("module: ",
                             module_param == query.params.end()
                                 ? std::string("missing")
                                 : absl::StrCat("unknown '", module_param->second, "'"),
                             " (configured: ",
                             names.empty() ? "none" : absl::StrJoin(names, ", "), ")"));
  }
  Caller caller;
  caller.peer = query.peer;
  caller.origin = Caller::Origin::kProbeEndpoint;
  auto wait = std::make_shared<RunWait>();
  absl::StatusOr<ProbeRegistry::ProbeId> id =
      StartRun(service_, caller, WithTarget(module->request, target_param->second),
               nullptr, [wait](RunOutcome outcome) {
                 wait->outcome = std::move(outcome);
                 wait->done.Notify();
               });
  if (!id.ok()) {
    return Text(HttpStatusFor(id.status().code()),
                absl::StrCat("target: ", id.status().message()));
  }
  // Validation bounded the run by the module's timeout; the margin covers
  // the loop's latency. Past it the run is abandoned and counts as failed.
  if (!wait->done.WaitForNotificationWithTimeout(module->timeout + absl::Seconds(1))) {
    service_->Cancel(*id);
    RunOutcome abandoned;
    abandoned.duration = module->timeout + absl::Seconds(1);
    metrics::HttpReply reply;
    reply.body = Exposition(abandoned, false);
    return reply;
  }
  const absl::Status& status = wait->outcome.status;
  if (status.code() == absl::StatusCode::kPermissionDenied ||
      status.code() == absl::StatusCode::kInvalidArgument) {
    // The resolved address was refused by the policy, or is of no use.
    return Text(HttpStatusFor(status.code()), absl::StrCat("target: ", status.message()));
  }
  metrics::HttpReply reply;
  reply.body = Exposition(wait->outcome, status.ok());
  return reply;
}

}  // namespace netprobe
