#include "agent/server/unix_peers.h"

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

void UnixPeers::Set(int fd, Caller caller) {
  absl::MutexLock lock(&mu_);
  by_fd_[fd] = std::move(caller);
}

std::optional<Caller> UnixPeers::Find(absl::string_view peer) const {
  int fd = -1;
  if (!absl::ConsumePrefix(&peer, kFdPeerPrefix) || !absl::SimpleAtoi(peer, &fd)) {
    return std::nullopt;
  }
  absl::MutexLock lock(&mu_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return std::nullopt;
  return it->second;
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
