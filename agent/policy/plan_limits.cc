#include "agent/policy/plan_limits.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/proto_time.h"

namespace netprobe {
namespace {

absl::Status Denied(absl::string_view rule, absl::string_view what) {
  return absl::PermissionDeniedError(absl::StrCat("policy.limits.", rule, ": ", what));
}

absl::Status Targets(const v1::PolicyLimits& l, size_t n) {
  if (l.has_targets_per_request() && n > l.targets_per_request()) {
    return Denied("targets_per_request", absl::StrCat(n, " targets exceed the limit of ",
                                                      l.targets_per_request()));
  }
  return absl::OkStatus();
}

absl::Status Payload(const v1::PolicyLimits& l, size_t bytes, absl::string_view field) {
  if (l.has_max_payload() && bytes > l.max_payload()) {
    return Denied("max_payload",
                  absl::StrCat(field, " of ", bytes, " bytes exceeds the limit of ",
                               l.max_payload()));
  }
  return absl::OkStatus();
}

absl::Status Interval(const v1::PolicyLimits& l, absl::Duration interval,
                      absl::string_view field) {
  if (l.has_min_interval() && interval < FromProto(l.min_interval())) {
    return Denied(
        "min_interval",
        absl::StrCat(field, " ", absl::FormatDuration(interval), " is below the minimum ",
                     absl::FormatDuration(FromProto(l.min_interval()))));
  }
  return absl::OkStatus();
}

// `count` rounds of `interval` (count 0: until cancelled, which no duration
// limit allows).
absl::Status Rounds(const v1::PolicyLimits& l, uint64_t count, absl::Duration interval) {
  if (!l.has_max_duration()) return absl::OkStatus();
  const absl::Duration max = FromProto(l.max_duration());
  if (count == 0) {
    return Denied("max_duration", absl::StrCat("a request without a count runs until "
                                               "cancelled; give a count (at most ",
                                               absl::FormatDuration(max), " of rounds)"));
  }
  const absl::Duration length = interval * static_cast<double>(count - 1);
  if (length > max) {
    return Denied("max_duration",
                  absl::StrCat(count, " rounds ", absl::FormatDuration(interval),
                               " apart take ", absl::FormatDuration(length),
                               ", above the limit of ", absl::FormatDuration(max)));
  }
  return absl::OkStatus();
}

absl::Status Length(const v1::PolicyLimits& l, absl::Duration duration,
                    absl::string_view field) {
  if (!l.has_max_duration()) return absl::OkStatus();
  const absl::Duration max = FromProto(l.max_duration());
  if (duration == absl::ZeroDuration() || duration > max) {
    return Denied(
        "max_duration",
        absl::StrCat(field, " ",
                     duration == absl::ZeroDuration() ? std::string("unset (no end)")
                                                      : absl::FormatDuration(duration),
                     " is above the limit of ", absl::FormatDuration(max)));
  }
  return absl::OkStatus();
}

#define NETPROBE_CHECK(expr)                  \
  do {                                        \
    if (absl::Status st = (expr); !st.ok()) { \
      return st;                              \
    }                                         \
  } while (0)

}  // namespace

absl::Status CheckPlanLimits(const v1::PolicyLimits& l, const PingPlan& p) {
  NETPROBE_CHECK(Targets(l, p.targets.size()));
  NETPROBE_CHECK(Payload(l, p.size, "size"));
  NETPROBE_CHECK(Interval(l, p.interval, "interval"));
  return Rounds(l, p.count, p.interval);
}

absl::Status CheckPlanLimits(const v1::PolicyLimits& l, const TcpConnectPlan& p) {
  NETPROBE_CHECK(Targets(l, p.targets.size()));
  NETPROBE_CHECK(Payload(l, p.send_payload.size(), "send_payload"));
  NETPROBE_CHECK(Interval(l, p.interval, "interval"));
  return Rounds(l, p.count, p.interval);
}

absl::Status CheckPlanLimits(const v1::PolicyLimits& l, const UdpEchoPlan& p) {
  NETPROBE_CHECK(Payload(l, p.size, "size"));
  NETPROBE_CHECK(Interval(l, p.interval, "interval"));
  return Rounds(l, p.count, p.interval);
}

absl::Status CheckPlanLimits(const v1::PolicyLimits& l, const TraceroutePlan& p) {
  NETPROBE_CHECK(Payload(l, p.LengthFor(p.family), "packet_length"));
  // Each flow is a path to the target: the policy's target cap caps flows.
  if (l.has_targets_per_request() && p.flows > l.targets_per_request()) {
    return Denied("targets_per_request",
                  absl::StrCat("flows ", p.flows, " exceed the limit of ",
                               l.targets_per_request()));
  }
  // mtr mode: its rounds, like ping's count.
  if (p.mtr()) NETPROBE_CHECK(Rounds(l, *p.rounds, p.interval));
  return Length(l, p.wait * static_cast<int64_t>(p.probes_per_hop),
                "wait x probes_per_hop");
}

absl::Status CheckPlanLimits(const v1::PolicyLimits& l, const BroadcastPlan& p) {
  NETPROBE_CHECK(Payload(l, p.payload.size(), "payload"));
  return Length(l, p.window, "window");
}

absl::Status CheckPlanLimits(const v1::PolicyLimits& l, const MulticastPlan& p) {
  if (p.send) {
    NETPROBE_CHECK(Payload(l, p.send_payload.size(), "send_payload"));
    NETPROBE_CHECK(Interval(l, p.send_interval, "send_interval"));
  }
  return Length(l, p.duration, "duration");
}

absl::Status CheckProbeCaptureLimits(const v1::PolicyLimits& l,
                                     const std::optional<ProbeCapturePlan>& capture) {
  if (!capture) return absl::OkStatus();
  if (l.has_capture_max_snaplen() && capture->snaplen > l.capture_max_snaplen()) {
    return Denied(
        "capture_max_snaplen",
        absl::StrCat("capture.snaplen ", capture->snaplen, " exceeds the limit of ",
                     l.capture_max_snaplen(), " (set capture.snaplen)"));
  }
  if (!l.capture_interfaces().empty()) {
    bool allowed = false;
    for (const std::string& i : l.capture_interfaces()) allowed |= i == "any";
    if (!allowed) {
      return Denied("capture_interfaces",
                    absl::StrCat("a probe's capture is on 'any', which is not one of ",
                                 absl::StrJoin(l.capture_interfaces(), ", ")));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPlanLimits(const v1::PolicyLimits& l, const CapturePlan& p) {
  if (l.has_capture_max_snaplen() &&
      static_cast<uint32_t>(p.snaplen) > l.capture_max_snaplen()) {
    return Denied("capture_max_snaplen",
                  absl::StrCat("snaplen ", p.snaplen, " exceeds the limit of ",
                               l.capture_max_snaplen(), " (set snaplen)"));
  }
  if (l.has_capture_max_duration() && p.duration > FromProto(l.capture_max_duration())) {
    return Denied("capture_max_duration",
                  absl::StrCat("duration ", absl::FormatDuration(p.duration),
                               " is above the limit of ",
                               absl::FormatDuration(FromProto(l.capture_max_duration())),
                               " (set duration)"));
  }
  if (!l.capture_interfaces().empty()) {
    bool allowed = false;
    for (const std::string& i : l.capture_interfaces()) allowed |= i == p.interface;
    if (!allowed) {
      return Denied("capture_interfaces",
                    absl::StrCat("interface '", p.interface, "' is not one of ",
                                 absl::StrJoin(l.capture_interfaces(), ", ")));
    }
  }
  return Length(l, p.duration, "duration");
}

absl::Status CheckPlanLimits(const v1::PolicyLimits& l, const SocketsPlan& p) {
  if (p.watch_interval == absl::ZeroDuration()) return absl::OkStatus();
  return Length(l, p.watch_duration, "watch_duration");
}

absl::Status CheckPlanLimits(const v1::PolicyLimits& l, const ThroughputPlan& p) {
  const absl::Duration max = l.has_throughput_max_duration()
                                 ? FromProto(l.throughput_max_duration())
                                 : kDefaultThroughputMaxDuration;
  // A byte-count test has no duration of its own: the cap stops it.
  if (p.bytes == 0 && p.Length() > max) {
    return Denied(
        "throughput_max_duration",
        absl::StrCat("duration ", absl::FormatDuration(p.duration),
                     p.omit > absl::ZeroDuration()
                         ? absl::StrCat(" + omit ", absl::FormatDuration(p.omit))
                         : "",
                     " is above the limit of ", absl::FormatDuration(max)));
  }
  if (p.bytes == 0) NETPROBE_CHECK(Length(l, p.Length(), "duration"));
  if (l.has_throughput_max_bytes() &&
      (p.bytes == 0 || p.bytes > l.throughput_max_bytes())) {
    return Denied(
        "throughput_max_bytes",
        p.bytes == 0 ? absl::StrCat("give bytes (at most ", l.throughput_max_bytes(), ")")
                     : absl::StrCat("bytes ", p.bytes, " exceed the limit of ",
                                    l.throughput_max_bytes()));
  }
  if (l.has_throughput_max_bitrate() &&
      (p.bitrate == 0 || p.bitrate > l.throughput_max_bitrate())) {
    return Denied(
        "throughput_max_bitrate",
        p.bitrate == 0
            ? absl::StrCat("an unlimited bitrate is above the limit of ",
                           l.throughput_max_bitrate(), " bit/s; give a bitrate")
            : absl::StrCat("bitrate ", p.bitrate, " bit/s is above the limit of ",
                           l.throughput_max_bitrate(), " bit/s"));
  }
  const uint32_t max_parallel = l.has_throughput_max_parallel()
                                    ? l.throughput_max_parallel()
                                    : ThroughputLimits::kMaxParallel;
  if (p.parallel > max_parallel) {
    return Denied(
        "throughput_max_parallel",
        absl::StrCat(p.parallel, " streams exceed the limit of ", max_parallel));
  }
  return absl::OkStatus();
}

}  // namespace netprobe
