#ifndef NETPROBE_CLIENT_COMMANDS_MCAST_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_MCAST_COMMAND_H_

#include <vector>

#include "absl/status/statusor.h"
#include "client/command_context.h"
#include "common/option_parser.h"
#include "netprobe/v1/udp.pb.h"

namespace netprobe::client {

// `netprobe mcast [-I IFACE] [--source S] [-c N] [--duration T]
//                 [--max-payload N] [--send] [--payload TEXT]
//                 [--send-interval T] [--ttl N] [--loopback] GROUP:PORT`
// GROUP:PORT is "239.1.2.3:5000" or "[ff15::1]:5000". Values are passed on as
// given; the agent checks their limits and names the field.
std::vector<OptionSpec> McastOptions();
absl::StatusOr<v1::MulticastRequest> BuildMcastRequest(const ParsedOptions& options);
int RunMcast(const CommandContext& ctx);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_MCAST_COMMAND_H_
