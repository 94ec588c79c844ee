#include "agent/schedule/schedule_config.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/policy/plan_limits.h"
#include "agent/probes/throughput_request.h"
#include "common/proto_time.h"

namespace netprobe {

Caller SchedulerCaller(const std::string& name) {
  Caller caller;
  caller.peer = "scheduler:" + name;
  caller.origin = Caller::Origin::kSchedule;
  return caller;
}
namespace {

bool ValidLabelName(absl::string_view name) {
  if (name.empty() || absl::StartsWith(name, "__")) return false;
  if (absl::ascii_isdigit(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return absl::ascii_isalnum(c) || c == '_'; });
}

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status CheckName(absl::string_view name, absl::string_view field,
                       std::set<std::string>* seen) {
  if (!ValidScheduleName(name)) {
    return Invalid(field, absl::StrCat("'", name,
                                       "' is not 1..64 characters of [a-zA-Z0-9_.-] "
                                       "starting with a letter or _"));
  }
  if (!seen->insert(std::string(name)).second) {
    return Invalid(field, absl::StrCat("'", name, "' is used twice"));
  }
  return absl::OkStatus();
}

std::string Seconds(absl::Duration d) { return absl::FormatDuration(d); }

}  // namespace

bool ValidScheduleName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!absl::ascii_isalpha(name[0]) && name[0] != '_') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

absl::Status CheckSchedulePolicy(const ScheduleConfig& schedule, const Policy& policy) {
  // A mesh keeps up to kMeshInFlight attempts in flight (each a probe of
  // its caller): a policy that refuses some of them would turn healthy
  // paths into losses, so such a config is refused instead.
  uint64_t mesh_in_flight = 0;
  for (const MeshSpec& mesh : schedule.meshes) {
    const Caller caller = SchedulerCaller(mesh.name);
    const v1::PolicyLimits limits = policy.LimitsFor(caller);
    mesh_in_flight += kMeshInFlight;
    if (limits.has_concurrent_probes_per_client() &&
        limits.concurrent_probes_per_client() < kMeshInFlight) {
      return absl::PermissionDeniedError(absl::StrCat(
          "policy.limits.concurrent_probes_per_client: ",
          limits.concurrent_probes_per_client(), " is below the ", kMeshInFlight,
          " attempts mesh '", mesh.name,
          "' keeps in flight (its attempts above it would be refused and read as "
          "loss); give at least ",
          kMeshInFlight));
    }
    if (limits.has_concurrent_probes_total() &&
        limits.concurrent_probes_total() < mesh_in_flight) {
      return absl::PermissionDeniedError(absl::StrCat(
          "policy.limits.concurrent_probes_total: ", limits.concurrent_probes_total(),
          " is below the ", mesh_in_flight, " attempts the mesh entries (up to '",
          mesh.name, "') keep in flight, ", kMeshInFlight,
          " each (their attempts above it would be refused and read as loss); give at "
          "least ",
          mesh_in_flight, " plus what the other callers need"));
    }
    for (const MeshKind& kind : mesh.plan.kinds) {
      if (absl::Status enabled = policy.CheckProbe(caller, kind.name); !enabled.ok()) {
        return absl::PermissionDeniedError(
            absl::StrCat("scheduled_probes ('", mesh.name, "').mesh: ", enabled.message(),
                         "; its attempts would all be refused"));
      }
    }
  }
  for (size_t i = 0; i < schedule.probes.size(); ++i) {
    const ScheduledProbeSpec& spec = schedule.probes[i];
    const std::string field =
        absl::StrCat("scheduled_probes[", i, "] ('", spec.name, "')");
    const Caller caller = SchedulerCaller(spec.name);
    if (absl::Status enabled = policy.CheckProbe(caller, KindOf(spec.request));
        !enabled.ok()) {
      return absl::PermissionDeniedError(absl::StrCat(field, ": ", enabled.message(),
                                                      "; its runs would all be refused"));
    }
    const auto* throughput = std::get_if<v1::ThroughputRequest>(&spec.request);
    if (throughput == nullptr) continue;
    absl::StatusOr<ThroughputPlan> plan = ValidateThroughput(*throughput);
    if (!plan.ok()) return plan.status();  // ValidateSchedule checked it
    if (absl::Status within = CheckPlanLimits(policy.LimitsFor(caller), *plan);
        !within.ok()) {
      return absl::PermissionDeniedError(absl::StrCat(
          field, ".throughput: ", within.message(), "; its runs would all be refused"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ScheduleConfig> ValidateSchedule(const v1::AgentConfig& config) {
  ScheduleConfig out;
  if (config.scheduled_probes_size() > kMaxScheduledProbes) {
    return Invalid("scheduled_probes",
                   absl::StrCat(config.scheduled_probes_size(),
                                " entries, above the limit of ", kMaxScheduledProbes));
  }
  if (config.modules_size() > kMaxModules) {
    return Invalid("modules", absl::StrCat(config.modules_size(),
                                           " entries, above the limit of ", kMaxModules));
  }
  std::set<std::string> names;
  uint64_t mesh_series = 0;
  for (int i = 0; i < config.scheduled_probes_size(); ++i) {
    const v1::ScheduledProbe& entry = config.scheduled_probes(i);
    const std::string field = absl::StrCat("scheduled_probes[", i, "]");
    ScheduledProbeSpec spec;
    if (absl::Status named = CheckName(entry.name(), field + ".name", &names);
        !named.ok()) {
      return named;
    }
    spec.name = entry.name();
    if (entry.has_interval()) spec.interval = FromProto(entry.interval());
    if (spec.interval < kMinScheduleInterval || spec.interval > kMaxScheduleInterval) {
      return Invalid(field + ".interval",
                     absl::StrCat(Seconds(spec.interval), " is not from ",
                                  Seconds(kMinScheduleInterval), " to ",
                                  Seconds(kMaxScheduleInterval)));
    }
    if (entry.labels_size() > kMaxProbeLabels) {
      return Invalid(field + ".labels",
                     absl::StrCat(entry.labels_size(), " labels, above the limit of ",
                                  kMaxProbeLabels));
    }
    for (const auto& [name, value] : entry.labels()) {
      if (!ValidLabelName(name) || name == "probe" || name == "target" ||
          name == "kind" || name == "agent") {
        return Invalid(
            field + ".labels",
            absl::StrCat("'", name,
                         "' is not a label name of its own ([a-zA-Z_][a-zA-Z0-9_]*, "
                         "not __*, probe, target, kind or agent)"));
      }
      spec.labels.emplace_back(name, value);
    }
    std::sort(spec.labels.begin(), spec.labels.end());
    if (entry.has_mesh()) {
      if (entry.labels().count("peer") > 0) {
        return Invalid(field + ".labels",
                       "'peer' is not a label name of its own in a mesh entry (its "
                       "metrics label each peer with it)");
      }
      MeshSpec mesh;
      mesh.name = spec.name;
      mesh.field = field;
      mesh.interval = spec.interval;
      mesh.labels = spec.labels;
      mesh.request = entry.mesh();
      absl::StatusOr<MeshPlan> plan = ValidateMesh(entry.mesh(), spec.interval, field);
      if (!plan.ok()) return plan.status();
      mesh.plan = *std::move(plan);
      // Each kind's attempt as its RPC would check it (the size).
      for (const MeshKind& kind : mesh.plan.kinds) {
        absl::StatusOr<absl::Duration> longest =
            LongestRun(MeshAttemptRequest(mesh.plan, kind, "127.0.0.1"), field + ".mesh");
        if (!longest.ok()) return longest.status();
      }
      mesh_series += mesh.plan.MaxSeries();
      if (mesh_series > kMaxMeshSeries) {
        return Invalid(field + ".mesh.max_peers",
                       absl::StrCat("the mesh entries' series (max_peers x kinds x "
                                    "series per peer and kind, added up) come to ",
                                    mesh_series, ", above the cap of ", kMaxMeshSeries,
                                    " (kMaxMeshSeries)"));
      }
      out.meshes.push_back(std::move(mesh));
      continue;
    }
    absl::StatusOr<ProbeRequest> request = RequestOf(entry, field);
    if (!request.ok()) return request.status();
    spec.request = *std::move(request);
    absl::StatusOr<absl::Duration> longest = LongestRun(spec.request, field);
    if (!longest.ok()) return longest.status();
    if (const auto* throughput = std::get_if<v1::ThroughputRequest>(&spec.request);
        throughput != nullptr && *longest >= spec.interval) {
      // A link load leaves the link alone for part of each interval.
      absl::StatusOr<ThroughputPlan> plan = ValidateThroughput(*throughput);
      if (!plan.ok()) return plan.status();  // LongestRun accepted it
      return Invalid(
          field + ".throughput.duration",
          absl::StrCat(throughput->has_duration() ? "" : "unset, the default ",
                       Seconds(plan->duration),
                       plan->omit > absl::ZeroDuration()
                           ? absl::StrCat(" + omit ", Seconds(plan->omit))
                           : "",
                       " + ", Seconds(kThroughputSetup),
                       " for connecting and exchanging results is ", Seconds(*longest),
                       ", not below the interval ", Seconds(spec.interval),
                       " (a shorter duration or a longer interval)"));
    }
    if (*longest > spec.interval) {
      return Invalid(field,
                     absl::StrCat("one run may take up to ", Seconds(*longest),
                                  ", longer than its interval ", Seconds(spec.interval),
                                  " (fewer attempts, a shorter timeout or a "
                                  "longer interval)"));
    }
    out.probes.push_back(std::move(spec));
  }
  std::set<std::string> module_names;
  for (int i = 0; i < config.modules_size(); ++i) {
    const v1::ProbeModule& entry = config.modules(i);
    const std::string field = absl::StrCat("modules[", i, "]");
    ModuleSpec spec;
    if (absl::Status named = CheckName(entry.name(), field + ".name", &module_names);
        !named.ok()) {
      return named;
    }
    spec.name = entry.name();
    if (entry.has_timeout()) spec.timeout = FromProto(entry.timeout());
    if (spec.timeout < absl::Seconds(1) || spec.timeout > kMaxModuleTimeout) {
      return Invalid(field + ".timeout",
                     absl::StrCat(Seconds(spec.timeout), " is not from 1s to ",
                                  Seconds(kMaxModuleTimeout)));
    }
    absl::StatusOr<ProbeRequest> request = RequestOf(entry, field);
    if (!request.ok()) return request.status();
    // Validated with a placeholder target: /probe supplies the real one.
    const bool host_only = std::holds_alternative<v1::PingRequest>(*request) ||
                           std::holds_alternative<v1::TracerouteRequest>(*request);
    spec.request =
        WithTarget(*std::move(request), host_only ? "127.0.0.1" : "127.0.0.1:1");
    absl::StatusOr<absl::Duration> longest = LongestRun(spec.request, field);
    if (!longest.ok()) return longest.status();
    if (*longest > spec.timeout) {
      return Invalid(field,
                     absl::StrCat("one run may take up to ", Seconds(*longest),
                                  ", longer than its timeout ", Seconds(spec.timeout)));
    }
    out.modules.push_back(std::move(spec));
  }
  return out;
}

}  // namespace netprobe
