#ifndef NETPROBE_AGENT_SCHEDULE_PROBE_ENDPOINT_H_
#define NETPROBE_AGENT_SCHEDULE_PROBE_ENDPOINT_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/metrics/http_endpoint.h"
#include "agent/schedule/probe_starter.h"
#include "agent/schedule/schedule_config.h"

namespace netprobe {

// /probe?module=NAME&target=HOST, blackbox_exporter's contract: runs module
// NAME once against HOST (as the caller "http:<peer>", under the policy like
// an anonymous RPC) and answers that run's metrics:
//   probe_success, probe_duration_seconds, probe_sent, probe_received,
//   probe_loss_ratio, probe_rtt_seconds{stat="min|avg|max|stddev|p50|p90|p99"};
// a traceroute module (success: the target itself answered; rtt: of the hop
// where it did) adds the run's counterparts of /metrics' traceroute series:
//   probe_traceroute_hops, probe_traceroute_path_changes (mtr mode),
//   probe_traceroute_hop_loss_ratio{hop="TTL"},
//   probe_traceroute_hop_rtt_avg_seconds{hop="TTL"} (hops that answered).
// A target that does not answer is probe_success 0 (HTTP 200); a request
// that cannot run is an HTTP error naming the parameter: 400 (unknown
// module, missing or malformed target), 403 (policy), 429 (limits).
// Thread-safe; Handle() blocks its (HTTP worker) thread until the run ends,
// at most the module's timeout plus a second.
class ProbeEndpoint {
 public:
  ProbeEndpoint(ProbeStarter* service, std::vector<ModuleSpec> modules)
      : service_(service), modules_(std::move(modules)) {}

  // The modules from now on (SIGHUP); runs in progress keep theirs.
  void SetModules(std::vector<ModuleSpec> modules);

  metrics::HttpReply Handle(const metrics::HttpQuery& query);

 private:
  ProbeStarter* const service_;
  absl::Mutex mu_;
  std::vector<ModuleSpec> modules_ ABSL_GUARDED_BY(mu_);
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SCHEDULE_PROBE_ENDPOINT_H_
