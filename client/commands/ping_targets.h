#ifndef NETPROBE_CLIENT_COMMANDS_PING_TARGETS_H_
#define NETPROBE_CLIENT_COMMANDS_PING_TARGETS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace netprobe::client {

// The most targets one ping request takes (the agent's limit).
inline constexpr size_t kMaxPingTargets = 4096;

// ping's targets as fping takes them: a CIDR block ("198.18.0.0/24": its
// host addresses, without the network and broadcast addresses below /31;
// IPv6 blocks of at most kMaxPingTargets addresses) stands for its
// addresses; with `generate` (fping -g) the arguments are one block or a
// START END pair of IPv4 addresses. Names and single addresses pass as
// given. INVALID_ARGUMENT names the argument and the limit.
absl::StatusOr<std::vector<std::string>> ExpandPingTargets(
    const std::vector<std::string>& args, bool generate);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_PING_TARGETS_H_
