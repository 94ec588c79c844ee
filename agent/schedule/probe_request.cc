#include "agent/schedule/probe_request.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/probes/ping_request.h"
#include "agent/probes/tcp_connect_request.h"
#include "agent/probes/udp_echo_request.h"

namespace netprobe {
namespace {

template <typename Entry>
absl::StatusOr<ProbeRequest> RequestOfEntry(const Entry& entry, absl::string_view field) {
  if (entry.has_ping()) return ProbeRequest(entry.ping());
  if (entry.has_tcp_connect()) return ProbeRequest(entry.tcp_connect());
  if (entry.has_udp_echo()) return ProbeRequest(entry.udp_echo());
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": needs a request (ping, tcp_connect or udp_echo)"));
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
    default:
      return "UdpEcho";
  }
}

ProbeRequest WithTarget(ProbeRequest request, const std::string& target) {
  if (auto* ping = std::get_if<v1::PingRequest>(&request)) {
    ping->clear_targets();
    ping->add_targets(target);
  } else if (auto* tcp = std::get_if<v1::TcpConnectRequest>(&request)) {
    tcp->clear_targets();
    tcp->add_targets(target);
  } else {
    std::get<v1::UdpEchoRequest>(request).set_target(target);
  }
  return request;
}

absl::StatusOr<absl::Duration> LongestRun(const ProbeRequest& request,
                                          absl::string_view field) {
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
  const std::string at = absl::StrCat(field, ".udp_echo");
  absl::StatusOr<UdpEchoPlan> plan =
      ValidateUdpEcho(std::get<v1::UdpEchoRequest>(request));
  if (!plan.ok()) return Prefixed(at, plan.status());
  if (absl::Status counted = NeedCount(plan->count, at); !counted.ok()) return counted;
  return plan->interval * (plan->count - 1) + plan->timeout;
}

}  // namespace netprobe
