#include "agent/probes/tcp_connect_request.h"

#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/probes/request_fields.h"
#include "agent/probes/socket_options.h"
#include "common/posix_error.h"

namespace netprobe {

absl::StatusOr<TcpConnectPlan> ValidateTcpConnect(const v1::TcpConnectRequest& request) {
  TcpConnectPlan plan;
  if (request.targets().empty()) {
    return absl::InvalidArgumentError("targets: at least one HOST:PORT is needed");
  }
  if (request.targets_size() > TcpConnectLimits::kMaxTargets) {
    return absl::InvalidArgumentError(
        absl::StrFormat("targets: %d targets exceed the limit of %d per request",
                        request.targets_size(), TcpConnectLimits::kMaxTargets));
  }
  NETPROBE_ASSIGN_OR_RETURN(plan.family, FamilyOf(request.family()));
  for (int i = 0; i < request.targets_size(); ++i) {
    NETPROBE_ASSIGN_OR_RETURN(
        HostPort target,
        ParseTarget(request.targets(i), plan.family, absl::StrCat("targets[", i, "]")));
    plan.targets.push_back(std::move(target));
  }
  plan.count = request.count() == 0 ? 1 : request.count();
  if (plan.count > TcpConnectLimits::kMaxCount) {
    return absl::InvalidArgumentError(
        absl::StrFormat("count: %d is above the limit of %d attempts per target",
                        request.count(), TcpConnectLimits::kMaxCount));
  }
  const uint64_t attempts = static_cast<uint64_t>(plan.count) * plan.targets.size();
  if (attempts > TcpConnectLimits::kMaxAttempts) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "count: %d targets x %d attempts = %d exceeds the limit of %d attempts per "
        "request",
        plan.targets.size(), plan.count, attempts, TcpConnectLimits::kMaxAttempts));
  }
  if (request.has_interval()) {
    NETPROBE_ASSIGN_OR_RETURN(
        plan.interval,
        DurationInRange(request.interval(), "interval", absl::ZeroDuration(),
                        absl::Hours(1), " (back to back)"));
  }
  if (request.has_timeout()) {
    NETPROBE_ASSIGN_OR_RETURN(
        plan.timeout, DurationInRange(request.timeout(), "timeout", absl::Milliseconds(1),
                                      absl::Seconds(60)));
  }
  if (request.concurrency() != 0) {
    if (request.concurrency() > TcpConnectLimits::kMaxConcurrency) {
      return absl::InvalidArgumentError(
          absl::StrFormat("concurrency: %d is above the limit of %d",
                          request.concurrency(), TcpConnectLimits::kMaxConcurrency));
    }
    plan.concurrency = request.concurrency();
  }
  NETPROBE_RETURN_IF_ERROR(PrecheckSocketOptions(request.options()));
  NETPROBE_ASSIGN_OR_RETURN(plan.setup, ValidateSocketOptions(request.options(), true));
  if (plan.setup.source && plan.family != AF_UNSPEC &&
      plan.setup.source->family() != plan.family) {
    return absl::InvalidArgumentError(
        "options.source_address: its family differs from the requested family");
  }
  if (request.send_payload().size() > TcpConnectLimits::kMaxPayload) {
    return absl::InvalidArgumentError(
        absl::StrFormat("send_payload: %d bytes exceed the limit of %d",
                        request.send_payload().size(), TcpConnectLimits::kMaxPayload));
  }
  if (request.read_bytes() > TcpConnectLimits::kMaxReadBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("read_bytes: %d is above the limit of %d", request.read_bytes(),
                        TcpConnectLimits::kMaxReadBytes));
  }
  plan.tcp_info = request.tcp_info();
  plan.send_payload = request.send_payload();
  plan.read_bytes = request.read_bytes();
  plan.graceful_close = request.graceful_close();
  plan.report_sends = request.report_sends();
  NETPROBE_ASSIGN_OR_RETURN(
      plan.capture, ValidateProbeCapture(request.has_capture(), request.capture()));
  return plan;
}

}  // namespace netprobe
