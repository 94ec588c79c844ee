#ifndef NETPROBE_AGENT_PROBES_SOCKET_OPTIONS_H_
#define NETPROBE_AGENT_PROBES_SOCKET_OPTIONS_H_

#include "absl/status/statusor.h"
#include "agent/net/socket_setup.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe {

// Validates a request's SocketOptions for any probe kind and turns them into
// a SocketSetup. `tcp` says whether TCP-only options are meaningful. Errors
// name the field ("options.ttl: 300 is out of range 1..255"); an unknown
// interface is NOT_FOUND; a source address not on this host INVALID_ARGUMENT.
// Makes a few quick system calls (if_nametoindex, a test bind); never blocks.
absl::StatusOr<SocketSetup> ValidateSocketOptions(const v1::SocketOptions& options,
                                                  bool tcp);

// AF_INET, AF_INET6, or AF_UNSPEC for a request's AddressFamily.
int FamilyFromProto(v1::AddressFamily family);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_PROBES_SOCKET_OPTIONS_H_
