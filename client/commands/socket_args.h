#ifndef NETPROBE_CLIENT_COMMANDS_SOCKET_ARGS_H_
#define NETPROBE_CLIENT_COMMANDS_SOCKET_ARGS_H_

#include "absl/status/status.h"
#include "common/option_parser.h"
#include "netprobe/v1/common.pb.h"

namespace netprobe::client {

// The socket options every probe command takes the same way: -I IFACE|ADDR
// (an IP literal is a source address, anything else an interface), -4/-6,
// -t TTL, -Q TOS. INVALID_ARGUMENT names the option.
absl::Status ApplySocketArgs(const ParsedOptions& options, v1::SocketOptions* out,
                             v1::AddressFamily* family);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_SOCKET_ARGS_H_
