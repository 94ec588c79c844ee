#ifndef NETPROBE_CLIENT_COMMANDS_TRACEPATH_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_TRACEPATH_COMMAND_H_

#include <vector>

#include "absl/status/statusor.h"
#include "client/command_context.h"
#include "common/option_parser.h"
#include "netprobe/v1/traceroute.pb.h"

namespace netprobe::client {

// `netprobe tracepath [-n] [-l PKTLEN] [-m MAX] [-p PORT] [-4|-6] TARGET`:
// the path and its MTU hop by hop, like tracepath -n (a Traceroute request
// with path_mtu).
std::vector<OptionSpec> TracepathOptions();
absl::StatusOr<v1::TracerouteRequest> BuildTracepathRequest(const ParsedOptions& options);
int RunTracepath(const CommandContext& ctx);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_TRACEPATH_COMMAND_H_
