#ifndef NETPROBE_CLIENT_FIELD_FLAGS_H_
#define NETPROBE_CLIENT_FIELD_FLAGS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace netprobe::client {

// The agent names a request's field in its errors ("interval: 10us is below
// the minimum of 1ms"); a CLI user typed a flag. Returns the flag of
// `command` that sets the field an agent message starts with ("-i/--interval"
// for ping's "interval: ..."; "targets[2]: ..." is the third HOST argument),
// or "" when the message names no field this command sets.
std::string FlagForAgentMessage(absl::string_view command, absl::string_view message);

}  // namespace netprobe::client

#endif  // NETPROBE_CLIENT_FIELD_FLAGS_H_
