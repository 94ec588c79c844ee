#ifndef NETPROBE_AGENT_POLICY_PRIVILEGED_OPTION_H_
#define NETPROBE_AGENT_POLICY_PRIVILEGED_OPTION_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace netprobe {

// Options a probe may be asked for that reach beyond probing a target: they
// steer the host's routing or firewall, pick the agent's identity or
// priority on the wire, see other people's traffic and processes, reach
// services on the agent's host, or put the caller's bytes on a connection.
// Each needs a grant (IdentityRule.grants, by GrantName); by default only
// root on the unix socket has them (Policy::CheckGrants).
enum class PrivilegedOption {
  kMark,           // options.mark: SO_MARK, matched by policy routing and nftables
  kInterface,      // an interface to bind to or join on (SO_BINDTODEVICE)
  kSourceAddress,  // options.source_address: the agent's address of the caller's choice
  kPriority,       // options.priority above 6 (7: network control; above: CAP_NET_ADMIN)
  kPromiscuous,    // capture: the interface in promiscuous mode
  kOwnTraffic,     // capture: the agent's own gRPC traffic (include_own_traffic)
  kProcesses,      // sockets: other users' processes and their sockets (/proc)
  kLocalTargets,   // a TCP caller's probe of loopback or the agent's own addresses
  kTcpPayload,     // TCP connect: bytes of the caller's (send_payload) to the target
};

inline constexpr PrivilegedOption kAllPrivilegedOptions[] = {
    PrivilegedOption::kMark,          PrivilegedOption::kInterface,
    PrivilegedOption::kSourceAddress, PrivilegedOption::kPriority,
    PrivilegedOption::kPromiscuous,   PrivilegedOption::kOwnTraffic,
    PrivilegedOption::kProcesses,     PrivilegedOption::kLocalTargets,
    PrivilegedOption::kTcpPayload};

// Priorities up to this need no grant: 0-6 are what any process may set.
inline constexpr int kMaxUngrantedPriority = 6;

// The option's name as a request spells it ("options.mark").
inline absl::string_view PrivilegedOptionName(PrivilegedOption option) {
  switch (option) {
    case PrivilegedOption::kMark:
      return "options.mark";
    case PrivilegedOption::kInterface:
      return "interface";
    case PrivilegedOption::kSourceAddress:
      return "options.source_address";
    case PrivilegedOption::kPriority:
      return "options.priority above 6";
    case PrivilegedOption::kPromiscuous:
      return "promiscuous";
    case PrivilegedOption::kOwnTraffic:
      return "include_own_traffic";
    case PrivilegedOption::kProcesses:
      return "processes";
    case PrivilegedOption::kLocalTargets:
      return "a target on this agent's host (loopback or its own address)";
    case PrivilegedOption::kTcpPayload:
      return "send_payload";
  }
  return "?";
}

// The grant's name in a policy ("mark").
inline absl::string_view GrantName(PrivilegedOption option) {
  switch (option) {
    case PrivilegedOption::kMark:
      return "mark";
    case PrivilegedOption::kInterface:
      return "interface";
    case PrivilegedOption::kSourceAddress:
      return "source_address";
    case PrivilegedOption::kPriority:
      return "priority";
    case PrivilegedOption::kPromiscuous:
      return "promiscuous";
    case PrivilegedOption::kOwnTraffic:
      return "own_traffic";
    case PrivilegedOption::kProcesses:
      return "processes";
    case PrivilegedOption::kLocalTargets:
      return "local_targets";
    case PrivilegedOption::kTcpPayload:
      return "tcp_payload";
  }
  return "?";
}

inline std::optional<PrivilegedOption> GrantByName(absl::string_view name) {
  for (PrivilegedOption option : kAllPrivilegedOptions) {
    if (GrantName(option) == name) return option;
  }
  return std::nullopt;
}

}  // namespace netprobe

#endif  // NETPROBE_AGENT_POLICY_PRIVILEGED_OPTION_H_
