#ifndef NETPROBE_AGENT_NET_CONNECTION_SHUTDOWN_H_
#define NETPROBE_AGENT_NET_CONNECTION_SHUTDOWN_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "agent/net/socket_address.h"

namespace netprobe {

// Ends connections a library (gRPC) owns in this process, which offers no
// call to end one: the socket is shut down (both directions, the descriptor
// stays its owner's to close), so its owner reads end-of-file, fails the
// connection's calls and frees them.

// The TCP connection from `peer` accepted on one of `local_ports`: found
// among this process's descriptors by getpeername/getsockname. NOT_FOUND
// when there is none (it ended already).
absl::Status ShutDownTcpConnection(const SocketAddress& peer,
                                   absl::Span<const uint16_t> local_ports);

// The connected (not listening) unix stream socket `fd`. FAILED_PRECONDITION
// when `fd` is anything else now.
absl::Status ShutDownUnixConnection(int fd);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_CONNECTION_SHUTDOWN_H_
