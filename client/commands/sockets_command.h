#ifndef NETPROBE_CLIENT_COMMANDS_SOCKETS_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_SOCKETS_COMMAND_H_

#include <vector>

#include "absl/status/statusor.h"
#include "client/command_context.h"
#include "common/option_parser.h"
#include "netprobe/v1/sockets.pb.h"

namespace netprobe::client {

// `netprobe sockets [-t] [-u] [-x] [-w] [-l] [-a] [-i] [-p] [-4|-6]
//                   [--state S]... [--port P] [--src CIDR] [--dst CIDR]
//                   [--watch INTERVAL]`
std::vector<OptionSpec> SocketsOptions();
absl::StatusOr<v1::SocketsRequest> BuildSocketsRequest(const ParsedOptions& options);
int RunSockets(const CommandContext& ctx);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_SOCKETS_COMMAND_H_
