#ifndef NETPROBE_CLIENT_FANOUT_FANOUT_H_
#define NETPROBE_CLIENT_FANOUT_FANOUT_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "client/command_context.h"
#include "client/fanout/agent_list.h"
#include "common/option_parser.h"

namespace netprobe::client {

// One agent of a fan-out and the channel to it.
struct FanoutAgent {
  AgentSpec spec;
  std::shared_ptr<grpc::Channel> channel;
};

// The exit code of a command run on many agents, from each agent's code:
// 130 if any was interrupted; else 0 or 1 (the highest) when every agent
// answered (0 or 1); else kExitPartialFailure when some answered and some
// failed (2-5); else, all failed: their common code, or the most specific of
// them in the order 2 (bad arguments), 5 (not authenticated), 4 (refused),
// 3 (unreachable).
int CombineExitCodes(const std::vector<int>& codes);

// Refuses options that cannot work on many agents at once: capture -w FILE
// (or -w -) as pcap without "{agent}" in FILE: pcap holds one interface, so
// the agents' packets cannot share one file or stream. As pcapng (--pcapng,
// or a FILE named *.pcapng: CaptureWritesPcapng) they can: one file with an
// interface per agent. A probe command's --capture FILE without "{agent}" in
// FILE (--capture - is refused for one agent already).
absl::Status CheckFanoutOptions(absl::string_view command, const ParsedOptions& options);

// "cap-{agent}.pcap" with every "{agent}" replaced by `agent_name`, where
// characters other than A-Z a-z 0-9 . _ - @ become '_' (so "unix:/run/a.sock"
// gives "unix__run_a.sock"), and a name of only dots becomes underscores.
std::string ExpandAgentPlaceholder(absl::string_view path, absl::string_view agent_name);

// Runs `run` on every agent at once, each on its own thread with a copy of
// `base` whose agent, channel, out and err are the agent's: out and err are
// labelled line by line (LineLabeler) and merged into base.out / base.err as
// they arrive. With `mesh_title` (ping, tcp, udp), collects each agent's
// target summaries and, in text mode, prints the table by agent
// (FormatMeshTable) on base.out at the end, when any agent measured
// something. Failed agents are named on base.err. Returns CombineExitCodes of
// the agents' codes.
int RunOnAgents(const CommandContext& base, const std::vector<FanoutAgent>& agents,
                const std::function<int(const CommandContext&)>& run,
                absl::string_view command, const char* mesh_title);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_FANOUT_FANOUT_H_
