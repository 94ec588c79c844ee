#ifndef NETPROBE_CLIENT_COMMANDS_MTR_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_MTR_COMMAND_H_

#include <vector>

#include "absl/status/statusor.h"
#include "client/command_context.h"
#include "common/option_parser.h"
#include "netprobe/v1/traceroute.pb.h"

namespace netprobe::client {

// `netprobe mtr [-c N] [-i INTERVAL] [-r] [-n] [-u|-T] [-P PORT] [-4|-6]
//   [-f FIRST] [-m MAX] [-U MAX_UNKNOWN] [-Z SECONDS] [-s PACKETSIZE]
//   [--flows N] TARGET`, mtr's options: a Traceroute request in mtr mode.
// `live`: the output is a terminal and neither -r nor --json was given; -c
// unset is then 0 (until Ctrl-C, as mtr's display runs), else 10 (mtr -r's).
std::vector<OptionSpec> MtrOptions();
absl::StatusOr<v1::TracerouteRequest> BuildMtrRequest(const ParsedOptions& options,
                                                      bool live);
int RunMtr(const CommandContext& ctx);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_MTR_COMMAND_H_
