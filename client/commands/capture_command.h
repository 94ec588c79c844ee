#ifndef NETPROBE_CLIENT_COMMANDS_CAPTURE_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_CAPTURE_COMMAND_H_

#include <vector>

#include "absl/status/statusor.h"
#include "client/command_context.h"
#include "client/fanout/fanout.h"
#include "common/option_parser.h"
#include "netprobe/v1/capture.pb.h"

namespace netprobe::client {

// `netprobe capture [-i IFACE] [-s SNAPLEN] [-c N] [--duration T] [-p]
//                   [-w FILE|-] [--pcapng] [FILTER...]`
std::vector<OptionSpec> CaptureOptions();
absl::StatusOr<v1::CaptureRequest> BuildCaptureRequest(const ParsedOptions& options);
int RunCapture(const CommandContext& ctx);

// -w writes pcapng: --pcapng, or a FILE named *.pcapng.
bool CaptureWritesPcapng(const ParsedOptions& options);

// `netprobe --agent a,b capture ...`: with -w FILE (or -w -) as pcapng and no
// "{agent}" in FILE, one file: an interface per agent, packets merged in
// timestamp order (CapturePcapng), each agent's drops in its interface
// statistics; otherwise RunCapture on each agent (RunOnAgents). Each agent's
// "listening on" and totals go to stderr, labelled; failed agents are named.
int RunCaptureOnAgents(const CommandContext& base,
                       const std::vector<FanoutAgent>& agents);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_CAPTURE_COMMAND_H_
