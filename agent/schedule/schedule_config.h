#ifndef NETPROBE_AGENT_SCHEDULE_SCHEDULE_CONFIG_H_
#define NETPROBE_AGENT_SCHEDULE_SCHEDULE_CONFIG_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/policy/caller.h"
#include "agent/policy/policy.h"
#include "agent/schedule/mesh_config.h"
#include "agent/schedule/probe_request.h"
#include "netprobe/v1/config.pb.h"

namespace netprobe {

// A validated config.scheduled_probes entry.
struct ScheduledProbeSpec {
  std::string name;
  absl::Duration interval = absl::Seconds(60);
  // Sorted by name: the extra labels of its metrics and results.
  std::vector<std::pair<std::string, std::string>> labels;
  ProbeRequest request;
};

// A validated config.modules entry.
struct ModuleSpec {
  std::string name;
  absl::Duration timeout = absl::Seconds(10);
  ProbeRequest request;
};

struct ScheduleConfig {
  std::vector<ScheduledProbeSpec> probes;
  std::vector<ModuleSpec> modules;
  // The entries with a mesh (not in `probes`: a mesh is many requests).
  std::vector<MeshSpec> meshes;
};

inline constexpr int kMaxScheduledProbes = 1000;
inline constexpr int kMaxModules = 100;
inline constexpr int kMaxProbeLabels = 16;
inline constexpr absl::Duration kMinScheduleInterval = absl::Seconds(1);
inline constexpr absl::Duration kMaxScheduleInterval = absl::Hours(24);
inline constexpr absl::Duration kMaxModuleTimeout = absl::Seconds(60);

// Checks the config's scheduled_probes and modules: names, labels,
// intervals, and each request as its RPC would check it, and that a run fits
// in its interval (a module's in its timeout; a throughput test's omit +
// duration + kThroughputSetup strictly below it). INVALID_ARGUMENT naming
// the field, e.g. "scheduled_probes[1].ping.count: ...".
// Mesh entries: ValidateMesh, and all of them together within
// kMaxMeshSeries (naming max_peers and the cap).
absl::StatusOr<ScheduleConfig> ValidateSchedule(const v1::AgentConfig& config);

// The caller a scheduled probe's runs are admitted as: peer
// "scheduler:NAME", no identity (no policy.identities rule matches it: the
// policy's own enabled_probes and limits apply), origin kSchedule (every
// grant: the config is the administrator's).
Caller SchedulerCaller(const std::string& name);

// Whether `policy` admits each scheduled probe as its runs will be admitted
// (as the caller SchedulerCaller(name), which no identity rule matches: the
// policy's own enabled_probes and limits): its kind enabled, and a
// throughput test within the policy's throughput limits. PERMISSION_DENIED
// naming the entry and the policy field, so a config whose runs would all
// be refused fails when it loads, not at every run.
absl::Status CheckSchedulePolicy(const ScheduleConfig& schedule, const Policy& policy);

// [a-zA-Z_][a-zA-Z0-9_.-]*, 1..64 characters.
bool ValidScheduleName(absl::string_view name);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_SCHEDULE_CONFIG_H_
