#ifndef NETPROBE_CLIENT_COMMANDS_TRACEROUTE_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_TRACEROUTE_COMMAND_H_

#include <vector>

#include "absl/status/statusor.h"
#include "client/command_context.h"
#include "common/option_parser.h"
#include "netprobe/v1/traceroute.pb.h"

namespace netprobe::client {

// `netprobe traceroute [-n] [-I|-U] [-p PORT] [-f FIRST] [-m MAX] [-q N]
//   [-w WAIT] [-t TOS] [-s SRC] [-i IFACE] [-4|-6] [--flows N] TARGET
//   [PACKETLEN]`, Linux traceroute's options.
std::vector<OptionSpec> TracerouteOptions();
absl::StatusOr<v1::TracerouteRequest> BuildTracerouteRequest(
    const ParsedOptions& options);
int RunTraceroute(const CommandContext& ctx);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_TRACEROUTE_COMMAND_H_
