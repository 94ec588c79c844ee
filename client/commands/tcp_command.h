#ifndef NETPROBE_CLIENT_COMMANDS_TCP_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_TCP_COMMAND_H_

#include <vector>

#include "absl/status/statusor.h"
#include "client/command_context.h"
#include "common/option_parser.h"
#include "netprobe/v1/tcp.pb.h"

namespace netprobe::client {

// `netprobe tcp [-c N] [-i INTERVAL] [-W TIMEOUT] [--concurrency N]
//               [-I IFACE|ADDR] [--info] HOST:PORT...`
std::vector<OptionSpec> TcpOptions();
// Builds the request from the options; INVALID_ARGUMENT names the option.
absl::StatusOr<v1::TcpConnectRequest> BuildTcpRequest(const ParsedOptions& options);
int RunTcp(const CommandContext& ctx);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_TCP_COMMAND_H_
