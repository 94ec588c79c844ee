#ifndef NETPROBE_AGENT_NET_UNIX_LISTENER_H_
#define NETPROBE_AGENT_NET_UNIX_LISTENER_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/net/unique_fd.h"

namespace netprobe {

// A listening unix stream socket at `path` (absent, or a stale socket file,
// which is replaced) whose file has `mode` and, when given, `group` before
// it accepts its first connection: the mode comes from the umask at bind
// (set to ~mode around it), the group from fchownat() on an O_PATH,
// O_NOFOLLOW descriptor of the new file (a symlink put there is not
// followed), and listen() comes last. Non-blocking, close-on-exec.
//
// REQUIRES: the process has a single thread (the umask is the process's).
// INVALID_ARGUMENT for a mode beyond 0777 or a path too long; the errno
// otherwise, naming the path.
absl::StatusOr<UniqueFd> ListenUnix(const std::string& path, uint32_t mode,
                                    std::optional<gid_t> group, int backlog = 128);

// Who is at the other end of a connected unix socket, as the kernel recorded
// it when the peer connected (SO_PEERCRED, SO_PEERGROUPS).
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary; empty on kernels before 4.13
};
absl::StatusOr<PeerCredentials> PeerCredentialsOf(int fd);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_NET_UNIX_LISTENER_H_
