#include "agent/probes/probe_capture_request.h"

#include "absl/strings/str_cat.h"

namespace netprobe {

absl::StatusOr<std::optional<ProbeCapturePlan>> ValidateProbeCapture(
    bool present, const v1::ProbeCaptureOptions& options, uint32_t default_snaplen) {
  if (!present) return std::optional<ProbeCapturePlan>();
  ProbeCapturePlan plan;
  plan.snaplen = default_snaplen;
  if (options.has_snaplen()) {
    if (options.snaplen() < 1 || options.snaplen() > ProbeCaptureLimits::kMaxSnaplen) {
      return absl::InvalidArgumentError(
          absl::StrCat("capture.snaplen: ", options.snaplen(), " is outside 1..",
                       ProbeCaptureLimits::kMaxSnaplen));
    }
    plan.snaplen = options.snaplen();
  }
  if (options.max_packets() > ProbeCaptureLimits::kMaxPackets) {
    return absl::InvalidArgumentError(
        absl::StrCat("capture.max_packets: ", options.max_packets(), " is outside 0..",
                     ProbeCaptureLimits::kMaxPackets,
                     " (0: ", ProbeCaptureLimits::kDefaultMaxPackets, ")"));
  }
  if (options.max_packets() != 0) plan.max_packets = options.max_packets();
  return std::optional<ProbeCapturePlan>(plan);
}

}  // namespace netprobe
