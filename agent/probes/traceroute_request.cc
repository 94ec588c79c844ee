#include "agent/probes/traceroute_request.h"

#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/probes/request_fields.h"
#include "agent/probes/socket_options.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

absl::StatusOr<uint32_t> InRange(bool has, uint32_t value, absl::string_view field,
                                 uint32_t min, uint32_t max, uint32_t fallback) {
  if (!has) return fallback;
  if (value < min || value > max) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %d is out of range: it must be from %d to %d", field, value, min, max));
  }
  return value;
}

}  // namespace

absl::StatusOr<uint32_t> TraceroutePlan::PayloadSize(int af) const {
  if (method == Method::kTcp) return 0;  // SYNs carry no data
  const uint32_t length = LengthFor(af);
  const uint32_t min =
      af == AF_INET6 ? TracerouteLimits::kMinLengthV6 : TracerouteLimits::kMinLengthV4;
  if (length < min) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "packet_length: %d bytes is below the minimum of %d for %s (headers and "
        "the 12-byte probe header)",
        length, min, af == AF_INET6 ? "IPv6" : "IPv4"));
  }
  return length - (af == AF_INET6 ? 40 : 20) - 8;
}

absl::StatusOr<TraceroutePlan> ValidateTraceroute(const v1::TracerouteRequest& request) {
  TraceroutePlan plan;
  NETPROBE_ASSIGN_OR_RETURN(plan.family, FamilyOf(request.family()));
  if (request.target().empty()) {
    return absl::InvalidArgumentError("target: a host name or address is needed");
  }
  NETPROBE_RETURN_IF_ERROR(CheckHost(request.target(), plan.family, "target"));
  plan.host = request.target();
  switch (request.method()) {
    case v1::TRACEROUTE_METHOD_UNSPECIFIED:
    case v1::TRACEROUTE_METHOD_UDP:
      plan.method = TraceroutePlan::Method::kUdp;
      break;
    case v1::TRACEROUTE_METHOD_ICMP:
      plan.method = TraceroutePlan::Method::kIcmp;
      break;
    case v1::TRACEROUTE_METHOD_TCP:
      plan.method = TraceroutePlan::Method::kTcp;
      plan.port = TracerouteLimits::kDefaultTcpPort;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("method: ", request.method(), " is not UDP, ICMP, TCP or unset"));
  }
  if (request.has_port()) {
    if (plan.method == TraceroutePlan::Method::kIcmp) {
      return absl::InvalidArgumentError("port: ICMP has no ports");
    }
    NETPROBE_ASSIGN_OR_RETURN(uint32_t port,
                              InRange(true, request.port(), "port", 1, 65535, 0));
    plan.port = static_cast<uint16_t>(port);
  }
  NETPROBE_ASSIGN_OR_RETURN(
      plan.first_ttl, InRange(request.has_first_ttl(), request.first_ttl(), "first_ttl",
                              1, TracerouteLimits::kMaxTtl, plan.first_ttl));
  NETPROBE_ASSIGN_OR_RETURN(
      plan.max_ttl, InRange(request.has_max_ttl(), request.max_ttl(), "max_ttl", 1,
                            TracerouteLimits::kMaxTtl, plan.max_ttl));
  if (plan.first_ttl > plan.max_ttl) {
    return absl::InvalidArgumentError(absl::StrFormat("first_ttl: %d is above max_ttl %d",
                                                      plan.first_ttl, plan.max_ttl));
  }
  NETPROBE_ASSIGN_OR_RETURN(
      plan.probes_per_hop,
      InRange(request.has_probes_per_hop(), request.probes_per_hop(), "probes_per_hop", 1,
              TracerouteLimits::kMaxProbesPerHop, plan.probes_per_hop));
  NETPROBE_ASSIGN_OR_RETURN(plan.flows,
                            InRange(request.has_flows(), request.flows(), "flows", 1,
                                    TracerouteLimits::kMaxFlows, plan.flows));
  if (request.has_wait()) {
    NETPROBE_ASSIGN_OR_RETURN(
        plan.wait, DurationInRange(request.wait(), "wait", absl::Milliseconds(1),
                                   absl::Seconds(60)));
  }
  if (request.has_packet_length() && plan.method == TraceroutePlan::Method::kTcp) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "packet_length: TCP SYN probes are headers only (%d bytes IPv4, %d IPv6); "
        "leave it unset",
        20 + TracerouteLimits::kTcpSynLength, 40 + TracerouteLimits::kTcpSynLength));
  }
  if (request.has_packet_length()) {
    const uint32_t min = plan.family == AF_INET6 ? TracerouteLimits::kMinLengthV6
                                                 : TracerouteLimits::kMinLengthV4;
    NETPROBE_ASSIGN_OR_RETURN(uint32_t length,
                              InRange(true, request.packet_length(), "packet_length", min,
                                      TracerouteLimits::kMaxLength, 0));
    plan.packet_length = length;
  }
  if (request.rate_limit() > TracerouteLimits::kMaxRate) {
    return absl::InvalidArgumentError(
        absl::StrFormat("rate_limit: %d per second is above the limit of %d",
                        request.rate_limit(), TracerouteLimits::kMaxRate));
  }
  if (request.rate_limit() != 0) plan.rate = request.rate_limit();
  if (request.has_rounds()) {
    NETPROBE_ASSIGN_OR_RETURN(
        uint32_t rounds,
        InRange(true, request.rounds(), "rounds", 0, TracerouteLimits::kMaxRounds, 0));
    plan.rounds = rounds;
    if (plan.probes_per_hop != 1 && request.has_probes_per_hop()) {
      return absl::InvalidArgumentError(
          "probes_per_hop: mtr mode (rounds) sends one probe per hop and flow each "
          "round; leave it unset or 1");
    }
    plan.probes_per_hop = 1;
    plan.max_silent_hops = TracerouteLimits::kDefaultMtrSilentHops;
  }
  if (request.has_interval()) {
    if (!plan.mtr()) {
      return absl::InvalidArgumentError(
          "interval: the time between rounds is for mtr mode; set rounds too");
    }
    NETPROBE_ASSIGN_OR_RETURN(plan.interval,
                              DurationInRange(request.interval(), "interval",
                                              absl::Milliseconds(10), absl::Hours(1)));
  }
  if (plan.mtr() && !request.has_wait()) {
    // mtr mode: each probe waits the interval, at least 1 s (an RTT across
    // continents, and mtr's counting of answers that come after the next
    // round went), at most traceroute's 5 s; a probe's wait may span rounds.
    plan.wait = std::clamp(plan.interval, absl::Seconds(1), absl::Seconds(5));
  }
  if (request.has_max_silent_hops()) {
    NETPROBE_ASSIGN_OR_RETURN(plan.max_silent_hops,
                              InRange(true, request.max_silent_hops(), "max_silent_hops",
                                      0, TracerouteLimits::kMaxTtl, 0));
  }
  if (request.has_flow_label()) {
    if (plan.family == AF_INET) {
      return absl::InvalidArgumentError("flow_label: IPv4 has no flow label");
    }
    NETPROBE_ASSIGN_OR_RETURN(uint32_t label,
                              InRange(true, request.flow_label(), "flow_label", 0,
                                      TracerouteLimits::kMaxFlowLabel, 0));
    plan.flow_label = label;
  }
  plan.resolve = request.resolve();
  plan.path_mtu = request.path_mtu();
  if (plan.path_mtu) {
    if (plan.mtr()) {
      return absl::InvalidArgumentError(
          "path_mtu: path MTU discovery is one trace; it does not combine with rounds");
    }
    if (plan.method != TraceroutePlan::Method::kUdp) {
      return absl::InvalidArgumentError(
          "path_mtu: path MTU discovery probes with UDP, like tracepath");
    }
  }
  const v1::SocketOptions& options = request.options();
  if (options.tcp_nodelay() || options.has_tcp_keepalive_idle()) {
    return absl::InvalidArgumentError(
        "options: tcp_nodelay and tcp_keepalive_idle are for TCP");
  }
  if (options.has_ttl()) {
    return absl::InvalidArgumentError(
        "options.ttl: traceroute sets each probe's TTL; use first_ttl and max_ttl");
  }
  if (options.source_port() != 0) {
    return absl::InvalidArgumentError(
        "options.source_port: each flow has its own source port (see flows)");
  }
  NETPROBE_RETURN_IF_ERROR(PrecheckSocketOptions(options));
  NETPROBE_ASSIGN_OR_RETURN(plan.setup, ValidateSocketOptions(options, false));
  if (plan.path_mtu) {
    // DF on every probe, the kernel's learned path MTU ignored
    // (IP_PMTUDISC_PROBE): each hop's Fragmentation Needed is seen afresh.
    if (plan.setup.dont_fragment != SocketSetup::Df::kDefault &&
        plan.setup.dont_fragment != SocketSetup::Df::kSet) {
      return absl::InvalidArgumentError(
          "options.dont_fragment: path_mtu sets DF on every probe itself");
    }
    plan.setup.dont_fragment = SocketSetup::Df::kSet;
  }
  if (plan.setup.source && plan.family != AF_UNSPEC &&
      plan.setup.source->family() != plan.family) {
    return absl::InvalidArgumentError(
        "options.source_address: its family differs from the requested family");
  }
  NETPROBE_ASSIGN_OR_RETURN(
      plan.capture, ValidateProbeCapture(request.has_capture(), request.capture()));
  if (plan.capture && (plan.mtr() || plan.path_mtu)) {
    return absl::InvalidArgumentError(
        absl::StrCat("capture: not supported with ",
                     plan.path_mtu ? "path_mtu (tracepath)" : "rounds (mtr)",
                     ", only for a plain traceroute"));
  }
  return plan;
}

}  // namespace netprobe
