#ifndef NETPROBE_AGENT_SERVER_PRIVILEGES_H_
#define NETPROBE_AGENT_SERVER_PRIVILEGES_H_

#include <sys/capability.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/server/agent_server.h"
#include "agent/server/listen_address.h"

namespace netprobe {

// The identity the agent switches to (`--user`, `--group`).
struct RunAs {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary
};

// Resolves `user` and `group` (names, or numeric ids). `group` empty: the
// user's primary group. The supplementary groups are the user's own
// (getgrouplist) plus `socket_group` when it is not empty, so that the agent
// may hand its unix sockets to that group (chown needs the owner to be a
// member). INVALID_ARGUMENT for an unknown user or group.
absl::StatusOr<RunAs> ResolveRunAs(const std::string& user, const std::string& group,
                                   const std::string& socket_group);

// CAP_NET_RAW and CAP_NET_ADMIN, plus CAP_NET_BIND_SERVICE when `low_port`.
std::vector<cap_value_t> KeptCapabilities(bool low_port);

// Makes this process run as `run_as` with exactly `keep` (those of them it
// holds) in its permitted and effective sets, nothing inheritable or ambient,
// a bounding set of `keep` alone (when it may change it), and no_new_privs.
// As root it switches user; as anyone else `run_as` must be who it already is
// (FAILED_PRECONDITION otherwise) and it only gives up capabilities.
//
// Must run while the process has a single thread (INTERNAL otherwise): on
// Linux, capability sets, the bounding set, securebits (keep-caps) and
// no_new_privs belong to each thread. glibc's set*id() broadcast to every
// thread, but capset(2) and prctl(2) do not; libcap's psx, which would,
// only knows threads created through a pthread_create() wrapped at link
// time, and gRPC's threads (and std::thread's, inside libstdc++) are created
// inside shared libraries that the wrap cannot reach. Dropping before any
// thread exists means every thread, including those gRPC creates later,
// inherits the same credentials. Verifies the result before returning.
absl::Status DropPrivileges(const RunAs& run_as, const std::vector<cap_value_t>& keep);

// The agent's drop, called by AgentServer::Start before it creates any thread
// or listener: without options.user, does nothing. Otherwise resolves the
// user, gives the default unix socket directory (/run/netprobe, the agent's
// own) to it so that the agent can create and remove its socket there on this
// and later starts, drops privileges (keeping CAP_NET_BIND_SERVICE when a TCP
// listener or UDP echo responder has a port below 1024, since those are bound
// afterwards), then checks that every unix socket directory is writable by
// the user (FAILED_PRECONDITION naming it otherwise).
absl::Status DropAgentPrivileges(const AgentOptions& options,
                                 const std::vector<ListenAddress>& addresses);

}  // namespace netprobe

#endif  // NETPROBE_AGENT_SERVER_PRIVILEGES_H_
