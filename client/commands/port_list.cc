#include "client/commands/port_list.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace netprobe::client {
namespace {

// Splits at the colon before the port part ("[v6]:ports" or "host:ports").
bool SplitHostPorts(absl::string_view target, absl::string_view* host,
                    absl::string_view* ports) {
  const size_t colon = target.rfind(':');
  if (colon == absl::string_view::npos) return false;
  // A bare IPv6 literal (colons, no brackets) has no port part here: the
  // agent says so.
  if (target.front() != '[' &&
      target.substr(0, colon).find(':') != absl::string_view::npos) {
    return false;
  }
  *host = target.substr(0, colon);
  *ports = target.substr(colon + 1);
  return true;
}

absl::StatusOr<uint32_t> Port(absl::string_view target, absl::string_view text) {
  uint32_t port = 0;
  if (!absl::SimpleAtoi(text, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(target, ": port '", text, "' is not a number from 1 to 65535"));
  }
  return port;
}

}  // namespace

bool HasPortList(absl::string_view target) {
  absl::string_view host, ports;
  return SplitHostPorts(target, &host, &ports) &&
         ports.find_first_of(",-") != absl::string_view::npos;
}

absl::StatusOr<std::vector<std::string>> ExpandPorts(absl::string_view target) {
  if (!HasPortList(target)) return std::vector<std::string>{std::string(target)};
  absl::string_view host, ports;
  SplitHostPorts(target, &host, &ports);
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(ports, ',')) {
    const std::vector<absl::string_view> range =
        absl::StrSplit(part, absl::MaxSplits('-', 1));
    auto low = Port(target, range[0]);
    if (!low.ok()) return low.status();
    uint32_t high = *low;
    if (range.size() == 2) {
      auto parsed = Port(target, range[1]);
      if (!parsed.ok()) return parsed.status();
      high = *parsed;
      if (high < *low) {
        return absl::InvalidArgumentError(
            absl::StrCat(target, ": range '", part, "' runs backwards (write LOW-HIGH)"));
      }
    }
    for (uint32_t port = *low; port <= high; ++port) {
      out.push_back(absl::StrCat(host, ":", port));
    }
  }
  return out;
}

}  // namespace netprobe::client
