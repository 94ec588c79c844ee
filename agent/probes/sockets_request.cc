#include "agent/probes/sockets_request.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "agent/probes/request_fields.h"
#include "common/posix_error.h"

namespace netprobe {
namespace {

constexpr size_t kMaxStateName = 16;
// "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128" and then some.
constexpr size_t kMaxPrefix = INET6_ADDRSTRLEN + 4;

// Cidr::Parse of a non-empty filter, nullopt for an empty one.
absl::StatusOr<std::optional<Cidr>> ParsePrefix(const std::string& text,
                                                absl::string_view field) {
  if (text.empty()) return std::nullopt;
  if (text.size() > kMaxPrefix) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", Quoted(text),
        " is not an address or CIDR prefix (e.g. 198.18.0.0/15, 2001:2::/64)"));
  }
  NETPROBE_ASSIGN_OR_RETURN(Cidr cidr, Cidr::Parse(text, field));
  return cidr;
}

bool HasInetFilter(const SocketsPlan& plan) {
  return plan.local || plan.remote || plan.port != 0 || plan.local_port != 0 ||
         plan.remote_port != 0;
}

}  // namespace

bool SocketsPlan::Matches(const sock_diag::Socket& socket) const {
  if (socket.family == AF_UNIX) return !HasInetFilter(*this);
  if (port != 0 && socket.local.port != port && socket.remote.port != port) return false;
  if (local_port != 0 && socket.local.port != local_port) return false;
  if (remote_port != 0 && socket.remote.port != remote_port) return false;
  if (local && !local->Contains(socket.family, socket.local.address.data())) return false;
  if (remote && !remote->Contains(socket.family, socket.remote.address.data())) {
    return false;
  }
  return true;
}

absl::StatusOr<SocketsPlan> ValidateSockets(const v1::SocketsRequest& request) {
  SocketsPlan plan;
  if (request.listening_only() && request.states_size() > 0) {
    return absl::InvalidArgumentError(
        "listening_only: give it or states, not both (it means states "
        "\"listening\" and \"closed\")");
  }
  uint32_t states = 0;
  if (request.listening_only()) {
    // As ss -l: listeners, and datagram sockets that are bound but not
    // connected (UNCONN).
    states =
        sock_diag::StateBit(sock_diag::kListen) | sock_diag::StateBit(sock_diag::kClose);
  } else {
    // The longest state name is "synchronized"; longer text is no state and
    // is not quoted whole.
    for (int i = 0; i < request.states_size(); ++i) {
      if (request.states(i).size() > kMaxStateName) {
        return absl::InvalidArgumentError(absl::StrCat(
            "states[", i, "]: unknown socket state ", Quoted(request.states(i))));
      }
    }
    NETPROBE_ASSIGN_OR_RETURN(states,
                              sock_diag::StateMaskFromNames(request.states(), "states"));
  }
  NETPROBE_ASSIGN_OR_RETURN(plan.local, ParsePrefix(request.local(), "local"));
  NETPROBE_ASSIGN_OR_RETURN(plan.remote, ParsePrefix(request.remote(), "remote"));
  if (request.port() > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port: ", request.port(), " is out of range 0..65535 (0: any)"));
  }
  plan.port = static_cast<uint16_t>(request.port());
  if (request.local_port() > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("local_port: ", request.local_port(),
                                                   " is out of range 0..65535 (0: any)"));
  }
  plan.local_port = static_cast<uint16_t>(request.local_port());
  if (request.remote_port() > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("remote_port: ", request.remote_port(),
                                                   " is out of range 0..65535 (0: any)"));
  }
  plan.remote_port = static_cast<uint16_t>(request.remote_port());
  std::vector<int> families;
  switch (request.family()) {
    case v1::ADDRESS_FAMILY_UNSPECIFIED:
      families = {AF_INET, AF_INET6};
      break;
    case v1::ADDRESS_FAMILY_IPV4:
      families = {AF_INET};
      break;
    case v1::ADDRESS_FAMILY_IPV6:
      families = {AF_INET6};
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("family: ", request.family(), " is not IPV4, IPV6 or unset"));
  }
  std::vector<int> protocols;
  bool unix_sockets = false;
  for (int i = 0; i < request.protocols_size(); ++i) {
    switch (request.protocols(i)) {
      case v1::SOCKET_PROTOCOL_TCP:
        protocols.push_back(IPPROTO_TCP);
        break;
      case v1::SOCKET_PROTOCOL_UDP:
        protocols.push_back(IPPROTO_UDP);
        break;
      case v1::SOCKET_PROTOCOL_RAW:
        protocols.push_back(IPPROTO_RAW);
        break;
      case v1::SOCKET_PROTOCOL_UNIX:
        unix_sockets = true;
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("protocols[", i,
                                                       "]: ", request.protocols(i),
                                                       " is not TCP, UDP, RAW or UNIX"));
    }
  }
  if (request.protocols_size() == 0) protocols = {IPPROTO_TCP, IPPROTO_UDP};
  for (int protocol : protocols) {
    bool seen = false;
    for (const sock_diag::Query& q : plan.queries) seen |= q.protocol == protocol;
    if (seen) continue;
    for (int family : families) {
      plan.queries.push_back(
          sock_diag::Query{.family = family,
                           .protocol = protocol,
                           .states = states,
                           .tcp_info = request.tcp_info() && protocol == IPPROTO_TCP});
    }
  }
  if (unix_sockets) {
    if (request.family() != v1::ADDRESS_FAMILY_UNSPECIFIED || HasInetFilter(plan)) {
      return absl::InvalidArgumentError(
          "protocols: UNIX with a family, address or port filter matches nothing; "
          "list unix sockets in a request of their own");
    }
    plan.queries.push_back(
        sock_diag::Query{.family = AF_UNIX, .protocol = 0, .states = states});
  }
  plan.processes = request.processes();
  plan.summary = request.summary();
  if (request.has_watch_interval()) {
    NETPROBE_ASSIGN_OR_RETURN(
        plan.watch_interval,
        DurationInRange(request.watch_interval(), "watch_interval",
                        SocketsLimits::kMinWatchInterval,
                        SocketsLimits::kMaxWatchInterval, " (unset: one snapshot)"));
  }
  if (request.has_watch_duration()) {
    NETPROBE_ASSIGN_OR_RETURN(
        plan.watch_duration,
        DurationInRange(request.watch_duration(), "watch_duration", absl::ZeroDuration(),
                        SocketsLimits::kMaxWatchDuration, " (unset: until cancelled)"));
    if (plan.watch_duration != absl::ZeroDuration() &&
        plan.watch_interval == absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          "watch_duration: needs watch_interval (a single snapshot has no duration)");
    }
  }
  return plan;
}

}  // namespace netprobe
