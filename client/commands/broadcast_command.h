#ifndef NETPROBE_CLIENT_COMMANDS_BROADCAST_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_BROADCAST_COMMAND_H_

#include <vector>

#include "absl/status/statusor.h"
#include "client/command_context.h"
#include "common/option_parser.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe::client {

// `netprobe broadcast -I IFACE --port P [--address A] [--window T]
//                     [--payload TEXT]`
// Exit 0 when at least one host answered, 1 when none did.
std::vector<OptionSpec> BroadcastOptions();
absl::StatusOr<v1::BroadcastRequest> BuildBroadcastRequest(const ParsedOptions& options);
int RunBroadcast(const CommandContext& ctx);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_BROADCAST_COMMAND_H_
