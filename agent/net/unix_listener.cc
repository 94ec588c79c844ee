#include "agent/net/unix_listener.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/posix_error.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59  // Linux 4.13
#endif

namespace netprobe {

absl::StatusOr<UniqueFd> ListenUnix(const std::string& path, uint32_t mode,
                                    std::optional<gid_t> group, int backlog) {
  if (mode > 0777) {
    return absl::InvalidArgumentError(
        absl::StrFormat("unix socket %s: mode %04o is beyond 0777", path, mode));
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unix socket ", path, ": the path must have 1 to ",
                     sizeof(address.sun_path) - 1, " bytes"));
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return PosixError("socket(AF_UNIX)", errno);
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
      unlink(path.c_str()) != 0) {
    return PosixError(absl::StrCat("unix socket ", path, ": removing the stale one"),
                      errno);
  }
  const mode_t old_umask = umask(~static_cast<mode_t>(mode) & 0777);
  const int bound =
      bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  const int bind_errno = errno;
  umask(old_umask);
  if (bound != 0) return PosixError(absl::StrCat("bind unix:", path), bind_errno);
  auto fail = [&path](const std::string& what, int error) {
    unlink(path.c_str());
    return PosixError(absl::StrCat(what, " unix socket ", path), error);
  };
  UniqueFd file(open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!file) return fail("open", errno);
  if (fstat(file.get(), &st) != 0) return fail("fstat", errno);
  if (!S_ISSOCK(st.st_mode)) return fail("(replaced while binding)", EEXIST);
  // A default ACL on the directory would win over the umask.
  if ((st.st_mode & 0777) != mode) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "unix socket %s: bound with mode %04o, not %04o (a default ACL on its "
        "directory?); refusing to listen",
        path, st.st_mode & 0777, mode));
  }
  if (group.has_value() &&
      fchownat(file.get(), "", static_cast<uid_t>(-1), *group, AT_EMPTY_PATH) != 0) {
    return fail(absl::StrCat("chown to group ", *group, ":"), errno);
  }
  if (listen(fd.get(), backlog) != 0) return fail("listen", errno);
  return fd;
}

absl::StatusOr<PeerCredentials> PeerCredentialsOf(int fd) {
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return PosixError("getsockopt(SO_PEERCRED)", errno);
  }
  PeerCredentials out;
  out.pid = cred.pid;
  out.uid = cred.uid;
  out.gid = cred.gid;
  std::vector<gid_t> groups(16);
  for (int attempt = 0; attempt < 2; ++attempt) {
    socklen_t bytes = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &bytes) == 0) {
      groups.resize(bytes / sizeof(gid_t));
      out.groups = std::move(groups);
      return out;
    }
    if (errno == ENOPROTOOPT) return out;  // before 4.13: the primary group only
    if (errno != ERANGE) return PosixError("getsockopt(SO_PEERGROUPS)", errno);
    groups.resize(bytes / sizeof(gid_t) + 1);  // ERANGE: bytes says how many
  }
  return absl::InternalError("getsockopt(SO_PEERGROUPS): the groups kept growing");
}

}  // namespace netprobe
