#ifndef NETPROBE_AGENT_PROBES_BROADCAST_REQUEST_H_
#define NETPROBE_AGENT_PROBES_BROADCAST_REQUEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/net/interfaces.h"
#include "agent/net/socket_address.h"
#include "agent/net/socket_setup.h"
#include "agent/probes/admission.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe {

// Limits of one Broadcast request (stated in the README).
struct BroadcastLimits {
  static constexpr size_t kMaxPayload = 65507;  // largest IPv4 UDP payload
  static constexpr absl::Duration kMinWindow = absl::Milliseconds(1);
  static constexpr absl::Duration kMaxWindow = absl::Seconds(60);
  static constexpr absl::Duration kDefaultWindow = absl::Seconds(2);
  // Bytes of each reply's payload put in its event.
  static constexpr size_t kReportedPayload = 1024;
  static constexpr char kDefaultPayload[] = "netprobe broadcast";
  static constexpr char kLimitedBroadcast[] = "255.255.255.255";
};

// A validated Broadcast request.
struct BroadcastPlan {
  std::string interface;
  SocketAddress destination;  // IPv4 broadcast address with the port
  std::vector<uint8_t> payload;
  absl::Duration window = BroadcastLimits::kDefaultWindow;
  SocketSetup setup;  // setup.interface == interface
  // The interface's IPv4 addresses: a datagram from one of them to our own
  // port is the kernel's loopback copy of our broadcast, not a reply.
  std::vector<std::string> local_addresses;
  // Set by the server from the policy: target checks and send budgets.
  Admission admission;
};

// Validates `request` against `interfaces` (the host's, from ListInterfaces();
// a parameter so tests can give fixed ones). INVALID_ARGUMENT naming the field
// and its limit; NOT_FOUND for an unknown interface. Pure but for
// ValidateSocketOptions' quick system calls.
absl::StatusOr<BroadcastPlan> ValidateBroadcast(
    const v1::BroadcastRequest& request, const std::vector<InterfaceInfo>& interfaces);

// The same against this host's interfaces.
absl::StatusOr<BroadcastPlan> ValidateBroadcast(const v1::BroadcastRequest& request);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_BROADCAST_REQUEST_H_
