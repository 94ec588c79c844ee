#ifndef NETPROBE_AGENT_PROBES_PROBE_CAPTURE_REQUEST_H_
#define NETPROBE_AGENT_PROBES_PROBE_CAPTURE_REQUEST_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "netprobe/v1/capture.pb.h"

namespace netprobe {

// Limits of a capture asked for with a probe (ProbeCaptureOptions; stated in
// the README).
struct ProbeCaptureLimits {
  static constexpr uint32_t kMaxSnaplen = 262144;
  static constexpr uint64_t kMaxPackets = 1000000;
  static constexpr uint64_t kDefaultMaxPackets = 100000;
  // Throughput's default: the headers (its data would be captured whole).
  static constexpr uint32_t kThroughputSnaplen = 128;
};

// A validated ProbeCaptureOptions.
struct ProbeCapturePlan {
  uint32_t snaplen = ProbeCaptureLimits::kMaxSnaplen;
  uint64_t max_packets = ProbeCaptureLimits::kDefaultMaxPackets;
};

// nullopt when the request asks for no capture (`present` false); else the
// plan, or INVALID_ARGUMENT naming the field and its limit
// ("capture.snaplen: 0 is outside 1..262144").
absl::StatusOr<std::optional<ProbeCapturePlan>> ValidateProbeCapture(
    bool present, const v1::ProbeCaptureOptions& options,
    uint32_t default_snaplen = ProbeCaptureLimits::kMaxSnaplen);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_PROBE_CAPTURE_REQUEST_H_
