#include "agent/schedule/single_run.h"

#include <memory>

#include "agent/metrics/http_listen_address.h"

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
  return {std::get<v1::TracerouteRequest>(request).target()};
}

std::string TargetLabel(const v1::Endpoint& endpoint) {
  if (endpoint.port() == 0) return endpoint.host();
  return metrics::FormatHostPort(endpoint.host(), static_cast<uint16_t>(endpoint.port()));
}

}  // namespace netprobe
