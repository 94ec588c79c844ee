#ifndef NETPROBE_AGENT_PROBES_MULTICAST_REQUEST_H_
#define NETPROBE_AGENT_PROBES_MULTICAST_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/net/socket_address.h"
#include "agent/probes/admission.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe {

// Limits of one Multicast request (stated in the README).
struct MulticastLimits {
  static constexpr uint32_t kMaxCount = 1000000;
  static constexpr absl::Duration kMaxDuration = absl::Hours(24);
  static constexpr uint32_t kMaxPayload = 65507;
  static constexpr uint32_t kDefaultMaxPayload = 256;
  static constexpr absl::Duration kMinSendInterval = absl::Milliseconds(1);
  static constexpr absl::Duration kMaxSendInterval = absl::Hours(1);
  static constexpr absl::Duration kDefaultSendInterval = absl::Seconds(1);
  static constexpr int kDefaultSendTtl = 1;
};

// A validated Multicast request.
struct MulticastPlan {
  // The group with the port; IPv6 groups of interface- or link-local scope
  // carry the interface as scope id.
  SocketAddress group;
  std::string interface;                           // empty: the kernel picks by route
  unsigned interface_index = 0;                    // 0 with no interface
  std::optional<SocketAddress> source;             // SSM when set
  uint32_t count = 0;                              // 0: no count limit
  absl::Duration duration = absl::ZeroDuration();  // zero: no time limit
  uint32_t max_payload = MulticastLimits::kDefaultMaxPayload;
  bool send = false;
  std::string send_payload;  // empty: a default text with the sequence
  absl::Duration send_interval = MulticastLimits::kDefaultSendInterval;
  int send_ttl = MulticastLimits::kDefaultSendTtl;
  bool loopback = false;
  bool report_sends = false;  // an AttemptSent per datagram sent
  // Set by the server from the policy: target checks and send budgets.
  Admission admission;
};

// INVALID_ARGUMENT (NOT_FOUND for an unknown interface) naming the field and
// its limit. Makes one quick system call (if_nametoindex); never blocks.
absl::StatusOr<MulticastPlan> ValidateMulticast(const v1::MulticastRequest& request);

// True for the IPv6 multicast scopes that need an interface (ffx1, ffx2).
bool NeedsInterfaceScope(const SocketAddress& group);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_MULTICAST_REQUEST_H_
