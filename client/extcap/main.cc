// netprobe-extcap: Wireshark's external-capture program for netprobe agents.
// Wireshark and tshark run it from their extcap folder to list the agents'
// interfaces (--extcap-interfaces), describe one (--extcap-dlts,
// --extcap-config) and capture from it (--capture --fifo F), as Wireshark
// 4.0's doc/extcap.adoc describes.
#include <grpc/grpc.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/agent_channel.h"
#include "client/extcap/extcap_run.h"
#include "client/extcap/extcap_setup.h"

namespace netprobe::client::extcap {
namespace {

constexpr absl::Duration kListDeadline = absl::Seconds(2);

std::string Usage() {
  return absl::StrCat(
      "Usage: netprobe-extcap --extcap-interfaces\n"
      "       netprobe-extcap --extcap-interface VALUE --extcap-dlts\n"
      "       netprobe-extcap --extcap-interface VALUE --extcap-config\n"
      "       netprobe-extcap --capture --extcap-interface VALUE --fifo FILE\n"
      "                       [--extcap-capture-filter FILTER] [OPTIONS]\n"
      "Wireshark's external capture program for netprobe agents: Wireshark and\n"
      "tshark run it from their extcap folder. Agents come from\n"
      "$NETPROBE_EXTCAP_CONFIG, else $XDG_CONFIG_HOME/netprobe/extcap-agents or\n"
      "~/.config/netprobe/extcap-agents (one NAME=ADDR a line, and option lines\n"
      "such as --tls-ca FILE), and $NETPROBE_AGENT.\n\nOptions:\n",
      OptionParser(ExtcapOptionSpecs()).Help());
}

// The capture's fifo, once the command line names one: a failure releases
// its reader (ReleaseFifoReader).
std::string* capture_fifo = new std::string();

int Fail(const absl::Status& status, int code) {
  std::fprintf(stderr, "netprobe-extcap: %s\n", std::string(status.message()).c_str());
  std::fflush(stderr);
  if (!capture_fifo->empty()) ReleaseFifoReader(*capture_fifo);
  return code;
}

int Run(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  // The command line alone first: --help and --version need no config.
  auto plain = ParseInvocation(args);
  if (!plain.ok()) return Fail(plain.status(), 2);
  if (plain->mode == Mode::kCapture) *capture_fifo = plain->options.Get("fifo");
  if (plain->mode == Mode::kHelp) {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }
  if (plain->mode == Mode::kVersion) {
    std::printf("netprobe-extcap %s\n", NETPROBE_VERSION);
    return 0;
  }
  auto config =
      LoadAgents(FindConfigPath(std::getenv("NETPROBE_EXTCAP_CONFIG"),
                                std::getenv("XDG_CONFIG_HOME"), std::getenv("HOME")),
                 std::getenv("NETPROBE_AGENT"));
  if (!config.ok()) return Fail(config.status(), 2);
  // The config file's option lines, then the command line's (which win).
  std::vector<std::string> all = config->option_args;
  all.insert(all.end(), args.begin(), args.end());
  auto invocation = ParseInvocation(all);
  if (!invocation.ok()) return Fail(invocation.status(), 2);
  const ParsedOptions& options = invocation->options;
  auto security = ChannelSecurityFrom(options, std::getenv("NETPROBE_TOKEN"));

  if (invocation->mode == Mode::kInterfaces) {
    if (!security.ok()) {
      // Listed without agents: Wireshark still knows the program.
      std::fputs(ExtcapVersionLine(NETPROBE_VERSION).c_str(), stdout);
      return Fail(security.status(), 2);
    }
    return ListInterfaces(*config, *security, kListDeadline, stdout, stderr);
  }
  auto ref = ResolveInterfaceValue(options.Get("extcap-interface"), config->agents);
  if (!ref.ok()) return Fail(ref.status(), 2);
  const AgentSpec& agent = config->agents[ref->agent];
  switch (invocation->mode) {
    case Mode::kDlts:
      std::fputs(DltLine(ref->iface).c_str(), stdout);
      return 0;
    case Mode::kConfig:
      std::fputs(ConfigLines(agent.address).c_str(), stdout);
      return 0;
    case Mode::kFilterCheck:
      // Valid as far as we can tell without the agent: it compiles the
      // filter when the capture starts, and its message then shows.
      return 0;
    default:
      break;
  }
  if (!security.ok()) return Fail(security.status(), 2);
  CaptureSetup setup;
  setup.agent = agent;
  if (options.Has("agent")) {
    auto address = ParseAgentEntry(options.Get("agent"));
    if (!address.ok()) return Fail(address.status(), 2);
    setup.agent.address = address->address;
  }
  setup.iface = ref->iface;
  setup.fifo = options.Get("fifo");
  setup.security = *std::move(security);
  setup.options = options;
  return RunCapture(setup, stderr);
}

}  // namespace
}  // namespace netprobe::client::extcap

// Stop signals are blocked before grpc_init() starts any thread, so only
// the capture's signal thread takes them; gRPC is shut down on the main
// thread once every channel is gone (see client/main.cc).
int main(int argc, char** argv) {
  netprobe::client::extcap::BlockStopSignals();
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc_init();
  const int exit_code = netprobe::client::extcap::Run(argc, argv);
  grpc_shutdown_blocking();
  return exit_code;
}
