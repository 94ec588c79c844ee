#ifndef NETPROBE_CLIENT_FANOUT_AGENT_LIST_H_
#define NETPROBE_CLIENT_FANOUT_AGENT_LIST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace netprobe::client {

// One agent to run a command on. `name` labels its output; it is the address
// itself unless given as NAME=ADDR.
struct AgentSpec {
  std::string name;
  std::string address;  // as gRPC takes it: unix:/PATH or HOST:PORT
  bool operator==(const AgentSpec&) const = default;
};

// One entry: "ADDR" or "NAME=ADDR" (split at the first '='). NAME is 1 to 64
// of A-Z a-z 0-9 . _ - @ : / [ ]; ADDR has no spaces, commas, quotes or
// control characters and is unix:PATH, unix-abstract:NAME, HOST:PORT or
// [IPV6]:PORT (gRPC's ipv4:, ipv6: and dns: prefixes allowed) with a port
// from 1 to 65535. INVALID_ARGUMENT says what is wrong and the forms.
absl::StatusOr<AgentSpec> ParseAgentEntry(absl::string_view entry);

// The values of --agent (and $NETPROBE_AGENT): each is one entry or a
// comma-separated list of them. Empty items ("a,,b") are errors.
absl::StatusOr<std::vector<AgentSpec>> ParseAgentList(
    const std::vector<std::string>& values);

// The text of an agents file: one entry per line; `#` starts a comment (a
// whole line or after the entry); blank lines are skipped. Errors name
// `file` and the line ("hosts.txt:3: ..."); a file without entries is an
// error.
absl::StatusOr<std::vector<AgentSpec>> ParseAgentsFile(absl::string_view text,
                                                       absl::string_view file);

// Reads `path` (at most 1 MiB) and parses it with ParseAgentsFile.
absl::StatusOr<std::vector<AgentSpec>> ReadAgentsFile(const std::string& path);

// The agents of one run: the --agent values, then each --agents file's
// entries, in that order; with neither, $NETPROBE_AGENT (`env`, may be a
// list), else `fallback`. Errors say which option (or file and line) is wrong
// and include CheckDistinctNames.
absl::StatusOr<std::vector<AgentSpec>> ResolveAgents(
    const std::vector<std::string>& agent_flags,
    const std::vector<std::string>& agent_files, const char* env,
    absl::string_view fallback);

// Labels must tell agents apart: INVALID_ARGUMENT naming the first name that
// appears twice.
absl::Status CheckDistinctNames(const std::vector<AgentSpec>& agents);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_FANOUT_AGENT_LIST_H_
