#ifndef NETPROBE_CLIENT_COMMANDS_MESH_COMMAND_H_
#define NETPROBE_CLIENT_COMMANDS_MESH_COMMAND_H_

#include <vector>

#include "client/command_context.h"
#include "client/fanout/fanout.h"
#include "common/option_parser.h"

namespace netprobe::client {

// `netprobe [--agent A]... [--agents FILE] mesh [-c N] [-i INTERVAL] [-W WAIT]
//           [-4|-6] [--targets-per-request N]`: one mesh round now. Every
// agent pings every other agent's probe address with the Ping RPC, all
// agents at once (at most 16 calls per agent at a time, of at most
// --targets-per-request destinations each), --timeout bounding the whole
// round; then the source x destination matrix of loss and median RTT
// (text), or one JSON line per cell (--json).
std::vector<OptionSpec> MeshOptions();

// One agent: a 1 x 1 matrix (nothing to probe); kept for the command table.
int RunMesh(const CommandContext& ctx);

// The mesh round over `agents`. Each agent's exit code is its own (0: every
// destination answered every request; 1: some did not, or had no probe
// address; 2-5: the agent failed, its row is errors and it is named on
// ctx.err); the result is CombineExitCodes of them.
int RunMeshOnAgents(const CommandContext& ctx, const std::vector<FanoutAgent>& agents);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_MESH_COMMAND_H_
