#ifndef NETPROBE_AGENT_NET_RESOLVER_H_
#define NETPROBE_AGENT_NET_RESOLVER_H_

#include <sys/socket.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/net/blocking_pool.h"
#include "agent/net/socket_address.h"

namespace netprobe {

class EventLoop;

// The literal's address when `host` is one (family-checked), nullopt when it
// is a name. INVALID_ARGUMENT when a literal does not match `family`.
absl::StatusOr<std::optional<SocketAddress>> ResolveLiteral(const std::string& host,
                                                            int family,
                                                            absl::string_view field);

// Blocking resolution with getaddrinfo() (AF_UNSPEC: IPv4 when the name has
// it, else IPv6), for the pool's resolve threads and for tests. NOT_FOUND
// names `field` and the resolver's reason.
absl::StatusOr<SocketAddress> ResolveNow(const std::string& host, int family,
                                         absl::string_view field);

// Every address of `host` (getaddrinfo, `family` AF_INET, AF_INET6 or
// AF_UNSPEC for both), each once, in the resolver's order; a literal is
// itself. Blocking: for the pool's resolve threads and for start-up checks.
// NOT_FOUND naming `field` when the name does not resolve (an empty list
// when it resolves to no address of `family`).
absl::StatusOr<std::vector<SocketAddress>> ResolveAllNow(const std::string& host,
                                                         int family,
                                                         absl::string_view field);

using ResolveCallback = std::function<void(absl::StatusOr<SocketAddress>)>;

// Judges a resolved address before anything is sent to it (the agent's
// policy); an error replaces the address. `field` names the target.
using AddressCheck =
    std::function<absl::Status(const SocketAddress& address, absl::string_view field)>;

// For probes on `loop`: a literal is resolved at once (`done` runs before
// this returns), a name on the pool's resolve queue in the caller's turn,
// with `done` posted back to the loop. Either way `check` (when set) judges the address
// on the loop first, so whatever the notation, the address checked is the address probed.
// Once `alive` has expired (the probe is gone) the name is not looked up, or
// `done` does not run.
void ResolveOnLoop(const BlockingWork& work, EventLoop* loop, std::weak_ptr<char> alive,
                   const std::string& host, int family, const std::string& field,
                   AddressCheck check, ResolveCallback done);

// Blocking reverse lookup with getnameinfo(NI_NAMEREQD): the name of the
// numeric address `ip`, or "" when it has none (or the lookup failed).
std::string ReverseNow(const std::string& ip);

// ReverseNow on the pool's resolve queue, `done` posted back to `loop`
// (not run once `alive` has expired).
void ReverseOnLoop(const BlockingWork& work, EventLoop* loop, std::weak_ptr<char> alive,
                   const std::string& ip, std::function<void(std::string name)> done);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_RESOLVER_H_
