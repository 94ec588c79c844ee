#ifndef NETPROBE_CLIENT_COMMANDS_CAPTURE_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_CAPTURE_COMMAND_H_

#include <vector>

#include "absl/status/statusor.h"
#include "client/command_context.h"
#include "common/option_parser.h"
#include "netprobe/v1/capture.pb.h"

namespace netprobe::client {

// `netprobe capture [-i IFACE] [-s SNAPLEN] [-c N] [--duration T] [-p]
//                   [-w FILE|-] [--pcapng] [FILTER...]`
std::vector<OptionSpec> CaptureOptions();
absl::StatusOr<v1::CaptureRequest> BuildCaptureRequest(const ParsedOptions& options);
int RunCapture(const CommandContext& ctx);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_CAPTURE_COMMAND_H_
