#ifndef NETPROBE_CLIENT_COMMANDS_INFO_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_INFO_COMMAND_H_

#include <vector>

#include "client/command_context.h"
#include "common/option_parser.h"

namespace netprobe::client {

// `netprobe info`: the agent's version, host, interfaces, capabilities, probes.
std::vector<OptionSpec> InfoOptions();
int RunInfo(const CommandContext& ctx);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_INFO_COMMAND_H_
