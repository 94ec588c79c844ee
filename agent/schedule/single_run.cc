#include "agent/schedule/single_run.h"

#include <memory>

#include "agent/metrics/http_listen_address.h"
#include "agent/probes/throughput_request.h"

namespace netprobe {
namespace {

template <typename Request>
struct EventOf;
template <>
struct EventOf<v1::PingRequest> {
  using type = v1::PingEvent;
};
template <>
struct EventOf<v1::TcpConnectRequest> {
  using type = v1::TcpConnectEvent;
};
template <>
struct EventOf<v1::UdpEchoRequest> {
  using type = v1::UdpEchoEvent;
};
template <>
struct EventOf<v1::TracerouteRequest> {
  using type = v1::TracerouteEvent;
};
template <>
struct EventOf<v1::ThroughputRequest> {
  using type = v1::ThroughputEvent;
};

}  // namespace

absl::StatusOr<ProbeRegistry::ProbeId> StartRun(ProbeStarter* service,
                                                const Caller& caller,
                                                const ProbeRequest& request,
                                                RttObserver on_rtt,
                                                std::function<void(RunOutcome)> done) {
  return std::visit(
      [&](const auto& typed) -> absl::StatusOr<ProbeRegistry::ProbeId> {
        using Event = typename EventOf<std::remove_cvref_t<decltype(typed)>>::type;
        return service->Start(
            caller, typed,
            std::make_shared<RunCollector<Event>>(std::move(on_rtt), std::move(done)));
      },
      request);
}

std::vector<std::string> RequestTargets(const ProbeRequest& request) {
  if (const auto* ping = std::get_if<v1::PingRequest>(&request)) {
    return {ping->targets().begin(), ping->targets().end()};
  }
  if (const auto* tcp = std::get_if<v1::TcpConnectRequest>(&request)) {
    return {tcp->targets().begin(), tcp->targets().end()};
  }
  if (const auto* udp = std::get_if<v1::UdpEchoRequest>(&request)) {
    return {udp->target()};
  }
  if (const auto* trace = std::get_if<v1::TracerouteRequest>(&request)) {
    return {trace->target()};
  }
  return {ThroughputTargetLabel(std::get<v1::ThroughputRequest>(request))};
}

std::string ThroughputTargetLabel(const v1::ThroughputRequest& request) {
  // As the probe's summary names it: host and port, iperf3's by default.
  v1::ThroughputRequest target;
  target.set_target(request.target());
  target.set_family(request.family());
  absl::StatusOr<ThroughputPlan> plan = ValidateThroughput(target);
  if (!plan.ok()) return request.target();
  return metrics::FormatHostPort(plan->host, plan->port);
}

std::string TargetLabel(const v1::Endpoint& endpoint) {
  if (endpoint.port() == 0) return endpoint.host();
  return metrics::FormatHostPort(endpoint.host(), static_cast<uint16_t>(endpoint.port()));
}

}  // namespace netprobe
