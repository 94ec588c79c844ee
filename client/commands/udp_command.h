#ifndef NETPROBE_CLIENT_COMMANDS_UDP_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_UDP_COMMAND_H_

#include <vector>

#include "absl/status/statusor.h"
#include "client/command_context.h"
#include "common/option_parser.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe::client {

// `netprobe udp [-c N] [-i INTERVAL] [-W TIMEOUT] [-s SIZE] [-t TTL] [-Q TOS]
//               [-I IFACE|ADDR] [-4|-6] HOST:PORT`
std::vector<OptionSpec> UdpOptions();
absl::StatusOr<v1::UdpEchoRequest> BuildUdpEchoRequest(const ParsedOptions& options);
int RunUdp(const CommandContext& ctx);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_UDP_COMMAND_H_
