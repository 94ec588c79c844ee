#ifndef NETPROBE_AGENT_UTIL_LOG_H_
#define NETPROBE_AGENT_UTIL_LOG_H_

#include "absl/strings/string_view.h"

namespace netprobe {

// Writes one line to stderr: "<RFC 3339 UTC time> <text>\n", in one write(2)
// so lines from different threads never interleave. Thread-safe.
void LogLine(absl::string_view text);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_UTIL_LOG_H_
