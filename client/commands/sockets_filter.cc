#include "client/commands/sockets_filter.h"

#include <cstdint>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/posix_error.h"

namespace netprobe::client {
namespace {

constexpr char kSupported[] =
    "supported: state NAME, sport|dport [=] :PORT, src|dst ADDRESS[/LEN][:PORT], "
    "joined by 'and'";

absl::Status Unsupported(absl::string_view word) {
  return absl::InvalidArgumentError(
      absl::StrCat("filter: '", word, "' is not supported (", kSupported, ")"));
}

// ":443" or "443": 1..65535.
absl::StatusOr<uint32_t> ParsePort(absl::string_view key, absl::string_view text) {
  absl::string_view digits = text;
  absl::ConsumePrefix(&digits, ":");
  uint32_t port = 0;
  if (digits.empty() || digits.size() > 5 ||
      !absl::c_all_of(digits, absl::ascii_isdigit) || !absl::SimpleAtoi(digits, &port) ||
      port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": '", text, "' is not a port 1..65535 (as :443)"));
  }
  return port;
}

struct HostCondition {
  std::string address;  // "" for any ("*")
  uint32_t port = 0;    // 0 for any
};

// "198.18.0.2", "198.18.0.0/15", "198.18.0.2:443", "*:443", "2001:2::/64",
// "[::1]", "[::1]:443", "[2001:2::]/64".
absl::StatusOr<HostCondition> ParseHost(absl::string_view key, absl::string_view text) {
  HostCondition out;
  absl::string_view address = text, port;
  if (absl::StartsWith(text, "[")) {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": '", text, "' has no ']' (as [2001:2::1]:443)"));
    }
    address = text.substr(1, close - 1);
    absl::string_view rest = text.substr(close + 1);
    if (absl::StartsWith(rest, "/")) {
      out.address = absl::StrCat(address, rest);
      return out;
    }
    if (!rest.empty() && !absl::ConsumePrefix(&rest, ":")) {
      return absl::InvalidArgumentError(absl::StrCat(
          key, ": '", text, "': after ']' comes ':PORT' or '/LEN' (as [2001:2::1]:443)"));
    }
    port = rest;
  } else if (absl::c_count(text, ':') == 1) {
    // One colon: an IPv4 address (or "*") and a port. More: an IPv6 address.
    const size_t colon = text.find(':');
    address = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": '", text, "' ends with ':' (as 198.18.0.2:443)"));
    }
  }
  if (address.empty() && port.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": an address is missing"));
  }
  if (address != "*") out.address = std::string(address);
  if (!port.empty() && port != "*") {
    auto number = ParsePort(key, port);
    if (!number.ok()) return number.status();
    out.port = *number;
  }
  return out;
}

// A side's port or address set twice is an error: ss would "and" them, which
// for one value matches nothing, and keeping one would hide the other.
absl::Status SetPort(bool local, uint32_t port, v1::SocketsRequest* request) {
  if ((local ? request->local_port() : request->remote_port()) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter: the ", local ? "local" : "peer", " port is given twice (",
                     local ? "sport, src ...:PORT" : "dport, dst ...:PORT", ")"));
  }
  local ? request->set_local_port(port) : request->set_remote_port(port);
  return absl::OkStatus();
}

absl::Status SetAddress(bool local, const std::string& address,
                        v1::SocketsRequest* request) {
  if (!(local ? request->local() : request->remote()).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "filter: the ", local ? "local" : "peer", " address is given twice (",
        local ? "src, --src" : "dst, --dst", ")"));
  }
  local ? request->set_local(address) : request->set_remote(address);
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplySsFilter(const std::vector<std::string>& words,
                           v1::SocketsRequest* request) {
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string word = absl::AsciiStrToLower(words[i]);
    if (word == "and" || word == "&&" || word == "&") {
      if (i == 0 || i + 1 == words.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("filter: '", words[i], "' needs a condition on each side (",
                         kSupported, ")"));
      }
      continue;
    }
    const bool is_state = word == "state";
    const bool is_port = word == "sport" || word == "dport";
    const bool is_host = word == "src" || word == "dst";
    if (!is_state && !is_port && !is_host) return Unsupported(words[i]);
    if (i + 1 == words.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter: '", words[i], "' needs a value (", kSupported, ")"));
    }
    std::string value = words[++i];
    if (is_port || is_host) {
      const std::string op = absl::AsciiStrToLower(value);
      if (op == "=" || op == "==" || op == "eq") {
        if (i + 1 == words.size()) {
          return absl::InvalidArgumentError(absl::StrCat("filter: '", words[i - 1], " ",
                                                         value, "' needs a value (",
                                                         kSupported, ")"));
        }
        value = words[++i];
      } else if (is_port && !op.empty() && !absl::ascii_isdigit(op[0]) && op[0] != ':') {
        // ss's other comparisons: !=, <, >, le, ge, lt, gt, neq.
        return Unsupported(value);
      }
    }
    if (is_state) {
      request->add_states(value);
    } else if (is_port) {
      auto port = ParsePort(word, value);
      if (!port.ok()) return port.status();
      NETPROBE_RETURN_IF_ERROR(SetPort(word == "sport", *port, request));
    } else {
      auto host = ParseHost(word, value);
      if (!host.ok()) return host.status();
      const bool local = word == "src";
      if (!host->address.empty()) {
        NETPROBE_RETURN_IF_ERROR(SetAddress(local, host->address, request));
      }
      if (host->port != 0) NETPROBE_RETURN_IF_ERROR(SetPort(local, host->port, request));
    }
  }
  return absl::OkStatus();
}

}  // namespace netprobe::client
