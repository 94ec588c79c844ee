#ifndef NETPROBE_AGENT_PROBES_SOCKETS_LISTING_H_
#define NETPROBE_AGENT_PROBES_SOCKETS_LISTING_H_

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "agent/net/sock_diag.h"
#include "agent/net/socket_opener.h"
#include "agent/net/socket_owners.h"
#include "agent/probes/sockets_request.h"
#include "netprobe/v1/sockets.pb.h"

namespace netprobe {

// The sockets of one listing by identity (family, protocol and the kernel's
// socket cookie), each entry serialized: a socket whose serialization differs
// from the last listing's has changed.
using SocketsListing = std::unordered_map<std::string, std::string>;

// One round of the Sockets probe, computed off the loop.
struct SocketsRound {
  // Every socket in the first round; then the new and changed ones.
  std::vector<v1::SocketEntry> changed;
  // Sockets of the previous listing that are gone.
  std::vector<v1::SocketEntry> removed;
  // Kinds this kernel cannot list ("raw (IPv4): ...").
  std::vector<std::string> unavailable;
  // A dump that failed for another reason: the round is not trustworthy.
  absl::Status error;
  // When the plan asks for it: the kernel's counters and the listing's.
  std::optional<v1::SocketsSummary> summary;
};

// Runs the plan's dumps through `host` (blocking: a worker thread's job),
// filters them, adds owners when asked, and diffs against `*listing`, which
// it replaces with this round's. `first`: report every socket. A null
// `listing`: a listing without a next round (no watch): every socket is
// reported and nothing is kept to compare with.
SocketsRound ListSockets(const SocketsPlan& plan, bool first, SocketsListing* listing,
                         SocketOpener* host);

// ss -s's figures: `counters` and how many of `sockets` (as dumped and
// filtered) there are per netid and state.
v1::SocketsSummary Summarize(const Sockstat& counters,
                             const std::vector<sock_diag::Socket>& sockets);

// The pure part of ListSockets, for tests: `sockets` as dumped (already
// filtered), `owners` by inode; `listing` as ListSockets'.
SocketsRound DiffSockets(const std::vector<sock_diag::Socket>& sockets,
                         const SocketOwners& owners, bool first, SocketsListing* listing);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_SOCKETS_LISTING_H_
