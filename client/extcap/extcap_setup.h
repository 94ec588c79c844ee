#ifndef NETPROBE_CLIENT_EXTCAP_EXTCAP_SETUP_H_
#define NETPROBE_CLIENT_EXTCAP_EXTCAP_SETUP_H_

// What netprobe-extcap is asked to do and of which agents: Wireshark's extcap
// command line (doc/extcap.adoc of Wireshark 4.0), the agents' config file,
// and the interface names Wireshark shows ("netprobe-<agent>-<iface>").
// Pure logic, no gRPC: unit-tested.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/fanout/agent_list.h"
#include "common/option_parser.h"

namespace netprobe::client::extcap {

// The one thing Wireshark asks of an extcap program per run.
enum class Mode {
  kHelp,         // --help
  kVersion,      // --version
  kInterfaces,   // --extcap-interfaces
  kDlts,         // --extcap-interface X --extcap-dlts
  kConfig,       // --extcap-interface X --extcap-config
  kFilterCheck,  // --extcap-interface X --extcap-capture-filter F (no --capture)
  kCapture,      // --capture --extcap-interface X --fifo F [...]
};

// Every option netprobe-extcap takes: Wireshark's own (--extcap-*, --fifo,
// --capture, and those it may add: --extcap-version, --extcap-control-in/out,
// --debug, --log-level, --log-file, accepted and ignored), the capture's
// (--snaplen, --promiscuous, --own-traffic, --agent) and the channel's
// (--tls-ca, --tls-cert, --tls-key, --tls-server-name, --token-file).
std::vector<OptionSpec> ExtcapOptionSpecs();

struct Invocation {
  Mode mode = Mode::kHelp;
  ParsedOptions options;
};

// Parses argv (without argv[0]). INVALID_ARGUMENT names an unknown option, a
// missing value, or a mode without what it needs ("--capture needs --fifo").
absl::StatusOr<Invocation> ParseInvocation(const std::vector<std::string>& args);

// The agents' config file: one agent per line, as the CLI's --agents file
// ("NAME=ADDR" or "ADDR"; '#' comments), and lines of channel options for
// every agent: "--tls-ca FILE", "--tls-cert FILE", "--tls-key FILE",
// "--tls-server-name NAME", "--token-file FILE". Errors name the file and
// line. A file without agents is fine here ($NETPROBE_AGENT may name them).
struct AgentsConfig {
  std::vector<AgentSpec> agents;
  // The option lines as arguments ("--tls-ca", "FILE", ...), to be parsed
  // before the command line's (whose values win).
  std::vector<std::string> option_args;
  std::string file;  // where they came from; empty: no file
};
absl::StatusOr<AgentsConfig> ParseAgentsConfig(absl::string_view text,
                                               absl::string_view file);

// The config file's path: $NETPROBE_EXTCAP_CONFIG (`explicit_path`, must
// exist), else $XDG_CONFIG_HOME/netprobe/extcap-agents, else
// $HOME/.config/netprobe/extcap-agents (used when it exists). Null or empty
// arguments are unset.
struct ConfigPath {
  std::string path;  // empty: none can be found
  bool required = false;
};
ConfigPath FindConfigPath(const char* explicit_path, const char* xdg_config_home,
                          const char* home);

// Reads the config file (when there is one) and adds $NETPROBE_AGENT's agents
// (`env_agents`, a list as --agent takes it) after the file's. Agents'
// interface-name tokens (AgentToken) must differ.
absl::StatusOr<AgentsConfig> LoadAgents(const ConfigPath& path, const char* env_agents);

// The agent's part of an interface value: its name with every character but
// A-Z a-z 0-9 . _ - replaced by '_' ("198.18.0.10:50051" -> "198.18.0.10_50051"),
// so the value is a safe part of the fifo's file name Wireshark makes.
std::string AgentToken(absl::string_view agent_name);

// "netprobe-<AgentToken(agent)>-<iface>" and "netprobe <agent>: <iface>".
std::string InterfaceValue(absl::string_view agent_name, absl::string_view iface);
std::string InterfaceDisplay(absl::string_view agent_name, absl::string_view iface);

// Whether Wireshark's extcap sentences can carry `iface` as it is (printable
// ASCII without braces, spaces or '/'): others are not listed.
bool ListableInterfaceName(absl::string_view iface);

// Which agent (index into `agents`) and interface an interface value names:
// the longest agent token that follows "netprobe-" and is followed by "-" and
// a non-empty interface name. NOT_FOUND names the value and the agents.
struct InterfaceRef {
  size_t agent = 0;
  std::string iface;
};
absl::StatusOr<InterfaceRef> ResolveInterfaceValue(absl::string_view value,
                                                   const std::vector<AgentSpec>& agents);

// The link type Wireshark is told for an interface (--extcap-dlts): Linux
// cooked v2 (276) for "any", Ethernet (1) otherwise, as the agent's libpcap
// opens them. The pcapng stream's interface block carries the real one.
struct Dlt {
  int number;
  const char* name;
  const char* display;
};
Dlt DltFor(absl::string_view iface);

// The sentences of --extcap-interfaces, --extcap-dlts and --extcap-config.
std::string ExtcapVersionLine(absl::string_view version);
std::string InterfaceLine(absl::string_view agent_name, absl::string_view iface);
std::string DltLine(absl::string_view iface);
// `agent_address` is the configured address, the dialog's default.
std::string ConfigLines(absl::string_view agent_address);

}  // namespace netprobe::client::extcap

#endif  // NETPROBE_CLIENT_EXTCAP_EXTCAP_SETUP_H_
