#ifndef NETPROBE_AGENT_PROBES_CAPTURE_REQUEST_H_
#define NETPROBE_AGENT_PROBES_CAPTURE_REQUEST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "netprobe/v1/capture.pb.h"

namespace netprobe {

// Limits of one Capture request (stated in the README and capture.proto).
struct CaptureLimits {
  static constexpr uint32_t kMaxSnaplen = 262144;
  static constexpr uint64_t kMaxPackets = 100000000;
  static constexpr absl::Duration kMaxDuration = absl::Hours(24);
  static constexpr uint64_t kMaxBytes = uint64_t{16} << 30;
  static constexpr size_t kMaxFilterLength = 4096;
};

// A validated Capture request.
struct CapturePlan {
  std::string interface = "any";
  // The caller's filter, and what the agent installs (with its exclusion of
  // its own traffic).
  std::string filter;
  std::string effective_filter;
  int snaplen = CaptureLimits::kMaxSnaplen;
  bool promiscuous = false;
  // The agent's own gRPC traffic is not excluded (a privileged option).
  bool include_own_traffic = false;
  uint64_t max_packets = CaptureLimits::kMaxPackets;
  absl::Duration duration = CaptureLimits::kMaxDuration;
  uint64_t max_bytes = CaptureLimits::kMaxBytes;
  // Packets as packed records (PacketBatch.records), not Packet messages.
  bool packed_records = false;
};

// INVALID_ARGUMENT naming the field and its limit; NOT_FOUND for an unknown
// interface. `own_tcp_listeners` are the agent's bound TCP listen addresses
// ("127.0.0.1:7431", "[::]:7431"): their traffic is excluded unless the
// request includes it. The filter itself is compiled when the capture opens.
absl::StatusOr<CapturePlan> ValidateCapture(
    const v1::CaptureRequest& request, const std::vector<std::string>& own_tcp_listeners);

// "not (tcp and host 127.0.0.1 and port 7431)"-style exclusion of the given
// listeners, or "" for none; any-address listeners exclude the port alone.
std::string OwnTrafficExclusion(const std::vector<std::string>& own_tcp_listeners);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_CAPTURE_REQUEST_H_
