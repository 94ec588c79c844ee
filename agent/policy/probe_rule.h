#ifndef NETPROBE_AGENT_POLICY_PROBE_RULE_H_
#define NETPROBE_AGENT_POLICY_PROBE_RULE_H_

#include <concepts>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "agent/net/socket_setup.h"
#include "agent/policy/plan_limits.h"
#include "agent/policy/privileged_option.h"
#include "agent/probes/broadcast_request.h"
#include "agent/probes/capture_request.h"
#include "agent/probes/multicast_request.h"
#include "agent/probes/ping_request.h"
#include "agent/probes/sockets_request.h"
#include "agent/probes/tcp_connect_request.h"
#include "agent/probes/throughput_request.h"
#include "agent/probes/traceroute_request.h"
#include "agent/probes/udp_echo_request.h"
#include "netprobe/v1/config.pb.h"

namespace netprobe {

// The policy rule of one probe kind, by its validated plan type:
//   kName        the probe's name in the policy and GetInfo ("Ping")
//   kPrivileged  the privileged options the kind has
//   CheckLimits  the plan against the caller's v1::PolicyLimits:
//                PERMISSION_DENIED naming the rule, else OK
//   Used         the privileged options this plan asks for
// Declared and never defined: ProbesService::Admit uses ProbeRule<Plan>
// unconditionally, so a probe kind without its specialization here does not
// compile (HasProbeRule below states what one must hold).
template <typename Plan>
struct ProbeRule;

template <typename Plan>
concept HasProbeRule = requires(const v1::PolicyLimits& limits, const Plan& plan) {
  { ProbeRule<Plan>::kName } -> std::convertible_to<absl::string_view>;
  {absl::Span<const PrivilegedOption>(ProbeRule<Plan>::kPrivileged)};
  { ProbeRule<Plan>::CheckLimits(limits, plan) } -> std::same_as<absl::Status>;
  { ProbeRule<Plan>::Used(plan) } -> std::same_as<std::vector<PrivilegedOption>>;
};

// What a SocketSetup (a request's SocketOptions) asks for of kMark,
// kInterface, kSourceAddress and kPriority.
inline std::vector<PrivilegedOption> PrivilegedOptionsOf(const SocketSetup& setup) {
  std::vector<PrivilegedOption> used;
  if (setup.mark.has_value()) used.push_back(PrivilegedOption::kMark);
  if (!setup.interface.empty()) used.push_back(PrivilegedOption::kInterface);
  if (setup.source.has_value()) used.push_back(PrivilegedOption::kSourceAddress);
  if (setup.priority.has_value() && *setup.priority > kMaxUngrantedPriority) {
    used.push_back(PrivilegedOption::kPriority);
  }
  return used;
}

// The probes whose sockets take SocketOptions and whose targets are
// addresses (a local one needs kLocalTargets from a TCP caller, checked
// once resolved: Policy::ForCaller).
inline constexpr PrivilegedOption kSocketOptionPrivileges[] = {
    PrivilegedOption::kMark, PrivilegedOption::kInterface,
    PrivilegedOption::kSourceAddress, PrivilegedOption::kPriority,
    PrivilegedOption::kLocalTargets};

// TCP connect can also send the caller's bytes.
inline constexpr PrivilegedOption kTcpConnectPrivileges[] = {
    PrivilegedOption::kMark,          PrivilegedOption::kInterface,
    PrivilegedOption::kSourceAddress, PrivilegedOption::kPriority,
    PrivilegedOption::kLocalTargets,  PrivilegedOption::kTcpPayload};

// Broadcast and multicast have no unicast target.
inline constexpr PrivilegedOption kBroadcastPrivileges[] = {
    PrivilegedOption::kMark, PrivilegedOption::kInterface,
    PrivilegedOption::kSourceAddress, PrivilegedOption::kPriority};

// A probe's own capture (its `capture` option) opens "any" as a Capture call
// does, so it asks for what that call would: the interface grant (here),
// the capture limits (CheckProbeCaptureLimits) and the Capture probe enabled
// for the caller (ProbesService::Admit, for every plan with a `capture`).
inline void AddCapturePrivileges(const std::optional<ProbeCapturePlan>& capture,
                                 std::vector<PrivilegedOption>* used) {
  if (!capture) return;
  for (PrivilegedOption option : *used) {
    if (option == PrivilegedOption::kInterface) return;
  }
  used->push_back(PrivilegedOption::kInterface);
}

// The plan's limits and its capture's.
template <typename Plan>
absl::Status CheckLimitsWithCapture(const v1::PolicyLimits& l, const Plan& p) {
  if (absl::Status st = CheckPlanLimits(l, p); !st.ok()) return st;
  return CheckProbeCaptureLimits(l, p.capture);
}

template <>
struct ProbeRule<PingPlan> {
  static constexpr absl::string_view kName = "Ping";
  static constexpr absl::Span<const PrivilegedOption> kPrivileged =
      kSocketOptionPrivileges;
  static absl::Status CheckLimits(const v1::PolicyLimits& l, const PingPlan& p) {
    return CheckLimitsWithCapture(l, p);
  }
  static std::vector<PrivilegedOption> Used(const PingPlan& p) {
    std::vector<PrivilegedOption> used = PrivilegedOptionsOf(p.setup);
    AddCapturePrivileges(p.capture, &used);
    return used;
  }
};

template <>
struct ProbeRule<TcpConnectPlan> {
  static constexpr absl::string_view kName = "TcpConnect";
  static constexpr absl::Span<const PrivilegedOption> kPrivileged = kTcpConnectPrivileges;
  static absl::Status CheckLimits(const v1::PolicyLimits& l, const TcpConnectPlan& p) {
    return CheckLimitsWithCapture(l, p);
  }
  static std::vector<PrivilegedOption> Used(const TcpConnectPlan& p) {
    std::vector<PrivilegedOption> used = PrivilegedOptionsOf(p.setup);
    if (!p.send_payload.empty()) used.push_back(PrivilegedOption::kTcpPayload);
    AddCapturePrivileges(p.capture, &used);
    return used;
  }
};

template <>
struct ProbeRule<UdpEchoPlan> {
  static constexpr absl::string_view kName = "UdpEcho";
  static constexpr absl::Span<const PrivilegedOption> kPrivileged =
      kSocketOptionPrivileges;
  static absl::Status CheckLimits(const v1::PolicyLimits& l, const UdpEchoPlan& p) {
    return CheckLimitsWithCapture(l, p);
  }
  static std::vector<PrivilegedOption> Used(const UdpEchoPlan& p) {
    std::vector<PrivilegedOption> used = PrivilegedOptionsOf(p.setup);
    AddCapturePrivileges(p.capture, &used);
    return used;
  }
};

template <>
struct ProbeRule<TraceroutePlan> {
  static constexpr absl::string_view kName = "Traceroute";
  static constexpr absl::Span<const PrivilegedOption> kPrivileged =
      kSocketOptionPrivileges;
  static absl::Status CheckLimits(const v1::PolicyLimits& l, const TraceroutePlan& p) {
    return CheckLimitsWithCapture(l, p);
  }
  static std::vector<PrivilegedOption> Used(const TraceroutePlan& p) {
    std::vector<PrivilegedOption> used = PrivilegedOptionsOf(p.setup);
    AddCapturePrivileges(p.capture, &used);
    return used;
  }
};

template <>
struct ProbeRule<ThroughputPlan> {
  static constexpr absl::string_view kName = "Throughput";
  static constexpr absl::Span<const PrivilegedOption> kPrivileged =
      kSocketOptionPrivileges;
  static absl::Status CheckLimits(const v1::PolicyLimits& l, const ThroughputPlan& p) {
    return CheckLimitsWithCapture(l, p);
  }
  static std::vector<PrivilegedOption> Used(const ThroughputPlan& p) {
    std::vector<PrivilegedOption> used = PrivilegedOptionsOf(p.setup);
    AddCapturePrivileges(p.capture, &used);
    return used;
  }
};

// Broadcast always binds its interface (the request names it).
template <>
struct ProbeRule<BroadcastPlan> {
  static constexpr absl::string_view kName = "Broadcast";
  static constexpr absl::Span<const PrivilegedOption> kPrivileged = kBroadcastPrivileges;
  static absl::Status CheckLimits(const v1::PolicyLimits& l, const BroadcastPlan& p) {
    return CheckPlanLimits(l, p);
  }
  static std::vector<PrivilegedOption> Used(const BroadcastPlan& p) {
    std::vector<PrivilegedOption> used = PrivilegedOptionsOf(p.setup);
    if (p.setup.interface.empty() && !p.interface.empty()) {
      used.push_back(PrivilegedOption::kInterface);
    }
    return used;
  }
};

// A looped-back send reaches listeners on the agent's own host.
inline constexpr PrivilegedOption kMulticastPrivileges[] = {
    PrivilegedOption::kInterface, PrivilegedOption::kLocalTargets};

template <>
struct ProbeRule<MulticastPlan> {
  static constexpr absl::string_view kName = "Multicast";
  static constexpr absl::Span<const PrivilegedOption> kPrivileged = kMulticastPrivileges;
  static absl::Status CheckLimits(const v1::PolicyLimits& l, const MulticastPlan& p) {
    return CheckPlanLimits(l, p);
  }
  static std::vector<PrivilegedOption> Used(const MulticastPlan& p) {
    std::vector<PrivilegedOption> used;
    if (!p.interface.empty()) used.push_back(PrivilegedOption::kInterface);
    if (p.loopback) used.push_back(PrivilegedOption::kLocalTargets);
    return used;
  }
};

// A capture always opens an interface ("any" included).
inline constexpr PrivilegedOption kCapturePrivileges[] = {PrivilegedOption::kInterface,
                                                          PrivilegedOption::kPromiscuous,
                                                          PrivilegedOption::kOwnTraffic};

template <>
struct ProbeRule<CapturePlan> {
  static constexpr absl::string_view kName = "Capture";
  static constexpr absl::Span<const PrivilegedOption> kPrivileged = kCapturePrivileges;
  static absl::Status CheckLimits(const v1::PolicyLimits& l, const CapturePlan& p) {
    return CheckPlanLimits(l, p);
  }
  static std::vector<PrivilegedOption> Used(const CapturePlan& p) {
    std::vector<PrivilegedOption> used = {PrivilegedOption::kInterface};
    if (p.promiscuous) used.push_back(PrivilegedOption::kPromiscuous);
    if (p.include_own_traffic) used.push_back(PrivilegedOption::kOwnTraffic);
    return used;
  }
};

inline constexpr PrivilegedOption kSocketsPrivileges[] = {PrivilegedOption::kProcesses};

template <>
struct ProbeRule<SocketsPlan> {
  static constexpr absl::string_view kName = "Sockets";
  static constexpr absl::Span<const PrivilegedOption> kPrivileged = kSocketsPrivileges;
  static absl::Status CheckLimits(const v1::PolicyLimits& l, const SocketsPlan& p) {
    return CheckPlanLimits(l, p);
  }
  static std::vector<PrivilegedOption> Used(const SocketsPlan& p) {
    if (!p.processes) return {};
    return {PrivilegedOption::kProcesses};
  }
};

}  // namespace netprobe

#endif  // NETPROBE_AGENT_POLICY_PROBE_RULE_H_
