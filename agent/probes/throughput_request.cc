#include "agent/probes/throughput_request.h"

#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/net/small_file.h"
#include "agent/probes/request_fields.h"
#include "agent/probes/socket_options.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

using L = ThroughputLimits;

absl::Status OutOfRange(absl::string_view field, uint64_t value, uint64_t min,
                        uint64_t max, absl::string_view unit = "") {
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: %d%s is out of range: it must be from %d to %d%s", field,
                      value, unit, min, max, unit));
}

absl::Status ParseThroughputTarget(absl::string_view text, ThroughputPlan* plan) {
  if (text.empty()) {
    return absl::InvalidArgumentError("target: a HOST or HOST:PORT is needed");
  }
  // A bare host (an IPv6 literal has colons too) takes iperf3's port.
  const absl::Status host = CheckHost(text, plan->family, "target");
  if (host.ok() || !absl::StrContains(text, ':')) {
    NETPROBE_RETURN_IF_ERROR(host);
    plan->host = std::string(text);
    return absl::OkStatus();
  }
  NETPROBE_ASSIGN_OR_RETURN(HostPort target, ParseTarget(text, plan->family, "target"));
  plan->host = target.host;
  plan->port = target.port;
  if (plan->port == 0) {
    return absl::InvalidArgumentError(
        "target: port 0 is not a port an iperf3 server listens on");
  }
  return absl::OkStatus();
}

absl::Status CheckCongestion(const std::string& name) {
  const bool well_formed = !name.empty() && name.size() < 16 &&
                           std::all_of(name.begin(), name.end(), [](char c) {
                             return absl::ascii_isalnum(c) || c == '_' || c == '-';
                           });
  const std::vector<std::string> offered = AvailableCongestionControls();
  if (well_formed && (offered.empty() ||
                      std::find(offered.begin(), offered.end(), name) != offered.end())) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "congestion: ", Quoted(name), " is not a congestion control this kernel offers (",
      absl::StrJoin(offered, ", "), ")"));
}

}  // namespace

std::vector<std::string> AvailableCongestionControls() {
  absl::StatusOr<std::string> text =
      ReadSmallFile("/proc/sys/net/ipv4/tcp_available_congestion_control");
  if (!text.ok()) return {};
  return absl::StrSplit(*text, absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
}

absl::StatusOr<ThroughputPlan> ValidateThroughput(const v1::ThroughputRequest& request) {
  ThroughputPlan plan;
  NETPROBE_ASSIGN_OR_RETURN(plan.family, FamilyOf(request.family()));
  NETPROBE_RETURN_IF_ERROR(ParseThroughputTarget(request.target(), &plan));
  switch (request.protocol()) {
    case v1::ThroughputRequest::PROTOCOL_UNSPECIFIED:
    case v1::ThroughputRequest::PROTOCOL_TCP:
      break;
    case v1::ThroughputRequest::PROTOCOL_UDP:
      plan.udp = true;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("protocol: ", request.protocol(), " is not TCP, UDP or unset"));
  }
  if (request.bytes() > 0) {
    if (request.has_duration()) {
      return absl::InvalidArgumentError(
          "duration: give a duration or bytes, not both (iperf3 -t or -n)");
    }
    if (request.bytes() > L::kMaxBytes) {
      return OutOfRange("bytes", request.bytes(), 1, L::kMaxBytes);
    }
    plan.bytes = request.bytes();
    plan.duration = absl::ZeroDuration();
  } else if (request.has_duration()) {
    NETPROBE_ASSIGN_OR_RETURN(plan.duration,
                              DurationInRange(request.duration(), "duration",
                                              absl::Milliseconds(100), L::kMaxDuration));
  }
  plan.parallel = request.parallel() == 0 ? 1 : request.parallel();
  if (plan.parallel > L::kMaxParallel) {
    return OutOfRange("parallel", request.parallel(), 1, L::kMaxParallel, " streams");
  }
  switch (request.direction()) {
    case v1::ThroughputRequest::DIRECTION_UNSPECIFIED:
    case v1::ThroughputRequest::DIRECTION_SEND:
      break;
    case v1::ThroughputRequest::DIRECTION_RECEIVE:
      plan.direction = ThroughputPlan::Direction::kReceive;
      break;
    case v1::ThroughputRequest::DIRECTION_BOTH:
      plan.direction = ThroughputPlan::Direction::kBoth;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "direction: ", request.direction(), " is not SEND, RECEIVE, BOTH or unset"));
  }
  if (request.window() > L::kMaxWindow) {
    return OutOfRange("window", request.window(), 1, L::kMaxWindow, " bytes");
  }
  plan.window = request.window();
  if (!request.congestion().empty()) {
    if (plan.udp)
      return absl::InvalidArgumentError("congestion: UDP has no congestion control");
    NETPROBE_RETURN_IF_ERROR(CheckCongestion(request.congestion()));
    plan.congestion = request.congestion();
  }
  if (request.mss() != 0) {
    if (plan.udp) return absl::InvalidArgumentError("mss: UDP has no MSS");
    if (request.mss() < L::kMinMss || request.mss() > L::kMaxMss) {
      return OutOfRange("mss", request.mss(), L::kMinMss, L::kMaxMss, " bytes");
    }
    plan.mss = request.mss();
  }
  if (request.bitrate() > L::kMaxBitrate) {
    return OutOfRange("bitrate", request.bitrate(), 1, L::kMaxBitrate, " bit/s");
  }
  plan.bitrate = request.bitrate();
  if (plan.udp && plan.bitrate == 0) plan.bitrate = L::kDefaultUdpBitrate;
  if (request.length() != 0) {
    const uint32_t min = plan.udp ? L::kMinUdpLength : 1;
    const uint32_t max = plan.udp ? L::kMaxUdpLength : L::kMaxTcpLength;
    if (request.length() < min || request.length() > max) {
      return OutOfRange("length", request.length(), min, max, " bytes");
    }
    plan.length = request.length();
  }
  if (request.has_interval()) {
    NETPROBE_ASSIGN_OR_RETURN(
        plan.interval, DurationInRange(request.interval(), "interval", L::kMinInterval,
                                       L::kMaxInterval));
  }
  if (request.has_omit()) {
    NETPROBE_ASSIGN_OR_RETURN(
        plan.omit,
        DurationInRange(request.omit(), "omit", absl::ZeroDuration(), L::kMaxOmit));
  }
  NETPROBE_RETURN_IF_ERROR(PrecheckSocketOptions(request.options()));
  if (request.options().has_ttl()) {
    return absl::InvalidArgumentError(
        "options.ttl: a throughput test keeps the kernel's TTL");
  }
  // iperf3's --cport: the data streams bind source_port, source_port + 1, ...
  // (with or without a source address); the control connection's port is
  // the kernel's.
  v1::SocketOptions options = request.options();
  const uint64_t streams = static_cast<uint64_t>(plan.parallel) *
                           (plan.direction == ThroughputPlan::Direction::kBoth ? 2 : 1);
  if (options.source_port() > 65535) {
    return OutOfRange("options.source_port", options.source_port(), 0, 65535);
  }
  if (options.source_port() != 0 && options.source_port() + streams - 1 > 65535) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "options.source_port: %d streams from port %d go beyond port 65535", streams,
        options.source_port()));
  }
  plan.source_port = static_cast<uint16_t>(options.source_port());
  options.clear_source_port();
  NETPROBE_ASSIGN_OR_RETURN(plan.setup, ValidateSocketOptions(options, !plan.udp));
  if (plan.setup.source && plan.family != AF_UNSPEC &&
      plan.setup.source->family() != plan.family) {
    return absl::InvalidArgumentError(
        "options.source_address: its family differs from the requested family");
  }
  if (plan.window != 0) {
    if (!plan.setup.send_buffer) plan.setup.send_buffer = static_cast<int>(plan.window);
    if (!plan.setup.receive_buffer)
      plan.setup.receive_buffer = static_cast<int>(plan.window);
  }
  NETPROBE_ASSIGN_OR_RETURN(plan.capture,
                            ValidateProbeCapture(request.has_capture(), request.capture(),
                                                 ProbeCaptureLimits::kThroughputSnaplen));
  return plan;
}

}  // namespace netprobe
