#include "agent/schedule/probe_request.h"

#include <algorithm>
#include <optional>
#include <type_traits>
#include <variant>

#include "absl/strings/str_cat.h"
#include "agent/probes/ping_request.h"
#include "agent/probes/tcp_connect_request.h"
#include "agent/probes/throughput_request.h"
#include "agent/probes/traceroute_request.h"
#include "agent/probes/udp_echo_request.h"

namespace netprobe {
namespace {

template <typename Entry>
absl::StatusOr<ProbeRequest> RequestOfEntry(const Entry& entry, absl::string_view field) {
  if (entry.has_ping()) return ProbeRequest(entry.ping());
  if (entry.has_tcp_connect()) return ProbeRequest(entry.tcp_connect());
  if (entry.has_udp_echo()) return ProbeRequest(entry.udp_echo());
  if (entry.has_traceroute()) return ProbeRequest(entry.traceroute());
  if constexpr (requires { entry.has_throughput(); }) {
    if (entry.has_throughput()) return ProbeRequest(entry.throughput());
    return absl::InvalidArgumentError(absl::StrCat(
        field,
        ": needs a request (ping, tcp_connect, udp_echo, traceroute or throughput)"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": needs a request (ping, tcp_connect, udp_echo or traceroute)"));
}

absl::Status Prefixed(absl::string_view field, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(field, ".", status.message()));
}

absl::Status NeedCount(uint32_t count, absl::string_view field) {
  if (count >= 1 && count <= kMaxRunCount) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ".count: ", count, " is not from 1 to ", kMaxRunCount,
                   " (a scheduled or /probe run must end by itself)"));
}

// Each target's attempts start `interval` apart; with more attempts than
// `slots` at once, each round of `slots` may take the whole timeout.
absl::Duration Bound(uint32_t count, uint64_t attempts, uint64_t slots,
                     absl::Duration interval, absl::Duration timeout) {
  const uint64_t rounds = (attempts + slots - 1) / std::max<uint64_t>(slots, 1);
  return std::max(interval * (count - 1), timeout * static_cast<double>(rounds - 1)) +
         timeout;
}

// Probes of one trace that may wait for their answers at once (below
// TraceTransport's smallest MaxInFlight, ICMP's 60000).
constexpr uint64_t kTraceInFlight = 60000;

// One trace sends every probe of every hop and flow, paced at `rate`, and
// each waits at most `wait`; beyond kTraceInFlight probes, a wave of them
// may wait the whole `wait` before the next is sent. Path MTU discovery
// probes a hop again when it learns a smaller MTU: bounded as if every hop
// did so once. mtr mode: `rounds` rounds, each started `interval` after the
// previous one or when it ends.
absl::Duration TraceBound(const TraceroutePlan& plan) {
  const uint64_t attempts = plan.attempts() * (plan.path_mtu ? 2 : 1);
  const uint64_t waves = (attempts + kTraceInFlight - 1) / kTraceInFlight;
  const absl::Duration paced =
      absl::Seconds(1) * (static_cast<double>(attempts) / static_cast<double>(plan.rate));
  const absl::Duration trace =
      std::max(paced, plan.wait * static_cast<double>(waves - 1)) + plan.wait;
  if (!plan.rounds) return trace;
  return std::max(plan.interval, trace) * static_cast<double>(*plan.rounds - 1) + trace;
}

}  // namespace

absl::StatusOr<ProbeRequest> RequestOf(const v1::ScheduledProbe& probe,
                                       absl::string_view field) {
  return RequestOfEntry(probe, field);
}

absl::StatusOr<ProbeRequest> RequestOf(const v1::ProbeModule& module,
                                       absl::string_view field) {
  return RequestOfEntry(module, field);
}

const char* KindOf(const ProbeRequest& request) {
  switch (request.index()) {
    case 0:
      return "Ping";
    case 1:
      return "TcpConnect";
    case 2:
      return "UdpEcho";
    case 3:
      return "Traceroute";
    default:
      return "Throughput";
  }
}

ProbeRequest WithTarget(ProbeRequest request, const std::string& target) {
  if (auto* ping = std::get_if<v1::PingRequest>(&request)) {
    ping->clear_targets();
    ping->add_targets(target);
  } else if (auto* tcp = std::get_if<v1::TcpConnectRequest>(&request)) {
    tcp->clear_targets();
    tcp->add_targets(target);
  } else if (auto* udp = std::get_if<v1::UdpEchoRequest>(&request)) {
    udp->set_target(target);
  } else if (auto* trace = std::get_if<v1::TracerouteRequest>(&request)) {
    trace->set_target(target);
  } else {
    std::get<v1::ThroughputRequest>(request).set_target(target);
  }
  return request;
}

absl::StatusOr<absl::Duration> LongestRun(const ProbeRequest& request,
                                          absl::string_view field) {
  // A scheduled or /probe run has no stream to carry a capture's packets.
  if (const std::optional<std::string> at = std::visit(
          [](const auto& r) -> std::optional<std::string> {
            if (!r.has_capture()) return std::nullopt;
            using R = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<R, v1::PingRequest>) return ".ping";
            if constexpr (std::is_same_v<R, v1::TcpConnectRequest>) return ".tcp_connect";
            if constexpr (std::is_same_v<R, v1::UdpEchoRequest>) return ".udp_echo";
            if constexpr (std::is_same_v<R, v1::TracerouteRequest>) return ".traceroute";
            return ".throughput";
          },
          request)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, *at,
        ".capture: a scheduled run has no stream to carry the packets (ask for a "
        "capture with a call of the probe)"));
  }
  if (const auto* ping = std::get_if<v1::PingRequest>(&request)) {
    const std::string at = absl::StrCat(field, ".ping");
    absl::StatusOr<PingPlan> plan = ValidatePing(*ping);
    if (!plan.ok()) return Prefixed(at, plan.status());
    if (absl::Status counted = NeedCount(plan->count, at); !counted.ok()) return counted;
    // Each target's requests go `interval` apart; the rate caps them all.
    const absl::Duration paced = plan->interval * (plan->count - 1);
    const absl::Duration rated = absl::Seconds(1) * static_cast<double>(plan->count) *
                                 static_cast<double>(plan->targets.size()) /
                                 static_cast<double>(plan->rate);
    return std::max(paced, rated) + plan->timeout;
  }
  if (const auto* tcp = std::get_if<v1::TcpConnectRequest>(&request)) {
    const std::string at = absl::StrCat(field, ".tcp_connect");
    absl::StatusOr<TcpConnectPlan> plan = ValidateTcpConnect(*tcp);
    if (!plan.ok()) return Prefixed(at, plan.status());
    if (plan->count > kMaxRunCount) return NeedCount(plan->count, at);
    return Bound(plan->count, uint64_t{plan->count} * plan->targets.size(),
                 plan->concurrency, plan->interval, plan->timeout);
  }
  if (const auto* trace = std::get_if<v1::TracerouteRequest>(&request)) {
    const std::string at = absl::StrCat(field, ".traceroute");
    absl::StatusOr<TraceroutePlan> plan = ValidateTraceroute(*trace);
    if (!plan.ok()) return Prefixed(at, plan.status());
    if (plan->rounds && (*plan->rounds == 0 || *plan->rounds > kMaxRunCount)) {
      return absl::InvalidArgumentError(absl::StrCat(
          at, ".rounds: ", *plan->rounds, " is not from 1 to ", kMaxRunCount,
          " (unset: one trace; 0 runs until cancelled, and a scheduled or /probe "
          "run must end by itself)"));
    }
    return TraceBound(*plan);
  }
  if (const auto* throughput = std::get_if<v1::ThroughputRequest>(&request)) {
    const std::string at = absl::StrCat(field, ".throughput");
    absl::StatusOr<ThroughputPlan> plan = ValidateThroughput(*throughput);
    if (!plan.ok()) return Prefixed(at, plan.status());
    if (plan->bytes > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(at,
                       ".bytes: a scheduled throughput test runs for a duration (give "
                       "duration, not bytes: how long a byte count takes is not known)"));
    }
    return plan->Length() + kThroughputSetup;
  }
  const std::string at = absl::StrCat(field, ".udp_echo");
  absl::StatusOr<UdpEchoPlan> plan =
      ValidateUdpEcho(std::get<v1::UdpEchoRequest>(request));
  if (!plan.ok()) return Prefixed(at, plan.status());
  if (absl::Status counted = NeedCount(plan->count, at); !counted.ok()) return counted;
  return plan->interval * (plan->count - 1) + plan->timeout;
}

}  // namespace netprobe
