#ifndef NETPROBE_AGENT_POLICY_PLAN_LIMITS_H_
#define NETPROBE_AGENT_POLICY_PLAN_LIMITS_H_

#include <optional>

#include "absl/status/status.h"
#include "agent/probes/broadcast_request.h"
#include "agent/probes/capture_request.h"
#include "agent/probes/multicast_request.h"
#include "agent/probes/ping_request.h"
#include "agent/probes/probe_capture_request.h"
#include "agent/probes/sockets_request.h"
#include "agent/probes/tcp_connect_request.h"
#include "agent/probes/throughput_request.h"
#include "agent/probes/traceroute_request.h"
#include "agent/probes/udp_echo_request.h"
#include "netprobe/v1/config.pb.h"

namespace netprobe {

// The longest throughput test a policy without throughput_max_duration allows.
inline constexpr absl::Duration kDefaultThroughputMaxDuration = absl::Seconds(60);

// A validated request against the policy's limits for its caller. Used
// through ProbeRule (probe_rule.h), which every probe kind must have.
// PERMISSION_DENIED naming the rule ("policy.limits.targets_per_request: 50
// targets exceed 10") when the request asks for more than the policy allows.
absl::Status CheckPlanLimits(const v1::PolicyLimits& limits, const PingPlan& plan);
absl::Status CheckPlanLimits(const v1::PolicyLimits& limits, const TcpConnectPlan& plan);
absl::Status CheckPlanLimits(const v1::PolicyLimits& limits, const UdpEchoPlan& plan);
// A trace: its packet length against max_payload, its probes (hops x flows x
// probes per hop) against targets_per_request x probes, and its longest run
// (every round's wait) against max_duration.
absl::Status CheckPlanLimits(const v1::PolicyLimits& limits, const TraceroutePlan& plan);
absl::Status CheckPlanLimits(const v1::PolicyLimits& limits, const BroadcastPlan& plan);
absl::Status CheckPlanLimits(const v1::PolicyLimits& limits, const MulticastPlan& plan);
absl::Status CheckPlanLimits(const v1::PolicyLimits& limits, const CapturePlan& plan);
// A probe's own capture (ProbeCaptureOptions; nullopt: none) opens "any" as a
// Capture call would: capture_max_snaplen, and capture_interfaces must allow
// "any".
absl::Status CheckProbeCaptureLimits(const v1::PolicyLimits& limits,
                                     const std::optional<ProbeCapturePlan>& capture);
// A watch within max_duration (watch_duration; unset runs until cancelled,
// which a max_duration refuses). A single snapshot ends on its own. The
// packet, target and interval limits are of probes that send: a watch's
// interval paces netlink dumps on the host, bounded by SocketsLimits.
absl::Status CheckPlanLimits(const v1::PolicyLimits& limits, const SocketsPlan& plan);
// A throughput test within the throughput_max_* caps (its length, omitted
// seconds included, within throughput_max_duration, default 60 s, and
// max_duration) and its stream count within throughput_max_parallel.
absl::Status CheckPlanLimits(const v1::PolicyLimits& limits, const ThroughputPlan& plan);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_POLICY_PLAN_LIMITS_H_
