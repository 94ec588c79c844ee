#include "agent/server/agent_metrics.h"

#include "agent/probes/traffic_counters.h"
#include "agent/server/version.h"

namespace netprobe {

metrics::CounterFamily& RpcCounter(metrics::Registry* registry) {
  return registry->Counter("netprobe_rpcs_total",
                           "gRPC calls finished, by method and status code");
}

metrics::Registry::CollectorId AddAgentMetrics(metrics::Registry* registry,
                                               AgentMetricSources sources) {
  using metrics::MetricType;
  return registry->AddCollector([sources =
                                     std::move(sources)](metrics::ExpositionWriter& out) {
    out.Family("netprobe_build_info", MetricType::kGauge,
               "The agent's version, as a label");
    out.Sample("netprobe_build_info", {{"version", kNetprobeVersion}}, 1);
    out.Family("netprobe_active_probes", MetricType::kGauge,
               "Probes running (RPCs, scheduled runs, /probe scrapes)");
    out.Sample("netprobe_active_probes", {},
               static_cast<double>(sources.active_probes()));
    out.Family("netprobe_active_streams", MetricType::kGauge,
               "Server streams open (probe RPCs and WatchResults)");
    out.Sample("netprobe_active_streams", {},
               static_cast<double>(sources.active_streams()));
    out.Family("netprobe_watch_subscribers", MetricType::kGauge,
               "WatchResults streams open");
    out.Sample("netprobe_watch_subscribers", {},
               static_cast<double>(sources.watch_subscribers()));

    const TrafficCounters& traffic = TrafficCounters::Get();
    out.Family("netprobe_packets_sent_total", MetricType::kCounter,
               "Packets the probes sent (a TCP connect counts its SYN)");
    for (int i = 0; i < kSendingProbes; ++i) {
      out.Sample("netprobe_packets_sent_total", {{"probe", kSendingProbeNames[i]}},
                 static_cast<double>(traffic.sent(i)));
    }
    out.Family("netprobe_stream_events_dropped_total", MetricType::kCounter,
               "Events dropped because a stream's client read too slowly (each is "
               "reported in its stream)");
    out.Sample("netprobe_stream_events_dropped_total", {},
               static_cast<double>(traffic.stream_events_dropped()));
    out.Family("netprobe_capture_packets_dropped_total", MetricType::kCounter,
               "Captured packets dropped because the client read too slowly");
    out.Sample("netprobe_capture_packets_dropped_total", {},
               static_cast<double>(traffic.capture_packets_dropped()));
    out.Family("netprobe_watch_results_dropped_total", MetricType::kCounter,
               "Scheduled results dropped because a WatchResults client read too slowly");
    out.Sample("netprobe_watch_results_dropped_total", {},
               static_cast<double>(sources.watch_results_dropped()));
  });
}

metrics::Registry::CollectorId AddIperfServerMetrics(metrics::Registry* registry,
                                                     const iperf3::Server* server) {
  using metrics::MetricType;
  return registry->AddCollector([server](metrics::ExpositionWriter& out) {
    out.Family("netprobe_iperf_server_tests_total", MetricType::kCounter,
               "iperf3 server: tests that began (TEST_START sent)");
    out.Sample("netprobe_iperf_server_tests_total", {},
               static_cast<double>(server->tests_started()));
    out.Family("netprobe_iperf_server_tests_completed_total", MetricType::kCounter,
               "iperf3 server: tests that ended with their results exchanged");
    out.Sample("netprobe_iperf_server_tests_completed_total", {},
               static_cast<double>(server->tests_completed()));
    out.Family("netprobe_iperf_server_refused_total", MetricType::kCounter,
               "iperf3 server: tests refused, by reason (busy: max tests running; "
               "client_not_allowed; over_limits: duration, streams, block size; "
               "bad_params; timeout: no cookie or parameters in time)");
    for (int i = 0; i < iperf3::kRefusalCount; ++i) {
      const auto reason = static_cast<iperf3::Refusal>(i);
      out.Sample("netprobe_iperf_server_refused_total",
                 {{"reason", std::string(iperf3::RefusalName(reason))}},
                 static_cast<double>(server->refused(reason)));
    }
    out.Family("netprobe_iperf_server_active_tests", MetricType::kGauge,
               "iperf3 server: tests open now (from the cookie to the end)");
    out.Sample("netprobe_iperf_server_active_tests", {},
               static_cast<double>(server->active_tests()));
  });
}

}  // namespace netprobe
