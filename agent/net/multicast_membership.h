#ifndef NETPROBE_AGENT_NET_MULTICAST_MEMBERSHIP_H_
#define NETPROBE_AGENT_NET_MULTICAST_MEMBERSHIP_H_

#include <netinet/in.h>

#include <optional>

#include "absl/status/statusor.h"
#include "agent/net/socket_address.h"

namespace netprobe {

// One socket's membership of a multicast group: any-source (MCAST_JOIN_GROUP)
// or source-specific (MCAST_JOIN_SOURCE_GROUP), IPv4 or IPv6 alike (the
// protocol-independent group_req API). Leave() or the destructor leaves the
// group; the socket must stay open until then (closing it leaves too).
// Move-only. Not thread-safe.
class MulticastMembership {
 public:
  // Joins `group` on `fd` (a UDP socket of the group's family). An
  // `interface_index` of 0 lets the kernel pick the interface by route; with
  // no route to the group that fails with FAILED_PRECONDITION asking for an
  // interface. `source`, when set, makes the join source-specific.
  static absl::StatusOr<MulticastMembership> Join(
      int fd, const SocketAddress& group, unsigned interface_index,
      const std::optional<SocketAddress>& source);

  MulticastMembership(MulticastMembership&& other) noexcept { *this = std::move(other); }
  MulticastMembership& operator=(MulticastMembership&& other) noexcept;
  ~MulticastMembership() { Leave(); }

  // Idempotent. The kernel sends the IGMP / MLD leave when the last member
  // on the host is gone.
  void Leave();

 private:
  MulticastMembership() = default;

  int fd_ = -1;  // not owned; -1 once left
  int level_ = 0;
  bool source_specific_ = false;
  group_source_req request_{};  // gsr_source unused for any-source joins
};

// Limits `fd` to the groups joined on it (IP_MULTICAST_ALL /
// IPV6_MULTICAST_ALL = 0). Without it a socket bound to a port receives the
// datagrams of every group that any socket of the host joined on that port.
absl::Status ReceiveOnlyJoinedGroups(int fd, int family);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_MULTICAST_MEMBERSHIP_H_
