#include "agent/server/unix_peers.h"

#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/util/user_database.h"

namespace netprobe {
namespace {

constexpr absl::string_view kFdPeerPrefix = "fd:";

}  // namespace

UnixPeers& UnixPeers::Get() {
  static UnixPeers* const kPeers = new UnixPeers();
  return *kPeers;
}

void UnixPeers::Set(int fd, Caller caller, ino_t inode) {
  absl::MutexLock lock(&mu_);
  by_fd_[fd] = Entry{std::move(caller), inode};
}

std::optional<Caller> UnixPeers::Find(absl::string_view peer) const {
  int fd = -1;
  if (!absl::ConsumePrefix(&peer, kFdPeerPrefix) || !absl::SimpleAtoi(peer, &fd)) {
    return std::nullopt;
  }
  absl::MutexLock lock(&mu_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return std::nullopt;
  return it->second.caller;
}

size_t UnixPeers::OpenConnectionsOf(uid_t uid) {
  absl::MutexLock lock(&mu_);
  size_t open = 0;
  for (auto it = by_fd_.begin(); it != by_fd_.end();) {
    const Entry& entry = it->second;
    if (!entry.caller.unix_peer.has_value() || entry.caller.unix_peer->uid != uid) {
      ++it;
      continue;
    }
    struct stat st;
    if (fstat(it->first, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == entry.inode) {
      ++open;
      ++it;
    } else {
      by_fd_.erase(it++);
    }
  }
  return open;
}

Caller UnixCallerOf(const PeerCredentials& credentials) {
  Caller caller;
  caller.identity = absl::StrCat("unix:uid=", UserText(credentials.uid));
  caller.peer =
      absl::StrCat("unix:pid=", credentials.pid, ",gid=", GroupText(credentials.gid));
  caller.unix_peer = UnixCaller{.uid = credentials.uid,
                                .gid = credentials.gid,
                                .groups = credentials.groups,
                                .pid = credentials.pid};
  return caller;
}

}  // namespace netprobe
