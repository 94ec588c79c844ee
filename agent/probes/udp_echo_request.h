#ifndef NETPROBE_AGENT_PROBES_UDP_ECHO_REQUEST_H_
#define NETPROBE_AGENT_PROBES_UDP_ECHO_REQUEST_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/net/socket_setup.h"
#include "agent/net/udp_echo_payload.h"
#include "agent/probes/admission.h"
#include "agent/probes/probe_capture_request.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe {

// Limits of one UdpEcho request (stated in the README).
struct UdpEchoLimits {
  static constexpr uint32_t kMaxCount = 1000000;
  static constexpr uint32_t kMinSize = udp_echo::kHeaderSize;
  static constexpr uint32_t kMaxSize = 65507;
  static constexpr uint32_t kDefaultSize = 64;
  static constexpr absl::Duration kMinInterval = absl::Milliseconds(1);
};

// A validated UdpEcho request; the host is not resolved yet.
struct UdpEchoPlan {
  std::string host;
  uint16_t port = 0;
  int family = 0;      // AF_UNSPEC, AF_INET or AF_INET6
  uint32_t count = 0;  // 0: until cancelled
  absl::Duration interval = absl::Seconds(1);
  absl::Duration timeout = absl::Seconds(1);
  uint32_t size = UdpEchoLimits::kDefaultSize;
  bool report_sends = false;  // an AttemptSent per datagram
  SocketSetup setup;
  std::optional<ProbeCapturePlan> capture;  // the probe's own packets
  // Set by the server from the policy: target checks and send budgets.
  Admission admission;
};

// INVALID_ARGUMENT (NOT_FOUND for an unknown interface) naming the field and
// its limit.
absl::StatusOr<UdpEchoPlan> ValidateUdpEcho(const v1::UdpEchoRequest& request);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_UDP_ECHO_REQUEST_H_
