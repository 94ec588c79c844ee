#ifndef NETPROBE_AGENT_PROBES_PING_REQUEST_H_
#define NETPROBE_AGENT_PROBES_PING_REQUEST_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/net/socket_setup.h"
#include "agent/probes/admission.h"
#include "agent/probes/probe_capture_request.h"
#include "netprobe/v1/ping.pb.h"

namespace netprobe {

// Limits of one Ping request (stated in the README).
struct PingLimits {
  static constexpr int kMaxTargets = 4096;
  static constexpr uint32_t kMaxCount = 1000000;
  static constexpr uint32_t kMaxSize = 65507;
  static constexpr uint32_t kDefaultSize = 56;
  static constexpr uint32_t kDefaultRate = 20000;
  static constexpr uint32_t kMaxRate = 100000;
  static constexpr absl::Duration kMinInterval = absl::Milliseconds(1);
};

// A validated Ping request; names are not resolved yet.
struct PingPlan {
  std::vector<std::string> targets;
  int family = 0;      // AF_UNSPEC, AF_INET or AF_INET6
  uint32_t count = 0;  // 0: until cancelled
  absl::Duration interval = absl::Seconds(1);
  absl::Duration timeout = absl::Seconds(1);
  uint32_t size = PingLimits::kDefaultSize;
  uint32_t rate = PingLimits::kDefaultRate;  // requests per second, all targets
  bool report_sends = false;                 // an AttemptSent per request
  SocketSetup setup;
  std::optional<ProbeCapturePlan> capture;  // the probe's own packets
  // Set by the server from the policy: target checks and send budgets.
  Admission admission;
};

// INVALID_ARGUMENT (NOT_FOUND for an unknown interface) naming the field and
// its limit.
absl::StatusOr<PingPlan> ValidatePing(const v1::PingRequest& request);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_PING_REQUEST_H_
