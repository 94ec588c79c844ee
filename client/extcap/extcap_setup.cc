#include "client/extcap/extcap_setup.h"

#include <sys/stat.h>

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/agent_channel.h"
#include "common/tls_files.h"

namespace netprobe::client::extcap {
namespace {

constexpr char kPrefix[] = "netprobe-";

// The channel options a config file line may set for every agent.
bool ConfigFileOption(absl::string_view name) {
  for (absl::string_view known :
       {"tls-ca", "tls-cert", "tls-key", "tls-server-name", "token-file"}) {
    if (name == known) return true;
  }
  return false;
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::vector<OptionSpec> ExtcapOptionSpecs() {
  std::vector<OptionSpec> specs = {
      {0, "help", "", "this help"},
      {0, "version", "", "print the version"},
      {0, "extcap-interfaces", "", "list the configured agents' interfaces"},
      {0, "extcap-version", "VERSION", "Wireshark's version (ignored)"},
      {0, "extcap-interface", "VALUE", "the interface (netprobe-<agent>-<iface>)"},
      {0, "extcap-dlts", "", "list the interface's link types"},
      {0, "extcap-config", "", "list the interface's options"},
      {0, "extcap-capture-filter", "FILTER", "the capture filter (tcpdump syntax)"},
      {0, "capture", "", "capture into --fifo"},
      {0, "fifo", "FILE", "where the pcapng stream goes"},
      {0, "extcap-control-in", "FILE", "(ignored: no toolbar)"},
      {0, "extcap-control-out", "FILE", "(ignored: no toolbar)"},
      {0, "debug", "", "(ignored)"},
      {0, "debug-file", "FILE", "(ignored)"},
      {0, "log-level", "LEVEL", "(ignored)"},
      {0, "log-file", "FILE", "(ignored)"},
      {0, "snaplen", "BYTES", "bytes kept per packet, 1..262144 (default 262144)"},
      {0, "promiscuous", "", "put the interface in promiscuous mode"},
      {0, "own-traffic", "", "include the agent's own gRPC traffic"},
      {0, "agent", "ADDR", "the agent's address instead of the config file's"},
  };
  for (OptionSpec& spec : ChannelOptionSpecs()) specs.push_back(std::move(spec));
  return specs;
}

absl::StatusOr<Invocation> ParseInvocation(const std::vector<std::string>& args) {
  auto parsed = OptionParser(ExtcapOptionSpecs()).Parse(args);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->positional().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", parsed->positional().front(), "'"));
  }
  Invocation out;
  out.options = *std::move(parsed);
  const ParsedOptions& o = out.options;
  const auto needs_interface = [&](const char* what) -> absl::Status {
    if (o.Get("extcap-interface").empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " needs --extcap-interface VALUE"));
    }
    return absl::OkStatus();
  };
  if (o.Has("help")) {
    out.mode = Mode::kHelp;
  } else if (o.Has("version")) {
    out.mode = Mode::kVersion;
  } else if (o.Has("extcap-interfaces")) {
    out.mode = Mode::kInterfaces;
  } else if (o.Has("capture")) {
    out.mode = Mode::kCapture;
    if (absl::Status st = needs_interface("--capture"); !st.ok()) return st;
    if (o.Get("fifo").empty()) {
      return absl::InvalidArgumentError("--capture needs --fifo FILE");
    }
  } else if (o.Has("extcap-dlts")) {
    out.mode = Mode::kDlts;
    if (absl::Status st = needs_interface("--extcap-dlts"); !st.ok()) return st;
  } else if (o.Has("extcap-config")) {
    out.mode = Mode::kConfig;
    if (absl::Status st = needs_interface("--extcap-config"); !st.ok()) return st;
  } else if (o.Has("extcap-capture-filter") && o.Has("extcap-interface")) {
    out.mode = Mode::kFilterCheck;
  } else {
    return absl::InvalidArgumentError(
        "nothing to do: give --extcap-interfaces, --extcap-dlts, --extcap-config or "
        "--capture (Wireshark runs this program; see --help)");
  }
  return out;
}

absl::StatusOr<AgentsConfig> ParseAgentsConfig(absl::string_view text,
                                               absl::string_view file) {
  AgentsConfig out;
  out.file = std::string(file);
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(file, ":", line_number, ": ", why));
    };
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (absl::ConsumePrefix(&line, "--")) {
      const size_t space = line.find_first_of(" \t=");
      if (space == absl::string_view::npos) {
        return bad(absl::StrCat("--", line, " needs a value"));
      }
      const absl::string_view name = line.substr(0, space);
      const absl::string_view value = absl::StripAsciiWhitespace(line.substr(space + 1));
      if (!ConfigFileOption(name)) {
        return bad(absl::StrCat(
            "unknown option --", name,
            " (a config file sets --tls-ca, --tls-cert, --tls-key, --tls-server-name, "
            "--token-file)"));
      }
      if (value.empty()) return bad(absl::StrCat("--", name, " needs a value"));
      out.option_args.push_back(absl::StrCat("--", name));
      out.option_args.push_back(std::string(value));
      continue;
    }
    auto agent = ParseAgentEntry(line);
    if (!agent.ok()) return bad(agent.status().message());
    out.agents.push_back(*std::move(agent));
  }
  return out;
}

ConfigPath FindConfigPath(const char* explicit_path, const char* xdg_config_home,
                          const char* home) {
  const auto set = [](const char* s) { return s != nullptr && *s != '\0'; };
  if (set(explicit_path)) return {explicit_path, true};
  std::string path;
  if (set(xdg_config_home)) {
    path = absl::StrCat(xdg_config_home, "/netprobe/extcap-agents");
  } else if (set(home)) {
    path = absl::StrCat(home, "/.config/netprobe/extcap-agents");
  }
  if (path.empty() || !FileExists(path)) return {};
  return {path, false};
}

absl::StatusOr<AgentsConfig> LoadAgents(const ConfigPath& path, const char* env_agents) {
  AgentsConfig config;
  if (!path.path.empty()) {
    auto text = ReadSmallFile(path.path, "config file", /*secret=*/false);
    if (!text.ok()) return text.status();
    auto parsed = ParseAgentsConfig(*text, path.path);
    if (!parsed.ok()) return parsed.status();
    config = *std::move(parsed);
  }
  if (env_agents != nullptr && *env_agents != '\0') {
    auto listed = ParseAgentList({env_agents});
    if (!listed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("$NETPROBE_AGENT: ", listed.status().message()));
    }
    for (AgentSpec& agent : *listed) config.agents.push_back(std::move(agent));
  }
  std::set<std::string> tokens;
  for (const AgentSpec& agent : config.agents) {
    if (!tokens.insert(AgentToken(agent.name)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("two agents are both named '", AgentToken(agent.name),
                       "' in interface names (the second is ", agent.name,
                       "): give them distinct names, NAME=ADDR"));
    }
  }
  return config;
}

std::string AgentToken(absl::string_view agent_name) {
  std::string token(agent_name);
  for (char& c : token) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' &&
        c != '-') {
      c = '_';
    }
  }
  return token;
}

std::string InterfaceValue(absl::string_view agent_name, absl::string_view iface) {
  return absl::StrCat(kPrefix, AgentToken(agent_name), "-", iface);
}

std::string InterfaceDisplay(absl::string_view agent_name, absl::string_view iface) {
  return absl::StrCat("netprobe ", agent_name, ": ", iface);
}

bool ListableInterfaceName(absl::string_view iface) {
  if (iface.empty()) return false;
  for (char c : iface) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '{' || c == '}' || c == '/') return false;
  }
  return true;
}

absl::StatusOr<InterfaceRef> ResolveInterfaceValue(absl::string_view value,
                                                   const std::vector<AgentSpec>& agents) {
  absl::string_view rest = value;
  std::optional<InterfaceRef> best;
  size_t best_length = 0;
  if (absl::ConsumePrefix(&rest, kPrefix)) {
    for (size_t i = 0; i < agents.size(); ++i) {
      const std::string token = AgentToken(agents[i].name);
      absl::string_view iface = rest;
      if (!absl::ConsumePrefix(&iface, token) || !absl::ConsumePrefix(&iface, "-") ||
          iface.empty() || token.size() < best_length) {
        continue;
      }
      best = InterfaceRef{i, std::string(iface)};
      best_length = token.size();
    }
  }
  if (best) return *best;
  std::vector<std::string> names;
  for (const AgentSpec& agent : agents) names.push_back(AgentToken(agent.name));
  return absl::NotFoundError(absl::StrCat(
      "unknown interface '", value,
      "': not netprobe-<agent>-<interface> of a configured agent (",
      names.empty() ? "none is configured: see $NETPROBE_EXTCAP_CONFIG or $NETPROBE_AGENT"
                    : absl::StrCat("agents: ", absl::StrJoin(names, ", ")),
      ")"));
}

Dlt DltFor(absl::string_view iface) {
  if (iface == "any") return {276, "LINUX_SLL2", "Linux cooked v2"};
  return {1, "EN10MB", "Ethernet"};
}

std::string ExtcapVersionLine(absl::string_view version) {
  return absl::StrCat("extcap {version=", version,
                      "}{help=https://github.com/netprobe/netprobe#wireshark}\n");
}

std::string InterfaceLine(absl::string_view agent_name, absl::string_view iface) {
  return absl::StrCat("interface {value=", InterfaceValue(agent_name, iface),
                      "}{display=", InterfaceDisplay(agent_name, iface), "}\n");
}

std::string DltLine(absl::string_view iface) {
  const Dlt dlt = DltFor(iface);
  return absl::StrCat("dlt {number=", dlt.number, "}{name=", dlt.name,
                      "}{display=", dlt.display, "}\n");
}

std::string ConfigLines(absl::string_view agent_address) {
  // Wireshark draws its dialog from these (one tab per group) and passes the
  // values back as the options' command line.
  std::string out;
  int n = 0;
  const auto arg = [&](absl::string_view rest) {
    absl::StrAppend(&out, "arg {number=", n++, "}", rest, "\n");
  };
  arg("{call=--snaplen}{display=Snapshot length}{type=unsigned}{range=1,262144}"
      "{default=262144}{tooltip=Bytes kept of each packet}{group=Capture}");
  arg("{call=--promiscuous}{display=Promiscuous mode}{type=boolflag}{default=false}"
      "{tooltip=Put the agent's interface in promiscuous mode (the agent's policy "
      "must allow it)}{group=Capture}");
  arg("{call=--own-traffic}{display=Include the agent's own gRPC traffic}"
      "{type=boolflag}{default=false}{tooltip=By default the capture leaves out the "
      "agent's own listeners, so it never captures itself}{group=Capture}");
  arg(absl::StrCat(
      "{call=--agent}{display=Agent address}{type=string}",
      agent_address.empty() ? "" : absl::StrCat("{default=", agent_address, "}"),
      "{tooltip=unix:PATH or HOST:PORT (default: the config file's "
      "address)}{group=Agent}"));
  arg("{call=--tls-ca}{display=TLS CA file}{type=fileselect}{mustexist=true}"
      "{tooltip=Use TLS, verifying the agent's certificate against this PEM bundle}"
      "{group=Agent}");
  arg("{call=--tls-cert}{display=TLS client certificate}{type=fileselect}"
      "{mustexist=true}{tooltip=PEM certificate for mutual TLS (with the key)}"
      "{group=Agent}");
  arg("{call=--tls-key}{display=TLS client key}{type=fileselect}{mustexist=true}"
      "{tooltip=The client certificate's PEM private key, unencrypted}{group=Agent}");
  arg("{call=--tls-server-name}{display=TLS server name}{type=string}"
      "{tooltip=The name expected in the agent's certificate}{group=Agent}");
  arg("{call=--token-file}{display=Token file}{type=fileselect}{mustexist=true}"
      "{tooltip=Send the bearer token in this file}{group=Agent}");
  return out;
}

}  // namespace netprobe::client::extcap
