#include "agent/probes/trace_capture.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "agent/net/icmp.h"
#include "agent/probes/flow_capture.h"
#include "agent/probes/ping_capture.h"

namespace netprobe {
namespace {

constexpr uint8_t kTcpSyn = 0x02, kTcpRst = 0x04;

bool IsFlowPort(const TraceTransport& transport, uint16_t port) {
  for (uint32_t f = 0; f < transport.flows(); ++f) {
    if (transport.flow_id(f) == port) return true;
  }
  return false;
}

}  // namespace

std::string TraceCaptureFilter(const TraceTransport& transport) {
  switch (transport.method()) {
    case TraceroutePlan::Method::kUdp:
      return FlowCaptureFilter(IPPROTO_UDP, {transport.target()});
    case TraceroutePlan::Method::kTcp:
      return FlowCaptureFilter(IPPROTO_TCP, {transport.target()});
    case TraceroutePlan::Method::kIcmp: {
      PingCaptureScope scope;
      const std::optional<uint16_t> id = transport.icmp_id();
      (transport.family() == AF_INET6 ? scope.id_v6 : scope.id_v4) = id.value_or(0);
      (transport.family() == AF_INET6 ? scope.v6 : scope.v4)
          .push_back(transport.target().ip());
      return PingCaptureFilter(scope);
    }
  }
  return "";
}

std::optional<uint32_t> TraceCapturedWire(const TraceTransport& transport,
                                          const CapturedIp& ip) {
  const SocketAddress& target = transport.target();
  switch (transport.method()) {
    case TraceroutePlan::Method::kUdp: {
      const std::optional<CapturedFlow> flow = ParseCapturedFlow(ip, IPPROTO_UDP);
      if (!flow || !IsFlowPort(transport, LocalPortTowards(*flow, target))) {
        return std::nullopt;
      }
      const icmp::PayloadHeader payload = icmp::ParsePayload(flow->payload);
      if (!payload.token || *payload.token != transport.token() || !payload.sequence) {
        return std::nullopt;
      }
      return transport.WireKey(*payload.sequence);
    }
    case TraceroutePlan::Method::kTcp: {
      const std::optional<CapturedFlow> flow = ParseCapturedFlow(ip, IPPROTO_TCP);
      if (!flow || !IsFlowPort(transport, LocalPortTowards(*flow, target))) {
        return std::nullopt;
      }
      const bool outgoing = SameEndpoint(flow->destination, target);
      if (flow->quoted) return transport.WireKey(flow->tcp_sequence);
      // Our SYN carries the wire number; the target answers it as ack - 1,
      // and our kernel's RST to its SYN-ACK has that ack as its sequence.
      if (outgoing && (flow->tcp_flags & kTcpSyn))
        return transport.WireKey(flow->tcp_sequence);
      if (outgoing && (flow->tcp_flags & kTcpRst)) {
        return transport.WireKey(flow->tcp_sequence - 1);
      }
      if (!outgoing) return transport.WireKey(flow->tcp_ack - 1);
      return std::nullopt;
    }
    case TraceroutePlan::Method::kIcmp: {
      const std::optional<PingPacket> packet = ParsePingPacket(ip);
      if (!packet || packet->id != transport.icmp_id()) return std::nullopt;
      if (packet->token && *packet->token != transport.token()) return std::nullopt;
      if (!SameEndpoint(packet->target, target)) {
        // Echo targets carry no port: compare the address alone.
        SocketAddress address = target;
        address.set_port(packet->target.port());
        if (!SameEndpoint(packet->target, address)) return std::nullopt;
      }
      return transport.WireKey(packet->sequence16);
    }
  }
  return std::nullopt;
}

}  // namespace netprobe
