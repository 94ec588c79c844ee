#ifndef NETPROBE_CLIENT_COMMANDS_MESH_PLAN_H_
#define NETPROBE_CLIENT_COMMANDS_MESH_PLAN_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "netprobe/v1/agent.pb.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe::client {

// The host of an agent's gRPC address when it is an IP literal of `family`
// (any family for ADDRESS_FAMILY_UNSPECIFIED): "198.18.0.10:7431",
// "ipv4:198.18.0.10:7431", "[2001:2::a]:7431", "ipv6:[2001:2::a]:7431".
// Unset for unix sockets, names and literals of the other family: the probe
// address then comes from the agent itself (ProbeAddressFromInfo).
std::optional<std::string> IpLiteralHost(absl::string_view agent_address,
                                         v1::AddressFamily family);

// The agent's probe address from its GetInfo answer: the first global
// address of `family` (IPv4 when unspecified) on an interface that is up
// and not a loopback, in the order the agent lists them. Not global:
// loopback, link-local, unspecified, multicast (and IPv4 0/8). NOT_FOUND
// says which family was missing.
absl::StatusOr<std::string> ProbeAddressFromInfo(const v1::AgentInfo& info,
                                                 v1::AddressFamily family);

// `targets` split in order into requests of at most `per_request` (>= 1).
std::vector<std::vector<std::string>> ChunkTargets(
    const std::vector<std::string>& targets, size_t per_request);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_MESH_PLAN_H_
