#ifndef NETPROBE_AGENT_NET_SMALL_FILE_H_
#define NETPROBE_AGENT_NET_SMALL_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace netprobe {

// Reads a small file (at most `max_bytes`; /proc files among them, whose
// size stat does not tell) whole: O_CLOEXEC, EINTR retried. A missing file
// is NOT_FOUND; a longer one OUT_OF_RANGE.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path,
                                          size_t max_bytes = 64 * 1024);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_SMALL_FILE_H_
