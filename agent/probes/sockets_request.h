#ifndef NETPROBE_AGENT_PROBES_SOCKETS_REQUEST_H_
#define NETPROBE_AGENT_PROBES_SOCKETS_REQUEST_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/net/cidr.h"
#include "agent/net/sock_diag.h"
#include "netprobe/v1/sockets.pb.h"

namespace netprobe {

// Limits of one Sockets request (stated in the README).
struct SocketsLimits {
  static constexpr absl::Duration kMinWatchInterval = absl::Milliseconds(100);
  static constexpr absl::Duration kMaxWatchInterval = absl::Hours(1);
  static constexpr absl::Duration kMaxWatchDuration = absl::Hours(24 * 366);
};

// A validated Sockets request: the dumps to run and the filters the kernel
// does not apply.
struct SocketsPlan {
  // One per family and protocol asked for, with the state mask.
  std::vector<sock_diag::Query> queries;
  // Inet filters (a unix socket never matches one).
  std::optional<Cidr> local;
  std::optional<Cidr> remote;
  uint16_t port = 0;         // either side; 0: any
  uint16_t local_port = 0;   // 0: any
  uint16_t remote_port = 0;  // 0: any
  bool processes = false;
  bool summary = false;  // ss -s: the kernel's counters and the listing's
  // Zero: one snapshot.
  absl::Duration watch_interval = absl::ZeroDuration();
  // Watch mode: how long the watch runs before it ends with a StreamEnd
  // naming this limit (the policy's max_duration bounds it); zero: until
  // cancelled.
  absl::Duration watch_duration = absl::ZeroDuration();

  // Whether an inet socket passes local/remote and the ports (the kernel applied the
  // family, protocol and state filters already).
  bool Matches(const sock_diag::Socket& socket) const;
};

// INVALID_ARGUMENT naming the field and its limit.
absl::StatusOr<SocketsPlan> ValidateSockets(const v1::SocketsRequest& request);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_SOCKETS_REQUEST_H_
