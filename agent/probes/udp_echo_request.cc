#include "agent/probes/udp_echo_request.h"

#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/net/socket_address.h"
#include "agent/probes/request_fields.h"
#include "agent/probes/socket_options.h"
#include "common/posix_error.h"

namespace netprobe {

absl::StatusOr<UdpEchoPlan> ValidateUdpEcho(const v1::UdpEchoRequest& request) {
  UdpEchoPlan plan;
  NETPROBE_ASSIGN_OR_RETURN(plan.family, FamilyOf(request.family()));
  NETPROBE_ASSIGN_OR_RETURN(HostPort target,
                            ParseTarget(request.target(), plan.family, "target"));
  plan.host = target.host;
  plan.port = target.port;
  if (request.count() > UdpEchoLimits::kMaxCount) {
    return absl::InvalidArgumentError(
        absl::StrFormat("count: %d is above the limit of %d (0 runs until cancelled)",
                        request.count(), UdpEchoLimits::kMaxCount));
  }
  plan.count = request.count();
  if (request.has_interval()) {
    NETPROBE_ASSIGN_OR_RETURN(
        plan.interval, DurationInRange(request.interval(), "interval",
                                       UdpEchoLimits::kMinInterval, absl::Hours(1)));
  }
  if (request.has_timeout()) {
    NETPROBE_ASSIGN_OR_RETURN(
        plan.timeout, DurationInRange(request.timeout(), "timeout", absl::Milliseconds(1),
                                      absl::Seconds(60)));
  }
  if (request.size() != 0) {
    if (request.size() < UdpEchoLimits::kMinSize ||
        request.size() > UdpEchoLimits::kMaxSize) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "size: %d bytes is out of range: it must be from %d (the header that "
          "carries sequence and send time) to %d",
          request.size(), UdpEchoLimits::kMinSize, UdpEchoLimits::kMaxSize));
    }
    plan.size = request.size();
  }
  if (request.options().tcp_nodelay() || request.options().has_tcp_keepalive_idle()) {
    return absl::InvalidArgumentError(
        "options: tcp_nodelay and tcp_keepalive_idle are for TCP");
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
