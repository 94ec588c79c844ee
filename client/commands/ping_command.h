#ifndef NETPROBE_CLIENT_COMMANDS_PING_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_PING_COMMAND_H_

#include <vector>

#include "absl/status/statusor.h"
#include "client/command_context.h"
#include "common/option_parser.h"
#include "netprobe/v1/ping.pb.h"

namespace netprobe::client {

// `netprobe ping [-c N] [-i INTERVAL] [-W TIMEOUT] [-w DEADLINE] [-s SIZE] [-t TTL]
//                [-Q TOS] [-I IFACE|ADDR] [-4|-6] [--rate PPS] [-M do|dont|want|probe]
//                [-D] [-q] [-n] [-O] TARGET...`
std::vector<OptionSpec> PingOptions();
absl::StatusOr<v1::PingRequest> BuildPingRequest(const ParsedOptions& options);
int RunPing(const CommandContext& ctx);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_PING_COMMAND_H_
