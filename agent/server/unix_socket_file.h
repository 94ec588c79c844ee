#ifndef NETPROBE_AGENT_SERVER_UNIX_SOCKET_FILE_H_
#define NETPROBE_AGENT_SERVER_UNIX_SOCKET_FILE_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/status.h"

namespace netprobe {

// OK when the agent may bind a unix socket at `path`: nothing is there, or a
// socket file nobody listens on (left by an agent that was killed).
// FAILED_PRECONDITION when another process listens there (binding would
// silently take its socket away) or the path is not a socket.
absl::Status CheckUnixSocketFree(const std::string& path);

// Which file a path names, so the agent removes at exit only the socket file
// it bound, not one a later agent bound at the same path.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const FileIdentity&) const = default;
};
std::optional<FileIdentity> IdentityOf(const std::string& path);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_UNIX_SOCKET_FILE_H_
