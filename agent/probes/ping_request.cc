#include "agent/probes/ping_request.h"

#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/probes/request_fields.h"
#include "agent/probes/socket_options.h"
#include "common/posix_error.h"

namespace netprobe {
absl::StatusOr<PingPlan> ValidatePing(const v1::PingRequest& request) {
  PingPlan plan;
  if (request.targets().empty()) {
    return absl::InvalidArgumentError("targets: at least one host is needed");
  }
  if (request.targets_size() > PingLimits::kMaxTargets) {
    return absl::InvalidArgumentError(
        absl::StrFormat("targets: %d targets exceed the limit of %d per request",
                        request.targets_size(), PingLimits::kMaxTargets));
  }
  NETPROBE_ASSIGN_OR_RETURN(plan.family, FamilyOf(request.family()));
  for (int i = 0; i < request.targets_size(); ++i) {
    const std::string& target = request.targets(i);
    NETPROBE_RETURN_IF_ERROR(
        CheckHost(target, plan.family, absl::StrCat("targets[", i, "]")));
    plan.targets.push_back(target);
  }
  if (request.count() > PingLimits::kMaxCount) {
    return absl::InvalidArgumentError(
        absl::StrFormat("count: %d is above the limit of %d (0 runs until cancelled)",
                        request.count(), PingLimits::kMaxCount));
  }
  plan.count = request.count();
  if (request.has_interval()) {
    NETPROBE_ASSIGN_OR_RETURN(plan.interval,
                              DurationInRange(request.interval(), "interval",
                                              PingLimits::kMinInterval, absl::Hours(1)));
  }
  if (request.has_timeout()) {
    NETPROBE_ASSIGN_OR_RETURN(
        plan.timeout, DurationInRange(request.timeout(), "timeout", absl::Milliseconds(1),
                                      absl::Seconds(60)));
  }
  if (request.has_size()) {
    if (request.size() > PingLimits::kMaxSize) {
      return absl::InvalidArgumentError(
          absl::StrFormat("size: %d bytes is above the maximum of %d", request.size(),
                          PingLimits::kMaxSize));
    }
    plan.size = request.size();
  }
  if (request.rate_limit() > PingLimits::kMaxRate) {
    return absl::InvalidArgumentError(
        absl::StrFormat("rate_limit: %d per second is above the limit of %d",
                        request.rate_limit(), PingLimits::kMaxRate));
  }
  if (request.rate_limit() != 0) plan.rate = request.rate_limit();
  if (request.options().tcp_nodelay() || request.options().has_tcp_keepalive_idle()) {
    return absl::InvalidArgumentError(
        "options: tcp_nodelay and tcp_keepalive_idle are for TCP");
  }
  if (request.options().source_port() != 0) {
    return absl::InvalidArgumentError("options.source_port: ICMP has no ports");
  }
  NETPROBE_RETURN_IF_ERROR(PrecheckSocketOptions(request.options()));
  NETPROBE_ASSIGN_OR_RETURN(plan.setup, ValidateSocketOptions(request.options(), false));
  if (plan.setup.source && plan.family != AF_UNSPEC &&
      plan.setup.source->family() != plan.family) {
    return absl::InvalidArgumentError(
        "options.source_address: its family differs from the requested family");
  }
  plan.report_sends = request.report_sends();
  NETPROBE_ASSIGN_OR_RETURN(
      plan.capture, ValidateProbeCapture(request.has_capture(), request.capture()));
  return plan;
}

}  // namespace netprobe
