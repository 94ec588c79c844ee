#include "agent/net/socket_owners.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "agent/net/unique_fd.h"

namespace netprobe {
namespace {

// A directory stream that closes itself.
struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};
using Dir = std::unique_ptr<DIR, DirCloser>;

std::string ReadComm(int pid_dir) {
  UniqueFd fd(openat(pid_dir, "comm", O_RDONLY | O_CLOEXEC));
  if (!fd) return "";
  char buffer[64];
  ssize_t n;
  do {
    n = read(fd.get(), buffer, sizeof(buffer));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return "";
  return std::string(absl::StripTrailingAsciiWhitespace(absl::string_view(buffer, n)));
}

}  // namespace

SocketOwners ReadSocketOwners(const std::string& proc) {
  SocketOwners owners;
  Dir procs(opendir(proc.c_str()));
  if (!procs) return owners;
  const int proc_fd = dirfd(procs.get());
  while (const dirent* entry = readdir(procs.get())) {
    uint32_t pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    UniqueFd pid_dir(openat(proc_fd, entry->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!pid_dir) continue;
    const int fds_fd = openat(pid_dir.get(), "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fds_fd < 0) continue;
    Dir fds(fdopendir(fds_fd));
    if (!fds) {
      close(fds_fd);
      continue;
    }
    std::string name;
    bool named = false;
    while (const dirent* fd_entry = readdir(fds.get())) {
      int fd = -1;
      if (!absl::SimpleAtoi(fd_entry->d_name, &fd)) continue;
      char link[64];
      const ssize_t n = readlinkat(fds_fd, fd_entry->d_name, link, sizeof(link) - 1);
      if (n <= 0) continue;
      absl::string_view target(link, n);
      if (!absl::ConsumePrefix(&target, "socket:[") ||
          !absl::ConsumeSuffix(&target, "]")) {
        continue;
      }
      uint64_t inode = 0;
      if (!absl::SimpleAtoi(target, &inode)) continue;
      if (!named) {
        name = ReadComm(pid_dir.get());
        named = true;
      }
      owners[inode].push_back(SocketOwner{pid, name, fd});
    }
  }
  return owners;
}

}  // namespace netprobe
