#ifndef NETPROBE_AGENT_SERVER_AGENT_METRICS_H_
#define NETPROBE_AGENT_SERVER_AGENT_METRICS_H_

#include <functional>

#include "agent/iperf3/server.h"
#include "agent/metrics/registry.h"

namespace netprobe {

// What the agent's own metrics read at scrape time. Each must be
// thread-safe and outlive the collector (see RemoveCollector).
struct AgentMetricSources {
  std::function<size_t()> active_probes;
  std::function<size_t()> active_streams;
  std::function<size_t()> watch_subscribers;
  std::function<uint64_t()> watch_results_dropped;
};

// Adds the agent's own metrics to `registry`, computed at each scrape:
//   netprobe_build_info{version}                      gauge, 1
//   netprobe_active_probes, netprobe_active_streams   gauges
//   netprobe_watch_subscribers                        gauge (WatchResults streams)
//   netprobe_packets_sent_total{probe}                counter (a TCP connect is one)
//   netprobe_stream_events_dropped_total              counter (slow stream clients)
//   netprobe_capture_packets_dropped_total            counter (slow capture clients)
//   netprobe_watch_results_dropped_total              counter (slow WatchResults clients)
// RPCs are counted as they finish by CountRpc (netprobe_rpcs_total{method,code}).
metrics::Registry::CollectorId AddAgentMetrics(metrics::Registry* registry,
                                               AgentMetricSources sources);

// The iperf3 server's metrics, read at each scrape from `server` (which must
// outlive the registry's use of it):
//   netprobe_iperf_server_tests_total              counter (tests that began)
//   netprobe_iperf_server_tests_completed_total    counter (results exchanged)
//   netprobe_iperf_server_refused_total{reason}    counter (busy, client_not_allowed,
//                                                  over_limits, bad_params, timeout)
//   netprobe_iperf_server_active_tests             gauge
metrics::Registry::CollectorId AddIperfServerMetrics(metrics::Registry* registry,
                                                     const iperf3::Server* server);

// The RPC counter, for RpcLogInterceptorFactory's callback.
metrics::CounterFamily& RpcCounter(metrics::Registry* registry);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_AGENT_METRICS_H_
