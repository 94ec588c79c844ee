#ifndef NETPROBE_CLIENT_COMMANDS_WATCH_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_WATCH_COMMAND_H_

#include <vector>

#include "client/command_context.h"
#include "common/option_parser.h"

namespace netprobe::client {

// `netprobe watch [PROBE...]`: the agent's scheduled results as each run
// ends (Results.WatchResults), a line per target, until Ctrl-C, -c results,
// --timeout (exit 7) or the agent's shutdown (exit 3).
std::vector<OptionSpec> WatchOptions();
int RunWatch(const CommandContext& ctx);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_WATCH_COMMAND_H_
