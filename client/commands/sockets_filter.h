#ifndef NETPROBE_CLIENT_COMMANDS_SOCKETS_FILTER_H_
#define NETPROBE_CLIENT_COMMANDS_SOCKETS_FILTER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "netprobe/v1/sockets.pb.h"

namespace netprobe::client {

// ss's filter expression, its common forms, as words on the command line:
//   state NAME                      a state or group, as --state takes it; a
//                                   second `state` adds one (ss's union)
//   sport [=|==|eq] [:]PORT         the local port
//   dport [=|==|eq] [:]PORT         the peer's port
//   src [=] ADDRESS[/LEN]           the local address or prefix, and with a
//   src [=] ADDRESS:PORT, [V6]:PORT port the local port too ("*:22": port only)
//   dst ...                         the same for the peer
// joined by `and` (or `&&`, `&`), or by nothing. Sets `request`'s states,
// local/remote and local_port/remote_port (the agent checks addresses).
// INVALID_ARGUMENT naming the word: for what ss has and this does not (or,
// not, exclude, parentheses, other operators), with what is supported; for a
// bad port, with its range; for a side given twice (also by --src, --dst).
absl::Status ApplySsFilter(const std::vector<std::string>& words,
                           v1::SocketsRequest* request);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_COMMANDS_SOCKETS_FILTER_H_
