#include "client/fanout/agent_list.h"

#include <errno.h>

#include <cstdio>
#include <cstring>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace netprobe::client {
namespace {

constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxFileBytes = 1 << 20;

bool NameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("._-@:/[]").find(c) != absl::string_view::npos;
}

// Characters that cannot be in an address: they would be taken for list
// separators or break the labels and JSON the name may become.
bool BadAddressChar(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f || c == ',' || c == '"' || c == '\\' || c == '#';
}

}  // namespace

absl::StatusOr<AgentSpec> ParseAgentEntry(absl::string_view entry) {
  AgentSpec spec;
  absl::string_view address = entry;
  if (const size_t eq = entry.find('='); eq != absl::string_view::npos) {
    const absl::string_view name = entry.substr(0, eq);
    address = entry.substr(eq + 1);
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", entry, "': empty name before '=' (NAME=ADDR or ADDR)"));
    }
    if (name.size() > kMaxNameLength) {
      return absl::InvalidArgumentError(absl::StrCat("'", entry, "': name longer than ",
                                                     kMaxNameLength, " characters"));
    }
    for (char c : name) {
      if (!NameChar(c)) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", entry, "': name '", name,
                         "' may hold only letters, digits and . _ - @ : / [ ]"));
      }
    }
    spec.name = std::string(name);
  }
  if (address.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", entry, "': no address (unix:/PATH or HOST:PORT, optionally NAME=ADDR)"));
  }
  for (char c : address) {
    if (BadAddressChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", entry,
                       "': an address has no spaces, commas, quotes, '#' or control "
                       "characters (one agent per entry: ADDR or NAME=ADDR)"));
    }
  }
  if (address.find('=') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", entry, "': more than one '=' (NAME=ADDR)"));
  }
  spec.address = std::string(address);
  if (spec.name.empty()) spec.name = spec.address;
  return spec;
}

absl::StatusOr<std::vector<AgentSpec>> ParseAgentList(
    const std::vector<std::string>& values) {
  std::vector<AgentSpec> out;
  for (const std::string& value : values) {
    for (absl::string_view item : absl::StrSplit(value, ',')) {
      if (item.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", value, "': empty agent in the list"));
      }
      auto spec = ParseAgentEntry(item);
      if (!spec.ok()) return spec.status();
      out.push_back(*std::move(spec));
    }
  }
  return out;
}

absl::StatusOr<std::vector<AgentSpec>> ParseAgentsFile(absl::string_view text,
                                                       absl::string_view file) {
  std::vector<AgentSpec> out;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (const size_t space = line.find_first_of(" \t");
        space != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ":", number, ": '", line,
                       "': one agent per line (ADDR or NAME=ADDR), no spaces"));
    }
    auto spec = ParseAgentEntry(line);
    if (!spec.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ":", number, ": ", spec.status().message()));
    }
    out.push_back(*std::move(spec));
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": no agents in the file (one ADDR or NAME=ADDR per line)"));
  }
  return out;
}

absl::StatusOr<std::vector<AgentSpec>> ReadAgentsFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot read: ", std::strerror(errno)));
  }
  std::string text;
  char buffer[8192];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) {
    text.append(buffer, n);
    if (text.size() > kMaxFileBytes) {
      std::fclose(f);
      return absl::InvalidArgumentError(absl::StrCat(path, ": larger than 1 MiB"));
    }
  }
  const bool failed = std::ferror(f) != 0;
  const int error = errno;
  std::fclose(f);
  if (failed) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot read: ", std::strerror(error)));
  }
  return ParseAgentsFile(text, path);
}

absl::StatusOr<std::vector<AgentSpec>> ResolveAgents(
    const std::vector<std::string>& agent_flags,
    const std::vector<std::string>& agent_files, const char* env,
    absl::string_view fallback) {
  std::vector<AgentSpec> out;
  if (agent_flags.empty() && agent_files.empty()) {
    const bool from_env = env != nullptr && *env != '\0';
    auto list = ParseAgentList({from_env ? std::string(env) : std::string(fallback)});
    if (!list.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(from_env ? "$NETPROBE_AGENT: " : "", list.status().message()));
    }
    out = *std::move(list);
  } else {
    auto list = ParseAgentList(agent_flags);
    if (!list.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--agent ", list.status().message()));
    }
    out = *std::move(list);
    for (const std::string& file : agent_files) {
      auto more = ReadAgentsFile(file);
      if (!more.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--agents ", more.status().message()));
      }
      out.insert(out.end(), more->begin(), more->end());
    }
  }
  if (absl::Status distinct = CheckDistinctNames(out); !distinct.ok()) return distinct;
  return out;
}

absl::Status CheckDistinctNames(const std::vector<AgentSpec>& agents) {
  std::set<std::string> seen;
  for (const AgentSpec& agent : agents) {
    if (!seen.insert(agent.name).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "agent '", agent.name,
          "' is given twice (give each agent once, or distinct names with NAME=ADDR)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace netprobe::client
