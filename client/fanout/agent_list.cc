#include "client/fanout/agent_list.h"

#include <errno.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

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

constexpr char kAddressForms[] =
    "HOST:PORT, [IPV6]:PORT, unix:PATH or unix-abstract:NAME";

// The address is one gRPC reaches as meant: a unix socket with a path, or a
// host with a port from 1 to 65535 (gRPC takes "localhost:99999" as port
// 34463, "127.0.0.1" as port 0, and "/run/x.sock" as a DNS name).
absl::Status CheckAddressForm(absl::string_view entry, absl::string_view address) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", entry, "': ", why, " (forms: ", kAddressForms, ")"));
  };
  absl::string_view rest = address;
  for (absl::string_view unix_scheme : {"unix:", "unix-abstract:"}) {
    if (absl::ConsumePrefix(&rest, unix_scheme)) {
      if (rest.empty()) return bad(absl::StrCat(unix_scheme, " needs a socket name"));
      return absl::OkStatus();
    }
  }
  if (absl::StartsWith(address, "/") || absl::StartsWith(address, ".")) {
    return bad(absl::StrCat("a socket path needs 'unix:' before it: unix:", address));
  }
  for (absl::string_view scheme : {"ipv4:", "ipv6:", "dns:"}) {
    if (absl::ConsumePrefix(&rest, scheme)) break;
  }
  if (absl::ConsumePrefix(&rest, "//")) {  // dns://[authority]/HOST:PORT
    const size_t slash = rest.find('/');
    rest =
        slash == absl::string_view::npos ? absl::string_view() : rest.substr(slash + 1);
  }
  absl::string_view host, port;
  if (absl::StartsWith(rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) return bad("'[' without ']'");
    host = rest.substr(1, close - 1);
    if (rest.size() == close + 1) return bad("no port after the address: [IPV6]:PORT");
    if (rest[close + 1] != ':') return bad("':PORT' must follow ']'");
    port = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos) {
      return bad(absl::StrCat("no port: give HOST:PORT, e.g. ", rest, ":7431"));
    }
    if (rest.find(':') != colon)
      return bad("an IPv6 address goes in brackets: [IPV6]:PORT");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return bad("no host before ':PORT'");
  uint32_t number = 0;
  const bool digits = !port.empty() && port.size() <= 5 &&
                      std::all_of(port.begin(), port.end(), [](char c) {
                        return absl::ascii_isdigit(static_cast<unsigned char>(c));
                      });
  if (digits) (void)absl::SimpleAtoi(port, &number);
  if (!digits || number < 1 || number > 65535) {
    return bad(absl::StrCat("port '", port, "' is not from 1 to 65535"));
  }
  return absl::OkStatus();
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
  if (absl::Status form = CheckAddressForm(entry, address); !form.ok()) return form;
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
