#ifndef NETPROBE_AGENT_SERVER_UNIX_PEERS_H_
#define NETPROBE_AGENT_SERVER_UNIX_PEERS_H_

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

  void Set(int fd, Caller caller);
  // The caller of a call whose gRPC peer is `peer`; nullopt for other peers.
  std::optional<Caller> Find(absl::string_view peer) const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int, Caller> by_fd_ ABSL_GUARDED_BY(mu_);
};

// The Caller of a unix connection's credentials: identity
// "unix:uid=1000(alice)", peer "unix:pid=4242,gid=1000(alice)" (names
// looked up in the user and group databases, left out when unknown).
Caller UnixCallerOf(const PeerCredentials& credentials);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_UNIX_PEERS_H_
