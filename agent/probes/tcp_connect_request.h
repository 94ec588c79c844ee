#ifndef NETPROBE_AGENT_PROBES_TCP_CONNECT_REQUEST_H_
#define NETPROBE_AGENT_PROBES_TCP_CONNECT_REQUEST_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/net/socket_address.h"
#include "agent/net/socket_setup.h"
#include "agent/probes/admission.h"
#include "agent/probes/probe_capture_request.h"
#include "netprobe/v1/tcp.pb.h"

namespace netprobe {

// Limits of one TcpConnect request (stated in the README).
struct TcpConnectLimits {
  static constexpr int kMaxTargets = 1024;
  static constexpr uint32_t kMaxCount = 100000;
  static constexpr uint64_t kMaxAttempts = 1000000;  // targets x count
  static constexpr uint32_t kMaxConcurrency = 4096;
  static constexpr uint32_t kDefaultConcurrency = 100;
  static constexpr size_t kMaxPayload = 4096;
  static constexpr uint32_t kMaxReadBytes = 65536;
};

// A validated TcpConnect request; names are not resolved yet.
struct TcpConnectPlan {
  std::vector<HostPort> targets;
  int family = 0;  // AF_UNSPEC, AF_INET or AF_INET6
  uint32_t count = 1;
  absl::Duration interval = absl::Seconds(1);
  absl::Duration timeout = absl::Seconds(3);
  uint32_t concurrency = TcpConnectLimits::kDefaultConcurrency;
  SocketSetup setup;
  std::optional<ProbeCapturePlan> capture;  // the probe's own packets
  bool tcp_info = false;
  std::string send_payload;
  uint32_t read_bytes = 0;
  bool graceful_close = false;
  bool report_sends = false;  // an AttemptSent per connect()
  // Set by the server from the policy: target checks and send budgets.
  Admission admission;
};

// Checks every field against its limits. INVALID_ARGUMENT (NOT_FOUND for an
// unknown interface) with a message naming the field and the limit.
absl::StatusOr<TcpConnectPlan> ValidateTcpConnect(const v1::TcpConnectRequest& request);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_TCP_CONNECT_REQUEST_H_
