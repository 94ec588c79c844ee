#ifndef NETPROBE_CLIENT_COMMANDS_PORT_LIST_H_
#define NETPROBE_CLIENT_COMMANDS_PORT_LIST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace netprobe::client {

// `HOST:PORTS` with PORTS a list of ports and ranges, as nc and nmap take
// them: "web:80-85,443" is web:80 ... web:85 and web:443 (IPv6 in brackets,
// "[2001:db8::1]:22,80"). A single port comes back as given; the agent
// checks hosts and single ports. INVALID_ARGUMENT names the argument and
// the bad part (a port out of 1..65535, a range that runs backwards).
absl::StatusOr<std::vector<std::string>> ExpandPorts(absl::string_view target);

// True when `target`'s port part is a list or a range.
bool HasPortList(absl::string_view target);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_PORT_LIST_H_
