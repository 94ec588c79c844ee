#ifndef NETPROBE_AGENT_SERVER_UNIX_PEERS_H_
#define NETPROBE_AGENT_SERVER_UNIX_PEERS_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "agent/net/unix_listener.h"
#include "agent/policy/caller.h"

namespace netprobe {

// The callers of the unix connections the agent accepted itself and handed
// to gRPC, by descriptor: gRPC names such a connection's peer "fd:<fd>".
// An entry is written before its descriptor goes to gRPC, and a descriptor
// number is only reused after gRPC closed it, so a live call always finds
// its own connection's caller. Entries of closed descriptors stay until the
// number is reused (at most one per descriptor number). Thread-safe; one
// table per process, as descriptor numbers are.
class UnixPeers {
 public:
  static UnixPeers& Get();

  // `inode`: the connection's socket inode (fstat), which tells it apart
  // from whatever later gets its descriptor number.
  void Set(int fd, Caller caller, ino_t inode);
  // The caller of a call whose gRPC peer is `peer`; nullopt for other peers.
  std::optional<Caller> Find(absl::string_view peer) const;

  // Connections of `uid` still open: each entry of that uid whose descriptor
  // still holds its socket (gRPC closes a connection's descriptor when it
  // ends); entries whose descriptor was closed or reused are dropped.
  size_t OpenConnectionsOf(uid_t uid);

 private:
  struct Entry {
    Caller caller;
    ino_t inode = 0;
  };
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int, Entry> by_fd_ ABSL_GUARDED_BY(mu_);
};

// The Caller of a unix connection's credentials: identity
// "unix:uid=1000(alice)", peer "unix:pid=4242,gid=1000(alice)" (names
// looked up in the user and group databases, left out when unknown).
Caller UnixCallerOf(const PeerCredentials& credentials);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_UNIX_PEERS_H_
