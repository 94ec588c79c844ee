// netprobe: the CLI. `netprobe [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]`.
#include <grpc/grpc.h>
#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "client/agent_channel.h"
#include "client/command_context.h"
#include "client/commands/broadcast_command.h"
#include "client/commands/capture_command.h"
#include "client/commands/info_command.h"
#include "client/commands/mcast_command.h"
#include "client/commands/mesh_command.h"
#include "client/commands/mtr_command.h"
#include "client/commands/ping_command.h"
#include "client/commands/sockets_command.h"
#include "client/commands/tcp_command.h"
#include "client/commands/throughput_command.h"
#include "client/commands/tracepath_command.h"
#include "client/commands/traceroute_command.h"
#include "client/commands/udp_command.h"
#include "client/commands/watch_command.h"
#include "client/exit_codes.h"
#include "client/fanout/agent_list.h"
#include "client/fanout/fanout.h"
#include "client/interrupt.h"
#include "client/version.h"
#include "common/option_parser.h"

namespace netprobe::client {
namespace {

constexpr char kDefaultAgent[] = "unix:/run/netprobe/agent.sock";
constexpr const char* kVersion = kClientVersion;

struct Command {
  const char* name;
  const char* summary;
  std::vector<OptionSpec> (*options)();
  int (*run)(const CommandContext&);
  // The probe's name in the table by agent after a run on many agents;
  // null: no table (the command reports no target summaries).
  const char* mesh_title = nullptr;
  // Runs the command on many agents when it does more than RunOnAgents
  // (capture: one pcapng from all of them); null: RunOnAgents.
  int (*run_many)(const CommandContext&, const std::vector<FanoutAgent>&) = nullptr;
};

constexpr Command kCommands[] = {
    {"info", "the agent's version, host, interfaces, capabilities and probes",
     InfoOptions, RunInfo},
    {"ping", "ICMP echo to one host (like ping) or many (like fping)", PingOptions,
     RunPing, "ping"},
    {"tcp", "TCP connect to HOST:PORT targets, like tcping / nc -zv", TcpOptions, RunTcp,
     "tcp connect"},
    {"udp", "UDP echo to HOST:PORT (an agent's --udp-echo or any RFC 862 server)",
     UdpOptions, RunUdp, "udp echo"},
    {"mcast", "join a multicast GROUP:PORT (any-source or SSM), receive and send",
     McastOptions, RunMcast},
    {"broadcast", "who answers a UDP broadcast on an interface's segment",
     BroadcastOptions, RunBroadcast},
    {"capture", "live packet capture, like tcpdump (-w FILE: pcap/pcapng)",
     CaptureOptions, RunCapture, nullptr, RunCaptureOnAgents},
    {"sockets", "the agent host's sockets with TCP_INFO and processes, like ss",
     SocketsOptions, RunSockets},
    {"traceroute",
     "the path to a host hop by hop (UDP, ICMP or TCP SYN, Paris flows), like "
     "traceroute -n",
     TracerouteOptions, RunTraceroute},
    {"mtr",
     "traceroute and ping together, round after round, per-hop loss and RTTs, like "
     "mtr --report -n",
     MtrOptions, RunMtr},
    {"tracepath", "the path and its MTU hop by hop (DF probes), like tracepath -n",
     TracepathOptions, RunTracepath},
    {"throughput",
     "TCP or UDP throughput to an iperf3 server (or an agent's --iperf-server), like "
     "iperf3 -c, and what limited it",
     ThroughputOptions, RunThroughput},
    {"watch", "the agent's scheduled probes' results as each run ends", WatchOptions,
     RunWatch},
    {"mesh",
     "one mesh round now: every agent pings every other agent; the source x "
     "destination matrix of loss and median RTT",
     MeshOptions, RunMesh, nullptr, RunMeshOnAgents},
};

std::vector<OptionSpec> GlobalOptions() {
  std::vector<OptionSpec> specs = {
      {0, "agent", "ADDR",
       absl::StrCat("agent to query: unix:/PATH or HOST:PORT, or NAME=ADDR to label "
                    "it; repeatable or a comma-separated list: the command runs on "
                    "every agent at once, output labelled (default $NETPROBE_AGENT, "
                    "else ",
                    kDefaultAgent, ")"),
       /*repeatable=*/true},
      {0, "agents", "FILE",
       "also run on the agents in FILE: one ADDR or NAME=ADDR per line, # comments",
       /*repeatable=*/true},
      {0, "json", "", "one proto3-JSON object per line instead of text"},
      {0, "timeout", "DURATION", "deadline for the whole request (e.g. 5s)"},
  };
  for (OptionSpec& spec : ChannelOptionSpecs()) specs.push_back(std::move(spec));
  specs.push_back({'h', "help", "", "show help"});
  specs.push_back({'V', "version", "", "print the version"});
  return specs;
}

std::string Usage() {
  std::string out =
      "Usage: netprobe [--agent ADDR]... [--agents FILE] [--json] [--timeout T] COMMAND\n"
      "                [OPTIONS] [ARGS]\n"
      "Runs network probes on netprobe agents and prints the results.\n\nCommands:\n";
  for (const Command& c : kCommands)
    absl::StrAppend(&out, absl::StrFormat("  %-10s %s\n", c.name, c.summary));
  absl::StrAppend(&out, "\nGlobal options:\n", OptionParser(GlobalOptions()).Help(),
                  "\nExit codes: 0 ok, 1 probe failed, 2 bad arguments, 3 agent "
                  "unreachable or shut down mid-run, 4 agent refused or failed the "
                  "request, 5 not authenticated (TLS handshake or token refused), 6 "
                  "some agents failed while others answered (many agents), 7 "
                  "--timeout ended the run (statistics printed), 130 interrupted.\n");
  return out;
}

// gRPC's own log lines (e.g. a failed TLS handshake, in OpenSSL's words)
// would come before ours with the same news; GRPC_VERBOSITY set shows them.
void NoGrpcLog(gpr_log_func_args*) {}

int Run(int argc, char** argv) {
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function(NoGrpcLog);
  const std::vector<std::string> args(argv + 1, argv + argc);
  const std::vector<OptionSpec> globals = GlobalOptions();
  // Global options may come before the command; everything from the command
  // on is parsed with the command's options plus the global ones.
  size_t command_at = 0;
  while (command_at < args.size() && args[command_at].starts_with("-")) {
    const std::string& arg = args[command_at];
    const bool takes_value = GlobalOptionTakesValue(arg);

    command_at += takes_value ? 2 : 1;
  }
  const std::vector<std::string> before(args.begin(),
                                        args.begin() + std::min(command_at, args.size()));
  auto global = OptionParser(globals).Parse(before);
  if (!global.ok()) {
    std::fprintf(stderr, "netprobe: %s\nTry 'netprobe --help'.\n",
                 std::string(global.status().message()).c_str());
    return kExitBadArguments;
  }
  if (global->Has("version")) {
    std::printf("netprobe %s\n", kVersion);
    return kExitOk;
  }
  if (command_at >= args.size()) {
    std::fputs(Usage().c_str(), global->Has("help") ? stdout : stderr);
    return global->Has("help") ? kExitOk : kExitBadArguments;
  }
  const Command* command = nullptr;
  for (const Command& c : kCommands) {
    if (args[command_at] == c.name) command = &c;
  }
  if (command == nullptr) {
    std::fprintf(stderr, "netprobe: unknown command '%s'\nTry 'netprobe --help'.\n",
                 args[command_at].c_str());
    return kExitBadArguments;
  }
  std::vector<OptionSpec> specs = command->options();
  const size_t own_options = specs.size();
  specs.insert(specs.end(), globals.begin(), globals.end());
  std::vector<std::string> rest(before);
  rest.insert(rest.end(), args.begin() + command_at + 1, args.end());
  const OptionParser parser(specs);
  auto parsed = parser.Parse(rest);
  if (!parsed.ok()) {
    std::fprintf(stderr, "netprobe %s: %s\nTry 'netprobe %s --help'.\n", command->name,
                 std::string(parsed.status().message()).c_str(), command->name);
    return kExitBadArguments;
  }
  if (parsed->Has("help")) {
    std::printf("Usage: netprobe %s [OPTIONS]\n%s.\n\n", command->name, command->summary);
    if (own_options > 0) {
      std::printf("Options:\n%s\n",
                  OptionParser(
                      std::vector<OptionSpec>(specs.begin(), specs.begin() + own_options))
                      .Help()
                      .c_str());
    }
    std::printf("Global options:\n%s", OptionParser(globals).Help().c_str());
    return kExitOk;
  }

  CommandContext ctx;
  auto agents = ResolveAgents(parsed->GetAll("agent"), parsed->GetAll("agents"),
                              std::getenv("NETPROBE_AGENT"), kDefaultAgent);
  if (!agents.ok()) {
    std::fprintf(stderr, "netprobe: %s\n",
                 std::string(agents.status().message()).c_str());
    return kExitBadArguments;
  }
  if (agents->size() > 1) {
    if (absl::Status st = CheckFanoutOptions(command->name, *parsed); !st.ok()) {
      std::fprintf(stderr, "netprobe: %s\n", std::string(st.message()).c_str());
      return kExitBadArguments;
    }
  }
  ctx.agent = agents->front().address;
  ctx.agent_name = agents->front().name;
  ctx.json = parsed->Has("json");
  auto timeout = parsed->GetDuration("timeout");
  if (!timeout.ok()) {
    std::fprintf(stderr, "netprobe: %s\n",
                 std::string(timeout.status().message()).c_str());
    return kExitBadArguments;
  }
  if (*timeout && **timeout <= absl::ZeroDuration()) {
    std::fprintf(stderr, "netprobe: --timeout: must be above 0\n");
    return kExitBadArguments;
  }
  ctx.timeout = *timeout;
  ctx.options = *std::move(parsed);
  auto security = ChannelSecurityFrom(ctx.options, std::getenv("NETPROBE_TOKEN"));
  if (!security.ok()) {
    std::fprintf(stderr, "netprobe: %s\n",
                 std::string(security.status().message()).c_str());
    return kExitBadArguments;
  }
  // Checked for every agent before any is called: a token must not go out in
  // plaintext to any of them.
  for (const AgentSpec& agent : *agents) {
    if (absl::Status checked = CheckChannelSecurity(*security, agent.address);
        !checked.ok()) {
      std::fprintf(stderr, "netprobe: %s\n", std::string(checked.message()).c_str());
      return kExitBadArguments;
    }
  }
  ctx.tls = security->tls();
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(64 << 20);
  if (agents->size() == 1) {
    ctx.channel = OpenAgentChannel(ctx.agent, *security, channel_args);
    return command->run(ctx);
  }
  std::vector<FanoutAgent> fleet;
  for (AgentSpec& agent : *agents) {
    auto channel = OpenAgentChannel(agent.address, *security, channel_args);
    fleet.push_back({std::move(agent), std::move(channel)});
  }
  if (command->run_many != nullptr) return command->run_many(ctx, fleet);
  return RunOnAgents(ctx, fleet, command->run, command->name, command->mesh_title);
}

}  // namespace
}  // namespace netprobe::client

// gRPC is initialised for the whole run and shut down here, on the main
// thread, once Run() has destroyed every channel: grpc_shutdown_blocking()
// joins gRPC's threads before exit() runs OpenSSL's cleanup. Left to the last
// channel's destructor, the final shutdown can be handed to a detached thread
// of gRPC's (when that destructor runs on one of its threads), which may still
// be exiting when the process does; that thread's OpenSSL error state (904
// bytes) then leaks, as LeakSanitizer once reported in CI (AuthLabTest).
// Interrupt signals are blocked first, before grpc_init() starts any thread:
// every thread inherits the mask, so only the interrupt waiter takes them.
int main(int argc, char** argv) {
  netprobe::client::BlockInterruptSignals();
  // Debian's Abseil runs Mutex deadlock detection, a graph update on every
  // lock (gRPC's included), which showed in profiles of a ping run (2-3% of
  // the client's CPU); the agent turns it off too.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc_init();
  const int exit_code = netprobe::client::Run(argc, argv);
  grpc_shutdown_blocking();
  return exit_code;
}
