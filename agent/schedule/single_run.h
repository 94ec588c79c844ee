#ifndef NETPROBE_AGENT_SCHEDULE_SINGLE_RUN_H_
#define NETPROBE_AGENT_SCHEDULE_SINGLE_RUN_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/probes/probe_registry.h"
#include "agent/schedule/probe_request.h"
#include "agent/schedule/probe_starter.h"
#include "agent/schedule/run_collector.h"

namespace netprobe {

// Starts one run of `request` for `caller` through the RPC's code path
// (validation, policy, probe). `done` runs once, on the loop thread, when
// the probe finishes, unless it is cancelled first (ProbeStarter::Cancel).
// On error nothing was started and `done` is never called.
absl::StatusOr<ProbeRegistry::ProbeId> StartRun(ProbeStarter* service,
                                                const Caller& caller,
                                                const ProbeRequest& request,
                                                RttObserver on_rtt,
                                                std::function<void(RunOutcome)> done);

// The targets `request` names, as the summaries' labels spell them.
std::vector<std::string> RequestTargets(const ProbeRequest& request);

// A throughput request's target as its summary's target label spells it:
// "host:5201" for "host" (iperf3's port), "[v6]:port".
std::string ThroughputTargetLabel(const v1::ThroughputRequest& request);

// "198.18.0.11" for ping, "host:port" / "[v6]:port" where a port applies.
std::string TargetLabel(const v1::Endpoint& endpoint);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_SINGLE_RUN_H_
